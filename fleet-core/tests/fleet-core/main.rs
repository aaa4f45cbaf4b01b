//! Integration tests for fleet-core.

mod yaml;
