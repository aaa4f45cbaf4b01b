//! Readiness tests.
