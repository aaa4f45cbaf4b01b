//! Drift diff tests.
