//! The fleet-rs manager.
//!
//! Offline commands over Fleet objects given as YAML files:
//! `fleet-manager apply` (a repository into Fleet Bundles, printed like `fleet apply -o -`),
//! `fleet-manager target` (which BundleDeployments Fleet would create, or why a cluster does or
//! does not get a bundle) and `fleet-manager rollout --plan` (one reconcile's rollout step).
//! Bad input exits with status 2 and a message naming the file and the reason.

mod cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "fleet-manager",
    version,
    about = "The fleet-rs manager and its offline commands"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Read a repository into Fleet Bundles and print them as YAML (like `fleet apply -o -`).
    Apply(cmd::apply::Args),
    /// Print the BundleDeployments Fleet would create for a bundle (or explain one cluster).
    Target(cmd::target::TargetArgs),
    /// Run one bundle reconcile's rollout step over a given state and print what it decides.
    Rollout(cmd::rollout::RolloutArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        // `apply` writes its own output (stdout or `-o FILE`), only once everything was read.
        Command::Apply(a) => cmd::apply::run(a).map(|()| String::new()),
        Command::Target(a) => cmd::target::run(&a),
        Command::Rollout(a) => cmd::rollout::run(&a),
    };
    match result {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("fleet-manager: {e:#}");
            ExitCode::from(2)
        }
    }
}
