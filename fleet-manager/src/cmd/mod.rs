//! One module per subcommand; each `run` returns or writes the complete output (no partial output).

pub mod apply;
pub mod input;
pub mod rollout;
pub mod target;
