//! The fleet-rs manager.
//!
//! Offline commands: `fleet-manager apply` turns a repository into Fleet Bundles (printed as
//! YAML, like `fleet apply -o -`), `fleet-manager target` prints the BundleDeployments Fleet would create
//! for bundles (or explains one cluster), `fleet-manager rollout --plan` runs one reconcile's
//! rollout step. `fleet-manager serve` runs the manager's API server over a store, and
//! `fleet-manager ctl` administers a running one. Errors (bad input) print a message naming the file and the reason and exit
//! with status 2.

use clap::Parser;

mod cmd;
mod manager;

/// The fleet-rs manager.
#[derive(Debug, Parser)]
#[command(name = "fleet-manager", version, about)]
struct Cli {
    #[command(subcommand)]
    command: cmd::Command,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cmd::run(cli.command) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("fleet-manager: {err:#}");
            std::process::ExitCode::from(2)
        }
    }
}
