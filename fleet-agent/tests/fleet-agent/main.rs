//! Integration tests of the fleet-agent command line.

mod deploy_plan;
mod diff_cmd;
mod test_cmd;
mod values_once;
