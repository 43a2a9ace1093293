//! One module per command.

mod audit;
mod blast;
mod cni;
mod connectivity;
mod diff;
mod ends;
mod flows;
mod generate;
mod query;
mod report;
#[cfg(feature = "live")]
mod snapshot;
mod test;

use anyhow::Result;
use netfence_engine::Profile;
use netfence_model::Cluster;

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
        Command::Cni(args) => cni::run(&args),
        #[cfg(feature = "live")]
        Command::Snapshot(args) => snapshot::run(&args),
        #[cfg(not(feature = "live"))]
        Command::Snapshot(_) => {
            anyhow::bail!(
                "this netfence was built without the `live` feature: snapshot is not available"
            )
        }
        Command::Flows(cmd) => flows::run(&cmd),
        Command::Rule { code } => audit::rule(code.as_deref()),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut cmd, "netfence", &mut out);
            crate::out::out!("{}", String::from_utf8_lossy(&out));
            Ok(0)
        }
        Command::Man => {
            let mut out = Vec::new();
            clap_mangen::Man::new(<Cli as clap::CommandFactory>::command()).render(&mut out)?;
            crate::out::out!("{}", String::from_utf8_lossy(&out));
            Ok(0)
        }
    }
}

/// The profile named on the command line, or `auto`.
pub(crate) enum Choice {
    Fixed(Profile),
    Auto,
}

impl Choice {
    /// The profile for `cluster`: `auto` picks Cilium when Cilium policies or the Cilium agent
    /// are in the input, Calico when calico-node is, generic otherwise. Says on standard error
    /// which loaded policies the profile does not enforce.
    pub(crate) fn resolve(&self, cluster: &Cluster) -> Profile {
        let profile = match self {
            Choice::Fixed(p) => *p,
            Choice::Auto => netfence_audit::cni::auto_profile(cluster),
        };
        for (kind, n) in netfence_audit::cni::unenforced(cluster, profile) {
            eprintln!(
                "warning: {n} {kind} object(s) are not enforced under --cni {profile}: kept in the model, left out of the verdicts"
            );
        }
        profile
    }
}

/// The `--cni` choice; no flag is `generic`, the contract's default.
pub(crate) fn profile(cni: &crate::flags::CniArg) -> Result<Choice> {
    use crate::flags::Cni;
    Ok(match cni.cni {
        None | Some(Cni::Generic) => Choice::Fixed(Profile::Generic),
        Some(Cni::Auto) => Choice::Auto,
        Some(Cni::Calico) => Choice::Fixed(Profile::Calico),
        Some(Cni::Cilium) => Choice::Fixed(Profile::Cilium),
        Some(Cni::Antrea) => Choice::Fixed(Profile::Antrea),
        Some(Cni::Flannel) => Choice::Fixed(Profile::Flannel),
        Some(Cni::Weave) => Choice::Fixed(Profile::Weave),
    })
}
