//! Integration tests of fleet-render.

mod diff;
mod readiness;
