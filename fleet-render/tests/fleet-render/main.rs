//! Integration tests of fleet-render.

mod envsubst;
mod values;
mod smp;
