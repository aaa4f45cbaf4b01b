//! Subcommands of `fleet-agent`; each module holds one subcommand's arguments and logic.

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod diff;
pub mod test;

/// The fleet-rs agent.
#[derive(Debug, Parser)]
#[command(name = "fleet-agent", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Match a bundle directory to a cluster and print what that cluster would receive.
    Test(test::TestArgs),
    /// Compare desired objects with live objects as the agent monitors a BundleDeployment:
    /// missing, extra and modified objects, optionally the readiness summary. Exit status 0 in
    /// sync, 1 drift, 2 error.
    Diff(diff::Args),
}

/// Runs a parsed command line; normal output goes to `out`, notes to `err`. Nothing is written
/// to `out` when an error is returned.
pub fn run(cli: Cli, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Test(args) => test::run(&args, out, err),
        Command::Diff(args) => Ok(diff::run(&args, out, err)),
    }
}
