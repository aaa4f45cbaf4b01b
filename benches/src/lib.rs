//! Shared workload generators for the fleet-rs criterion benchmarks and scale binaries.

pub mod drift;
pub mod targeting;
