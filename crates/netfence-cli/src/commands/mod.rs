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

/// The data path named on the command line (`auto` for the CNI the input runs).
pub(crate) struct Choice {
    /// The CNI, or `None` for `auto`.
    cni: Option<Profile>,
    /// The release after `@`.
    version: Option<netfence_engine::Release>,
    /// `--cni-setting KEY=VALUE`.
    settings: Vec<String>,
}

impl Choice {
    /// The data path for `cluster`: `auto` picks Cilium when Cilium policies or the Cilium
    /// agent are in the input, Calico when calico-node is, generic otherwise; the release and
    /// settings come from the command line, then the input (agent image tags,
    /// `cilium-config`). Says on standard error which release is assumed and which loaded
    /// policies the data path does not enforce.
    pub(crate) fn resolve(&self, cluster: &Cluster) -> Result<netfence_engine::DataPath> {
        Ok(self.resolve_with_facts(cluster)?.data_path)
    }

    /// [`Choice::resolve`] with where each fact came from.
    pub(crate) fn resolve_with_facts(
        &self,
        cluster: &Cluster,
    ) -> Result<netfence_audit::cni::ResolvedDataPath> {
        let cni = self
            .cni
            .unwrap_or_else(|| netfence_audit::cni::auto_profile(cluster));
        let resolved =
            netfence_audit::cni::resolve_data_path(cluster, cni, self.version, &self.settings)
                .map_err(anyhow::Error::msg)?;
        let dp = resolved.data_path;
        let policies = cluster.policies.iter().next().is_some();
        for note in &resolved.notes {
            // the release matters only to policies
            if policies {
                eprintln!("{note}");
            }
        }
        for (kind, n) in netfence_audit::cni::unenforced(cluster, dp) {
            eprintln!(
                "warning: {n} {kind} object(s) are not enforced under --cni {dp}: kept in the model, left out of the verdicts"
            );
        }
        if dp.enforces_cilium_policies()
            && dp.cilium_kafka() == netfence_engine::datapath::KafkaRules::Pruned
        {
            if let Some(p) = cluster.policies.cilium_policies().iter().find(|p| {
                p.rules.iter().any(|r| {
                    r.ingress.iter().chain(&r.egress).any(|pr| {
                        pr.ports
                            .iter()
                            .flatten()
                            .any(|port| matches!(port.l7, Some(netfence_model::L7Rules::Kafka(_))))
                    })
                })
            }) {
                eprintln!(
                    "warning: {} has Kafka rules, which Cilium 1.20 removed (cilium#43557, #44610): the API server refuses them in a new object and prunes them from a stored one, whose port rule then allows the whole port at L4; judged so under --cni {dp}",
                    p.qualified_name()
                );
            }
        }
        if !cluster.policies.cluster_network_policies().is_empty() {
            if let Some(why) = dp.cluster_network_policy_gap() {
                eprintln!("note: ClusterNetworkPolicy is not enforced: {why}");
            }
        }
        Ok(resolved)
    }
}

/// The `--cni` choice; no flag is `generic`, the contract's default.
pub(crate) fn profile(cni: &crate::flags::CniArg) -> Result<Choice> {
    let named = cni.cni.map(|c| c.cni.profile());
    Ok(Choice {
        cni: named.unwrap_or(Some(Profile::Generic)),
        version: cni.cni.and_then(|c| c.version),
        settings: cni.cni_settings.clone(),
    })
}
