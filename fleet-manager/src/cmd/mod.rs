//! Subcommands. Each command builds its complete output before printing (no partial output).

pub mod apply;
pub mod ctl;
pub mod input;
pub mod rollout;
pub mod serve;
pub mod target;

/// The subcommands of `fleet-manager`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Read a repository into Fleet Bundles and print them as YAML (like `fleet apply -o -`).
    Apply(apply::Args),
    /// Print the BundleDeployments Fleet would create for bundles (or explain one cluster).
    Target(target::TargetArgs),
    /// Run one bundle reconcile's rollout step over a given state and print what it decides.
    Rollout(rollout::RolloutArgs),
    /// Run the manager's API server over a store in `--data DIR`.
    Serve(serve::ServeArgs),
    /// Administer a running manager.
    Ctl(ctl::CtlArgs),
}

/// Runs a subcommand.
pub fn run(command: Command) -> anyhow::Result<()> {
    let out = match command {
        Command::Apply(args) => apply::run(args)?,
        Command::Target(args) => target::run(&args)?,
        Command::Rollout(args) => rollout::run(&args)?,
        Command::Serve(args) => serve::run(&args)?,
        Command::Ctl(args) => ctl::run(&args)?,
    };
    print!("{out}");
    Ok(())
}
