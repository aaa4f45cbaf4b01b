//! Subcommands of `fleet-manager`; each module holds one subcommand's arguments and its I/O.
//! Each command builds its complete output before printing (no partial output). The command
//! enum and dispatch are [`crate::Command`] and [`crate::run`].

pub mod apply;
pub mod ctl;
#[cfg(feature = "demo")]
pub mod demo;
pub mod input;
pub mod rollout;
pub mod serve;
pub mod target;
