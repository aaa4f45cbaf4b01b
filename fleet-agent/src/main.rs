//! The fleet-rs agent command line: `fleet-agent test` renders a bundle directory as one
//! cluster would receive it (Fleet's `fleet test`). See [`fleet_agent::cmd`].

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = fleet_agent::cmd::Cli::parse();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    match fleet_agent::cmd::run(cli, &mut stdout.lock(), &mut stderr.lock()) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("fleet-agent: {err:#}");
            ExitCode::FAILURE
        }
    }
}
