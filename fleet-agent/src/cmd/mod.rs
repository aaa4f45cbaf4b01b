//! Subcommands of `fleet-agent`; each module holds one subcommand's arguments and its I/O.
//! The command enum and dispatch are [`crate::Command`] and [`crate::run()`].

#[cfg(feature = "kube")]
pub mod deploy;
pub mod diff;
#[cfg(feature = "kube")]
pub mod run;
pub mod template;
pub mod test;
