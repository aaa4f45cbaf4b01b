//! The fleet-rs agent.
//!
//! It will pull its BundleDeployments, render them, apply them with server-side apply, watch
//! for drift and report status, and offer `fleet-agent test` and `fleet-agent diff` offline.
//! None of that is implemented yet; running it prints what exists and exits with status 2.

fn main() -> std::process::ExitCode {
    eprintln!("fleet-agent: no command is implemented yet (see SHORTCOMINGS.md)");
    std::process::ExitCode::from(2)
}
