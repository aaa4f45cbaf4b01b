//! Integration tests of the fleet-agent command line.

mod diff_cmd;
mod test_cmd;
