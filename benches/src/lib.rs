//! Shared workload generators for the fleet-rs criterion benchmarks and scale binaries.
//!
//! The benchmarks land with the capabilities they measure.

pub mod drift;
