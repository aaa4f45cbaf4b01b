//! The fleet-rs manager.
//!
//! Offline commands: `fleet-manager apply` turns a repository into Fleet Bundles (printed as
//! YAML, like `fleet apply -o -`).

use clap::Parser;

mod cmd;

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
            std::process::ExitCode::FAILURE
        }
    }
}
