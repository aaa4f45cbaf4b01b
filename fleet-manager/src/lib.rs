//! The fleet-rs manager.
//!
//! Offline commands: `fleet-manager apply` turns a repository into Fleet Bundles (printed as
//! YAML, like `fleet apply -o -`), `fleet-manager target` prints the BundleDeployments Fleet
//! would create for bundles (or explains one cluster), `fleet-manager rollout --plan` runs one
//! reconcile's rollout step. Bad input prints a message naming the file and the reason and
//! exits with status 2.
//!
//! The binary and this library share one shape with `fleet-agent`: [`Cli`] is the parsed
//! command line (one [`Command`] variant per subcommand), [`run`] executes it writing to the
//! given output streams and returns the exit status, and `main` only parses and calls [`run`].
//! Subcommand modules live in [`cmd`] and do I/O only.
//!
//! `fleet-manager serve` runs the manager's API server over a store ([`manager`]: the store,
//! the pure reconcile and the HTTP shell), and `fleet-manager ctl` administers a running one.
//! A new subcommand needs only its module under [`cmd`] and a [`Command`] variant.
//!
//! The entry point is [`run`] over a parsed [`Cli`], as the binary calls it; here
//! `fleet-manager target` computes the BundleDeployment of one bundle for the one cluster its
//! target selects:
//!
//! ```
//! use clap::Parser;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let bundle = dir.path().join("bundle.yaml");
//! let clusters = dir.path().join("clusters.yaml");
//! std::fs::write(
//!     &bundle,
//!     "apiVersion: fleet.cattle.io/v1alpha1\nkind: Bundle\nmetadata: {name: shop, namespace: fleet-default}\nspec:\n  defaultNamespace: shop\n  targets:\n  - clusterSelector: {matchLabels: {env: prod}}\n",
//! )
//! .unwrap();
//! std::fs::write(
//!     &clusters,
//!     "apiVersion: fleet.cattle.io/v1alpha1\nkind: Cluster\nmetadata: {name: prod-1, namespace: fleet-default, labels: {env: prod}}\n---\napiVersion: fleet.cattle.io/v1alpha1\nkind: Cluster\nmetadata: {name: dev-1, namespace: fleet-default, labels: {env: dev}}\n",
//! )
//! .unwrap();
//! let cli = fleet_manager::Cli::parse_from([
//!     "fleet-manager",
//!     "target",
//!     "--bundle",
//!     bundle.to_str().unwrap(),
//!     "--clusters",
//!     clusters.to_str().unwrap(),
//! ]);
//! let (mut out, mut err) = (Vec::new(), Vec::new());
//! let status = fleet_manager::run(cli, &mut out, &mut err);
//! assert_eq!(status, std::process::ExitCode::SUCCESS, "{}", String::from_utf8_lossy(&err));
//! let printed = String::from_utf8(out).unwrap();
//! assert_eq!(printed.matches("kind: BundleDeployment").count(), 1, "{printed}");
//! assert!(printed.contains("name: shop"), "{printed}");
//! ```

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod cmd;
pub mod manager;

/// Exit status for bad input or a failed command.
const EXIT_ERROR: u8 = 2;

/// The fleet-rs manager command line.
#[derive(Debug, Parser)]
#[command(name = "fleet-manager", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands of `fleet-manager`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read a repository into Fleet Bundles and print them as YAML (like `fleet apply -o -`).
    Apply(cmd::apply::Args),
    /// Print the BundleDeployments Fleet would create for bundles (or explain one cluster).
    Target(cmd::target::TargetArgs),
    /// Run one bundle reconcile's rollout step over a given state and print what it decides.
    Rollout(cmd::rollout::RolloutArgs),
    /// Run the manager's API server over a store in `--data DIR`.
    Serve(cmd::serve::ServeArgs),
    /// Administer a running manager.
    Ctl(cmd::ctl::CtlArgs),
    /// The whole loop on this machine: a manager, N agents with in-memory clusters, a git
    /// repository; waits for Ready, commits a change, shows it roll out.
    #[cfg(feature = "demo")]
    Demo(cmd::demo::DemoArgs),
}

/// Runs a parsed command line; normal output goes to `out`, errors to `err`.
///
/// Each command builds its complete output before anything is written, so a failing command
/// writes nothing to `out` and exits with status 2.
pub fn run(cli: Cli, out: &mut dyn Write, err: &mut dyn Write) -> ExitCode {
    let result = match cli.command {
        Command::Apply(args) => cmd::apply::run(args),
        Command::Target(args) => cmd::target::run(&args),
        Command::Rollout(args) => cmd::rollout::run(&args),
        Command::Serve(args) => cmd::serve::run(&args),
        Command::Ctl(args) => cmd::ctl::run(&args),
        #[cfg(feature = "demo")]
        Command::Demo(args) => cmd::demo::run(&args),
    }
    .and_then(|text| {
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(|error| anyhow::anyhow!("writing the output: {error}"))
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // The error stream is the last place to report to; if it fails too, the exit
            // status still says the command failed.
            let _ = writeln!(err, "fleet-manager: {error:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}
