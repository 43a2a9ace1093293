//! Exposure analysis: for each workload and direction, whether it is protected at all, and to
//! which *potential* peers (pods that may exist but are not in the inventory) its policies open
//! it — "any pod in a namespace labelled `env=dev`", "the entire cluster".
//!
//! Potential peers are the selectors written in policy rules (representative peers); a rule
//! grants one of them only when its own selectors are empty or state the same requirements, so
//! the analysis never assumes labels a pod might not have.

use std::collections::HashSet;

use netfence_model::cluster::NAMESPACE_NAME_LABEL;
use netfence_model::{AdminPeer, Cluster, ConnSet, EndpointId, LabelSelector, NpPeer};

use crate::eval::{Direction, Evaluator, Peer, RepNamespace, RepPeer};

/// What a workload is exposed to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ExposedTo {
    /// Any pod of any namespace.
    EntireCluster,
    /// Pods matching a policy rule's selectors.
    Potential(RepPeer),
}

/// One exposure finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExposureLine {
    /// The exposed workload.
    pub endpoint: EndpointId,
    /// The direction.
    pub direction: Direction,
    /// The potential peer.
    pub to: ExposedTo,
    /// The connections it may use.
    pub conn: ConnSet,
}

/// The result of exposure analysis.
#[derive(Debug, Clone, Default)]
pub struct Exposure {
    /// Exposure lines.
    pub lines: Vec<ExposureLine>,
    /// Workloads with no NetworkPolicy in a direction.
    pub unprotected: Vec<(EndpointId, Direction)>,
}

/// The potential peer "any pod anywhere".
fn anywhere() -> RepPeer {
    RepPeer {
        namespace: RepNamespace::Selector(LabelSelector::everything()),
        pods: LabelSelector::everything(),
    }
}

fn rep_from_selectors(namespace: RepNamespace, pods: Option<&LabelSelector>) -> RepPeer {
    let namespace = match namespace {
        RepNamespace::Selector(sel)
            if sel.match_expressions.is_empty()
                && sel.match_labels.len() == 1
                && sel.match_labels.contains_key(NAMESPACE_NAME_LABEL) =>
        {
            RepNamespace::Named(
                sel.match_labels
                    .values()
                    .next()
                    .cloned()
                    .unwrap_or_default(),
            )
        }
        other => other,
    };
    RepPeer {
        namespace,
        pods: pods.cloned().unwrap_or_default(),
    }
}

/// Every distinct potential peer written in a policy rule.
pub fn representative_peers(cluster: &Cluster) -> Vec<RepPeer> {
    let mut seen: HashSet<(Vec<String>, Vec<String>)> = HashSet::new();
    let mut out = Vec::new();
    let mut push = |rep: RepPeer| {
        if rep == anywhere() {
            return;
        }
        let key = (rep.namespace_selector().canonical(), rep.pods.canonical());
        if seen.insert(key) {
            out.push(rep);
        }
    };
    for np in cluster.policies.network_policies() {
        for rules in [&np.ingress, &np.egress] {
            for rule in rules.iter().flatten() {
                for peer in rule.peers.iter().flatten() {
                    if let NpPeer::Pods { namespaces, pods } = peer {
                        let ns = match namespaces {
                            None => RepNamespace::Named(np.namespace.clone()),
                            Some(sel) => RepNamespace::Selector(sel.clone()),
                        };
                        push(rep_from_selectors(ns, pods.as_ref()));
                    }
                }
            }
        }
    }
    for anp in cluster
        .policies
        .admin_policies()
        .iter()
        .chain(cluster.policies.baseline_policy())
        .chain(cluster.policies.cluster_network_policies())
    {
        for rule in anp.ingress.iter().chain(anp.egress.iter()) {
            for peer in &rule.peers {
                match peer {
                    AdminPeer::Namespaces(ns) => {
                        push(rep_from_selectors(RepNamespace::Selector(ns.clone()), None))
                    }
                    AdminPeer::Pods { namespaces, pods } => push(rep_from_selectors(
                        RepNamespace::Selector(namespaces.clone()),
                        Some(pods),
                    )),
                    _ => {}
                }
            }
        }
    }
    out
}

/// Runs exposure analysis for the endpoints `include` accepts.
pub fn compute(
    cluster: &Cluster,
    profile: impl Into<crate::DataPath>,
    include: &dyn Fn(EndpointId) -> bool,
) -> Exposure {
    use rayon::prelude::*;
    let ev = Evaluator::new(cluster, profile);
    let mut by_namespace: std::collections::BTreeMap<&str, Vec<EndpointId>> = Default::default();
    for (id, ep) in cluster.endpoints.iter().enumerate() {
        by_namespace
            .entry(ep.namespace.as_str())
            .or_default()
            .push(id);
    }
    let reps: Vec<RepPeer> = representative_peers(cluster)
        .into_par_iter()
        .filter(|r| !realized(cluster, &by_namespace, r))
        .collect();
    let any = anywhere();
    let ids: Vec<EndpointId> = (0..cluster.endpoints.len())
        .filter(|&id| include(id))
        .collect();
    // each workload on its own, on every core; merged in endpoint order
    let parts: Vec<Exposure> = ids
        .par_iter()
        .map(|&id| exposure_of(&ev, cluster, id, &reps, &any))
        .collect();
    let mut out = Exposure::default();
    for mut part in parts {
        out.lines.append(&mut part.lines);
        out.unprotected.append(&mut part.unprotected);
    }
    // as the map: the port protocols only, unless a policy names ICMP
    if !cluster.policies.name_icmp() {
        for line in &mut out.lines {
            line.conn = line.conn.ports_view();
        }
    }
    out
}

/// The exposure of one endpoint, in both directions.
fn exposure_of(
    ev: &Evaluator<'_>,
    cluster: &Cluster,
    id: EndpointId,
    reps: &[RepPeer],
    any: &RepPeer,
) -> Exposure {
    let mut out = Exposure::default();
    let Some(ep) = cluster.endpoints.get(id) else {
        return out;
    };
    {
        for dir in [Direction::Egress, Direction::Ingress] {
            let detail = ev.direction_detail(ep, Peer::Rep(any), dir);
            if !detail.np_isolated && !ev.admin_subject_has_rules(ep, dir) {
                out.unprotected.push((id, dir));
                out.lines.push(ExposureLine {
                    endpoint: id,
                    direction: dir,
                    to: ExposedTo::EntireCluster,
                    conn: ConnSet::all(),
                });
                continue;
            }
            let entire = detail.allowed;
            if !entire.is_empty() {
                out.lines.push(ExposureLine {
                    endpoint: id,
                    direction: dir,
                    to: ExposedTo::EntireCluster,
                    conn: entire.clone(),
                });
            }
            for rep in reps {
                let conn = ev.direction_allowed(ep, Peer::Rep(rep), dir);
                // Shown when it differs from what the entire cluster gets: with NetworkPolicy
                // alone a potential peer gets at least that much, so this hides exactly the
                // peers that add nothing; admin Deny rules can also make it get less.
                if conn == entire {
                    continue;
                }
                out.lines.push(ExposureLine {
                    endpoint: id,
                    direction: dir,
                    to: ExposedTo::Potential(rep.clone()),
                    conn,
                });
            }
        }
    }
    out
}

/// Whether a potential peer written only with (non-empty) `matchLabels` for both namespace and
/// pods is already a real pod: its connections are then in the connectivity list, not
/// exposure. Empty selectors and expressions stand for more than the pods present, so they
/// are always kept (netpol-analyzer's behaviour).
fn realized(
    cluster: &Cluster,
    by_namespace: &std::collections::BTreeMap<&str, Vec<EndpointId>>,
    rep: &RepPeer,
) -> bool {
    let ns_sel = rep.namespace_selector();
    let simple = |s: &LabelSelector| !s.match_labels.is_empty() && s.match_expressions.is_empty();
    if !simple(&ns_sel) || !simple(&rep.pods) {
        return false;
    }
    by_namespace.iter().any(|(ns, ids)| {
        ns_sel.matches(cluster.namespace_labels(ns))
            && ids.iter().any(|&id| {
                cluster
                    .endpoints
                    .get(id)
                    .is_some_and(|ep| rep.pods.matches(&ep.labels))
            })
    })
}
