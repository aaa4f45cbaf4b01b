//! The fleet-rs agent.
//!
//! The command-line subcommands live in [`cmd`]: `fleet-agent test` (match and render a
//! bundle directory offline, like Fleet's `fleet test`). The in-cluster agent loop is not
//! part of this crate yet.

pub mod cmd;
