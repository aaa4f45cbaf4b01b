//! The fleet-rs agent.
//!
//! Offline subcommands: `fleet-agent diff` compares desired objects with live objects the way
//! the agent monitors a BundleDeployment. Pulling BundleDeployments, applying and reporting
//! status are not implemented yet.

mod cmd;

use clap::Parser;

/// The fleet-rs agent.
#[derive(Debug, Parser)]
#[command(name = "fleet-agent", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Subcommands.
#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Compare desired objects with live objects: missing, extra and modified objects, and
    /// optionally the readiness summary. Exit status 0 in sync, 1 drift, 2 error.
    Diff(cmd::diff::Args),
}

fn main() -> std::process::ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return std::process::ExitCode::from(if err.use_stderr() { 2 } else { 0 });
        }
    };
    match cli.command {
        Command::Diff(args) => cmd::diff::run(&args),
    }
}
