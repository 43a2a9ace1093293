//! `netfence cni [PATH]`: the capability table of the CNI profiles, and what the input runs.

#![expect(
    clippy::indexing_slicing,
    reason = "endpoint, class, rule and flow ids index the cluster and tables they were built from"
)]
use crate::out::outln;
use anyhow::Result;
use netfence_engine::Profile;

use crate::cli::{CniArgs, Inputs};
use crate::input;

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

pub fn run(args: &CniArgs) -> Result<i32> {
    let cluster = if args.paths.is_empty() {
        None
    } else {
        Some(
            input::load(&Inputs {
                paths: args.paths.clone(),
                live: Default::default(),
                cni: crate::flags::CniArg::default(),
                verbose: false,
            })?
            .cluster,
        )
    };
    // the data path, when there is something to resolve it for
    let resolved = if cluster.is_some() || args.cni.cni.is_some() {
        let empty = netfence_model::Cluster::default();
        let c = cluster.as_ref().unwrap_or(&empty);
        // what the input runs, unless `--cni` says
        let mut choice = args.cni.clone();
        if choice.cni.is_none() {
            choice.cni = Some(crate::flags::CniChoice {
                cni: crate::flags::Cni::Auto,
                version: None,
            });
        }
        Some(super::profile(&choice)?.resolve_with_facts(c)?)
    } else {
        None
    };
    let data_path_out = resolved.as_ref().map(|r| {
        let dp = r.data_path;
        netfence_report::output::DataPathOut {
            data_path: dp.to_string(),
            cni: dp.cni.to_string(),
            release: dp.release().map(|v| v.to_string()),
            kubernetes: dp.kubernetes.map(|v| v.to_string()),
            facts: r
                .facts
                .iter()
                .map(|f| netfence_report::output::DataPathFact {
                    name: f.name.clone(),
                    value: f.value.clone(),
                    source: f.source.clone(),
                })
                .collect(),
            admin_network_policy: dp.enforces_admin_policies(),
            cluster_network_policy: dp.enforces_cluster_network_policies(),
            cluster_network_policy_gap: dp.cluster_network_policy_gap(),
        }
    });
    let detected = cluster.as_ref().map(|c| {
        let seen: Vec<String> = netfence_audit::cni::detect(c)
            .iter()
            .map(|d| format!("{} ({})", d.cni, c.endpoints[d.workload].display_name()))
            .collect();
        let auto = netfence_audit::cni::auto_profile(c);
        (seen, auto, netfence_audit::cni::unenforced(c, auto))
    });
    let policy_maps = |c: &netfence_model::Cluster| -> Vec<netfence_report::output::PolicyMap> {
        let max = usize::try_from(args.policy_map_max).unwrap_or(usize::MAX);
        netfence_engine::policy_map::estimates(c)
            .iter()
            .take(10)
            .map(|e| netfence_report::output::PolicyMap {
                workload: c.endpoints[e.endpoint].display_name(),
                ingress: e.ingress,
                egress: e.egress,
                max,
            })
            .collect()
    };
    if args.format == crate::flags::Format::Json {
        use netfence_report::output::{CniDetected, CniOutput, CniProfile, KindCount};
        let v = CniOutput {
            profiles: Profile::ALL
                .iter()
                .map(|p| {
                    let k = p.capabilities();
                    let newest = netfence_engine::DataPath::from(*p);
                    CniProfile {
                        profile: newest.to_string(),
                        network_policy: k.network_policy,
                        admin_network_policy: newest.enforces_admin_policies(),
                        cluster_network_policy: newest.enforces_cluster_network_policies(),
                        own_policies: k.own_policies.to_string(),
                        l7: k.l7.to_string(),
                        fqdn: k.fqdn.to_string(),
                        host_policies: k.host_policies,
                        cidr_matches_pods: k.cidr_matches_pods,
                        note: k.note.to_string(),
                    }
                })
                .collect(),
            detected: detected
                .as_ref()
                .zip(cluster.as_ref())
                .map(|((seen, auto, un), c)| CniDetected {
                    workloads: seen.clone(),
                    auto: auto.to_string(),
                    not_enforced: un
                        .iter()
                        .map(|(k, n)| KindCount {
                            kind: k.to_string(),
                            count: *n,
                        })
                        .collect(),
                    policy_maps: if args.cni.named() == Some(crate::flags::Cni::Cilium) {
                        policy_maps(c)
                    } else {
                        Vec::new()
                    },
                }),
            data_path: data_path_out,
        };
        crate::out::out!("{}", netfence_report::output::to_json(&v));
        return Ok(0);
    }
    outln!(
        "{:<12} {:<13} {:<8} {:<20} {:<52} {:<46} {:<36} {:<5} {:<12} note",
        "profile",
        "NetworkPolicy",
        "ANP/BANP",
        "ClusterNetworkPolicy",
        "own policies",
        "L7",
        "FQDN",
        "host",
        "CIDR=pods"
    );
    for p in Profile::ALL {
        let k = p.capabilities();
        // each CNI at the newest release netfence models (`--cni NAME@RELEASE` for another)
        let newest = netfence_engine::DataPath::from(p);
        outln!(
            "{:<12} {:<13} {:<8} {:<20} {:<52} {:<46} {:<36} {:<5} {:<12} {}",
            newest.to_string(),
            yes(k.network_policy),
            yes(newest.enforces_admin_policies()),
            yes(newest.enforces_cluster_network_policies()),
            k.own_policies,
            k.l7,
            k.fqdn,
            yes(k.host_policies),
            yes(k.cidr_matches_pods),
            k.note
        );
    }
    if let (Some(c), Some(crate::flags::Cni::Cilium)) = (&cluster, args.cni.named()) {
        let estimates = netfence_engine::policy_map::estimates(c);
        let max = usize::try_from(args.policy_map_max).unwrap_or(usize::MAX);
        outln!();
        outln!(
            "Cilium policy map estimates (bpf-policy-map-max {}; method: `netfence rule CIL101`):",
            max
        );
        if estimates.is_empty() {
            outln!("  no endpoint has policy map entries");
        }
        for e in estimates.iter().take(10) {
            let pct = e.total() * 100 / max.max(1);
            outln!(
                "  {:<60} {:>7} entries ({} ingress, {} egress), {pct}%{}",
                c.endpoints[e.endpoint].display_name(),
                e.total(),
                e.ingress,
                e.egress,
                if e.total() > max { "  OVER" } else { "" }
            );
        }
    }
    if let Some(r) = &resolved {
        let dp = r.data_path;
        outln!();
        outln!("data path: {dp}");
        for f in &r.facts {
            outln!("  {:<36} {:<8} {}", f.name, f.value, f.source);
        }
        outln!(
            "  enforces AdminNetworkPolicy/BaselineAdminNetworkPolicy: {}",
            yes(dp.enforces_admin_policies())
        );
        match dp.cluster_network_policy_gap() {
            None => outln!("  enforces ClusterNetworkPolicy: yes"),
            Some(why) => outln!("  enforces ClusterNetworkPolicy: no ({why})"),
        }
    }
    if let Some((seen, auto, un)) = detected {
        outln!();
        if seen.is_empty() {
            outln!("detected: no CNI workload in the input");
        } else {
            outln!("detected: {}", seen.join(", "));
        }
        outln!("--cni auto picks: {auto}");
        for (kind, n) in un {
            outln!("not enforced under {auto}: {n} {kind}");
        }
    }
    Ok(0)
}
