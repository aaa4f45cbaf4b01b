//! The fleet-rs manager command line: `fleet-manager apply`, `target` and `rollout`. See the
//! [`fleet_manager`] library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = fleet_manager::Cli::parse();
    // The streams are not locked for the whole run: `serve` and `run` log to stderr from other
    // threads, which would wait forever on a lock held here.
    fleet_manager::run(cli, &mut std::io::stdout(), &mut std::io::stderr())
}
