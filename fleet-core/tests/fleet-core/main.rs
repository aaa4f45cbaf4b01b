//! Integration tests for fleet-core.

mod manifest;
mod merge;
mod names;
mod rollout;
mod selector;
mod state;
mod yaml;
