//! One module per subcommand; each `run` returns the complete output text (no partial output).

pub mod input;
pub mod rollout;
pub mod target;
