//! The fleet-rs agent command line: `fleet-agent test` renders a bundle directory as one
//! cluster would receive it (Fleet's `fleet test`); `fleet-agent diff` compares desired with
//! live objects as the agent monitors them. See the [`fleet_agent`] library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = fleet_agent::Cli::parse();
    // Not locked for the whole run: `run` logs from other threads too, and a lock held here
    // would block them forever.
    fleet_agent::run(cli, &mut std::io::stdout(), &mut std::io::stderr())
}
