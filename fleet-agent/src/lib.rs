//! The fleet-rs agent.
//!
//! The binary and this library share one shape with `fleet-manager`: [`Cli`] is the parsed
//! command line (one [`Command`] variant per subcommand), [`run()`] executes it writing to the
//! given output streams and returns the exit status, and `main` only parses and calls [`run()`].
//! Subcommand modules live in [`cmd`] and do I/O only; the logic they drive lives in library
//! modules beside it.
//!
//! A new subcommand needs only its module under [`cmd`] and a [`Command`] variant.
//!
//! The deploy logic is sans-I/O so it is tested without a cluster: [`deploy`] plans the
//! ordered actions of one deploy (namespaces, CRDs waited for, Helm's install order, prune
//! against an inventory, dependsOn), [`hooks`] decides which Helm hooks run, in what order,
//! what is waited for and what is deleted when, [`status`] builds Fleet's status from the outcome and a
//! monitoring pass, [`monitor`] aggregates watch events and decides drift correction, and
//! [`cache`] keeps the last deployments in a state directory for offline restarts, and
//! [`mod@run`] decides the pull loop of `fleet-agent run` (what to poll, fetch, deploy, uninstall,
//! recompute and report) from events, with the clock passed in.
//!
//! The entry point is [`run()`] over a parsed [`Cli`], as the binary calls it; here
//! `fleet-agent template` renders a chart written to a temporary directory:
//!
//! ```
//! use clap::Parser;
//!
//! let chart = tempfile::tempdir().unwrap();
//! std::fs::write(chart.path().join("Chart.yaml"), "apiVersion: v2\nname: demo\nversion: 0.1.0\n").unwrap();
//! std::fs::create_dir(chart.path().join("templates")).unwrap();
//! std::fs::write(
//!     chart.path().join("templates/cm.yaml"),
//!     "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\n  namespace: {{ .Release.Namespace }}\n",
//! )
//! .unwrap();
//! let path = chart.path().to_str().unwrap();
//! let cli = fleet_agent::Cli::parse_from(["fleet-agent", "template", "web", path, "-n", "shop"]);
//! let (mut out, mut err) = (Vec::new(), Vec::new());
//! let status = fleet_agent::run(cli, &mut out, &mut err);
//! assert_eq!(status, std::process::ExitCode::SUCCESS, "{}", String::from_utf8_lossy(&err));
//! let manifest = String::from_utf8(out).unwrap();
//! assert!(manifest.contains("  name: web-cm\n  namespace: shop\n"), "{manifest}");
//! ```
//!
//! `cluster` (feature `kube`, on by default) is the kube-rs shell that executes those plans
//! against an API server, and `upstream` the client of the manager's agent API; the
//! `deploy`, `uninstall` and `run` subcommands drive them.

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod cache;
#[cfg(feature = "kube")]
pub mod cluster;
pub mod cmd;
pub mod deploy;
pub mod helm;
pub mod hooks;
pub mod monitor;
pub mod run;
pub mod status;
#[cfg(feature = "kube")]
pub mod upstream;

/// The fleet-rs agent command line.
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
    Test(cmd::test::TestArgs),
    /// Render a Helm chart as `helm template` does, with the native renderer: the manifest
    /// stream, or the engine map as JSON. Exit status 1 on any error, with nothing on stdout.
    Template(cmd::template::TemplateArgs),
    /// Compare desired objects with live objects as the agent monitors a BundleDeployment:
    /// missing, extra and modified objects, optionally the readiness summary. Exit status 0 in
    /// sync, 1 drift, 2 error.
    Diff(cmd::diff::Args),
    /// Deploy one BundleDeployment into a cluster and print its status in Fleet's shape.
    #[cfg(feature = "kube")]
    Deploy(cmd::deploy::DeployArgs),
    /// Remove what a BundleDeployment deployed into a cluster.
    #[cfg(feature = "kube")]
    Uninstall(cmd::deploy::UninstallArgs),
    /// Register with a manager, then pull, deploy, monitor and report its BundleDeployments
    /// until interrupted.
    #[cfg(feature = "kube")]
    Run(cmd::run::RunArgs),
}

/// Runs a parsed command line; normal output goes to `out`, notes and errors to `err`.
///
/// Nothing is written to `out` when a command fails. A failing `test` exits with status 1
/// (Fleet's `fleet test` convention); `diff` reports its own 0/1/2 status; a `deploy` the
/// cluster refused still prints the status that records why, and exits with status 1.
pub fn run(cli: Cli, out: &mut dyn Write, err: &mut dyn Write) -> ExitCode {
    let result = match cli.command {
        Command::Test(args) => cmd::test::run(&args, out, err),
        Command::Template(args) => cmd::template::run(&args, out, err),
        Command::Diff(args) => Ok(cmd::diff::run(&args, out, err)),
        #[cfg(feature = "kube")]
        Command::Deploy(args) => cmd::deploy::run_deploy(&args, out, err),
        #[cfg(feature = "kube")]
        Command::Uninstall(args) => cmd::deploy::run_uninstall(&args, out, err),
        #[cfg(feature = "kube")]
        Command::Run(args) => cmd::run::run(&args, out, err),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            // The error stream is the last place to report to; if it fails too, the exit
            // status still says the command failed.
            let _ = writeln!(err, "fleet-agent: {error:#}");
            ExitCode::FAILURE
        }
    }
}
