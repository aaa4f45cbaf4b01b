//! The fleet-rs agent command line: `fleet-agent test` renders a bundle directory as one
//! cluster would receive it (Fleet's `fleet test`); `fleet-agent diff` compares desired with
//! live objects as the agent monitors them. See the [`fleet_agent`] library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = fleet_agent::Cli::parse();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    fleet_agent::run(cli, &mut stdout.lock(), &mut stderr.lock())
}
