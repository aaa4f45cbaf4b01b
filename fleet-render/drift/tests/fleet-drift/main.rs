//! Integration tests of fleet-drift.

mod diff;
mod readiness;
