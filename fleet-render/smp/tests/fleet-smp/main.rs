//! Integration tests of fleet-smp.

mod merge;
