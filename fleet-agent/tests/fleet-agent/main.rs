//! Integration tests of the fleet-agent command line.

mod test_cmd;
