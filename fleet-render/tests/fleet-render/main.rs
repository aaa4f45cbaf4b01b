//! Integration tests of fleet-render.

mod smp;
