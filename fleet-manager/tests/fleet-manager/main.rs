//! Integration tests of the fleet-manager binary.

mod apply;
