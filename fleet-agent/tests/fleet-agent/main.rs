//! Integration tests of the fleet-agent command line.

mod cli_deploy;
mod cluster;
mod deploy_plan;
mod diff_cmd;
mod helm_remote;
mod hooks;
mod pipeline;
mod proxy;
mod real_cluster;
mod run_cmd;
mod template_cmd;
mod test_cmd;
mod upstream_tls;
