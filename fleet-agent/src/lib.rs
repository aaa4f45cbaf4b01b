//! The fleet-rs agent.
//!
//! The command-line subcommands live in [`cmd`]: `fleet-agent test` (match and render a
//! bundle directory offline, like Fleet's `fleet test`) and `fleet-agent diff`.
//!
//! The deploy logic is sans-I/O so it is tested without a cluster: [`deploy`] plans the
//! ordered actions of one deploy (namespaces, CRDs waited for, Helm's install order, prune
//! against an inventory, dependsOn), [`status`] builds Fleet's status from the outcome and a
//! monitoring pass, [`monitor`] aggregates watch events and decides drift correction, and
//! [`cache`] keeps the last deployments in a state directory for offline restarts.

pub mod cache;
pub mod cmd;
pub mod deploy;
pub mod monitor;
pub mod status;
