//! Subcommands.

pub mod apply;

/// The subcommands of `fleet-manager`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Read a repository into Fleet Bundles and print them as YAML (like `fleet apply -o -`).
    Apply(apply::Args),
}

/// Runs a subcommand.
pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Apply(args) => apply::run(args),
    }
}
