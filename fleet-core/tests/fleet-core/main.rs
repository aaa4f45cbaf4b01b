//! Integration tests for fleet-core.

mod crds;
mod yaml;
