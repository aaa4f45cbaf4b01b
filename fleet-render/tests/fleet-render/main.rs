//! Integration tests of fleet-render.

mod postrender;
mod raw_yaml;
mod render;
