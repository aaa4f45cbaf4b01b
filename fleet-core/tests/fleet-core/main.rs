//! Integration tests for fleet-core.

mod names;
mod selector;
mod yaml;
