//! Integration tests of the fleet-agent binary.

mod diff_cmd;
