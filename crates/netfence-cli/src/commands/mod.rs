//! One module per command.

mod connectivity;
mod query;

use anyhow::{anyhow, Result};
use netfence_engine::Profile;

use crate::cli::{Cli, Command};

/// Runs a command and returns the process exit code.
pub fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Connectivity(args) => connectivity::run(&args),
        Command::Query(args) => query::run(&args),
    }
}

pub(crate) fn profile(name: &str) -> Result<Profile> {
    Profile::parse(name)
        .ok_or_else(|| anyhow!("unknown CNI profile `{name}` (expected generic or calico)"))
}
