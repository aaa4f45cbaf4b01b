//! Integration tests for fleet-core.

mod names;
mod rollout;
mod selector;
mod state;
mod yaml;
