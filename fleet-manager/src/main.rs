//! The fleet-rs manager.
//!
//! It will reconcile git to bundles to targets to deployments and serve agents, and offer the
//! offline commands `fleet-manager apply`, `fleet-manager target` and `fleet-manager rollout`.
//! None of that is implemented yet; running it prints what exists and exits with status 2.

fn main() -> std::process::ExitCode {
    eprintln!("fleet-manager: no command is implemented yet (see SHORTCOMINGS.md)");
    std::process::ExitCode::from(2)
}
