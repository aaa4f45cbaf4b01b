//! The fleet-rs manager command line: `fleet-manager apply`, `target` and `rollout`. See the
//! [`fleet_manager`] library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = fleet_manager::Cli::parse();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    fleet_manager::run(cli, &mut stdout.lock(), &mut stderr.lock())
}
