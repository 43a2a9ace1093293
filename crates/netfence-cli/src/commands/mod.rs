//! One module per command.

mod audit;
mod blast;
mod connectivity;
mod diff;
mod ends;
mod generate;
mod query;
mod report;
mod test;

use anyhow::{anyhow, Result};
use netfence_engine::Profile;

use crate::cli::{Cli, Command};

/// Runs a command and returns the process exit code.
pub fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Connectivity(args) => connectivity::run(&args),
        Command::Query(args) => query::run(&args),
        Command::Diff(args) => diff::run(&args),
        Command::BlastRadius(args) => blast::run(&args),
        Command::Test(args) => test::run(&args),
        Command::Report(args) => report::run(&args),
        Command::Audit(args) => audit::run(&args),
        Command::Generate(cmd) => generate::run(&cmd),
        Command::Rule { code } => audit::rule(code.as_deref()),
    }
}

pub(crate) fn profile(name: &str) -> Result<Profile> {
    Profile::parse(name)
        .ok_or_else(|| anyhow!("unknown CNI profile `{name}` (expected generic or calico)"))
}
