//! Shared workload generators for the fleet-rs criterion benchmarks and scale binaries.

pub mod drift;

// The README's Rust examples compile and run as doc tests of this crate, which depends on every
// library they use.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeExamples;

// So does the embedding guide.
#[cfg(doctest)]
#[doc = include_str!("../../docs/guide.md")]
struct EmbeddingGuide;

pub mod targeting;
