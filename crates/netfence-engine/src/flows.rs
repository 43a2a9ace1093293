//! Observed flows against a policy set: each flow's ends resolved to workloads of the
//! inventory (or to workloads made from the flow's own labels when the manifests lack them),
//! then judged by the engine like any query.

#![expect(
    clippy::indexing_slicing,
    reason = "endpoint, class, rule and flow ids index the cluster and tables they were built from"
)]
use std::collections::BTreeMap;

use netfence_model::flow::{FlowEnd, ObservedFlow, Verdict};
use netfence_model::{Cluster, Endpoint, EndpointId, Entity, IpRange, IpSet, Origin};

use crate::eval::{Evaluator, FlowVerdict, Peer};
use crate::verdict::Outcome;

/// A flow end the engine can evaluate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// A workload of the (augmented) inventory.
    Endpoint(EndpointId),
    /// An external address.
    Ip(IpRange),
    /// An external address with the DNS name it was resolved from.
    Fqdn(String, Option<std::net::IpAddr>),
    /// A reserved entity.
    Entity(Entity),
}

impl End {
    /// The engine's peer for this end.
    pub fn peer<'x>(&'x self, c: &'x Cluster) -> Peer<'x> {
        match self {
            End::Endpoint(i) => Peer::Endpoint(&c.endpoints[*i]),
            End::Ip(r) => Peer::Ip(r),
            End::Fqdn(n, ip) => Peer::Fqdn { name: n, ip: *ip },
            End::Entity(e) => Peer::Entity(*e),
        }
    }

    /// A stable display name.
    pub fn name(&self, c: &Cluster) -> String {
        match self {
            End::Endpoint(i) => c.endpoints[*i].display_name(),
            End::Ip(r) => format!("{}[External]", r.first()),
            End::Fqdn(n, _) => format!("{n}[FQDN]"),
            End::Entity(e) => format!("{e}[Entity]"),
        }
    }
}

/// How a flow is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A reply or an L7 response: never a policy decision of its own.
    Reply,
    /// Dropped for a reason that is not policy (routing, conntrack, ...).
    NonPolicyDrop,
    /// Dropped by policy (default deny, explicit deny, L7 refusal).
    PolicyDrop,
    /// Forwarded.
    Forwarded,
    /// Audit mode: would be dropped under enforcement.
    Audit,
    /// Other verdicts (traced, translated).
    Other,
}

/// Classifies a flow.
pub fn kind(f: &ObservedFlow) -> Kind {
    if !f.is_request() {
        return Kind::Reply;
    }
    match f.verdict {
        Verdict::Dropped if f.policy_drop() => Kind::PolicyDrop,
        Verdict::Dropped => Kind::NonPolicyDrop,
        Verdict::Forwarded => Kind::Forwarded,
        Verdict::Audit => Kind::Audit,
        Verdict::Other => Kind::Other,
    }
}

/// Labels that change with every rollout or pod and never belong in a selector.
pub const UNSTABLE_LABELS: [&str; 5] = [
    "pod-template-hash",
    "controller-revision-hash",
    "statefulset.kubernetes.io/pod-name",
    "apps.kubernetes.io/pod-index",
    "pod-template-generation",
];

/// The workload name and kind a pod name implies (`api-5c7b9d8f6-9hj2l` → Deployment `api`,
/// `postgres-0` → StatefulSet `postgres`).
pub fn workload_of_pod(pod: &str) -> (String, &'static str) {
    let parts: Vec<&str> = pod.split('-').collect();
    let is_hash = |s: &str, min: usize, max: usize| {
        (min..=max).contains(&s.len())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    };
    let join = |head: &[&str]| head.join("-");
    match parts.as_slice() {
        [head @ .., rs, hash] if !head.is_empty() && is_hash(hash, 5, 5) && is_hash(rs, 6, 10) => {
            (join(head), "Deployment")
        }
        [head @ .., ordinal] if !head.is_empty() && ordinal.chars().all(|c| c.is_ascii_digit()) => {
            (join(head), "StatefulSet")
        }
        [head @ .., hash] if !head.is_empty() && is_hash(hash, 5, 5) => (join(head), "DaemonSet"),
        _ => (pod.to_string(), "Pod"),
    }
}

/// The inventory with a workload for every pod the flows mention that it lacks, and each
/// flow's ends.
pub struct Resolved {
    /// The inventory (manifests plus workloads made from flows).
    pub cluster: Cluster,
    /// For each flow, its (source, destination), when both can be evaluated.
    pub ends: Vec<Option<(End, End)>>,
    /// Workloads made from flow labels (not in the manifests).
    pub synthesized: Vec<EndpointId>,
}

/// Resolves every flow's ends against `cluster`.
pub fn resolve(cluster: &Cluster, flows: &[ObservedFlow], file: &str) -> Resolved {
    let mut c = cluster.clone();
    let mut synthesized = Vec::new();
    let mut made: BTreeMap<(String, String), EndpointId> = BTreeMap::new();
    let mut ends = Vec::with_capacity(flows.len());
    for f in flows {
        let mut one = |e: &FlowEnd, is_dst: bool| -> Option<End> {
            if let (Some(ns), Some(pod)) = (&e.namespace, &e.pod) {
                if let Some(id) = find(&c, ns, pod, e) {
                    return Some(End::Endpoint(id));
                }
                let (name, kind) = workload_of_pod(pod);
                if let Some(id) = made.get(&(ns.clone(), name.clone())) {
                    return Some(End::Endpoint(*id));
                }
                c.ensure_namespace(ns);
                let labels = e
                    .labels
                    .iter()
                    .filter(|(k, _)| !UNSTABLE_LABELS.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                c.endpoints.push(Endpoint {
                    pods: vec![pod.clone()],
                    labels,
                    service_account: e
                        .service_account
                        .clone()
                        .unwrap_or_else(|| "default".into()),
                    ips: e.ip.into_iter().collect(),
                    origin: Origin {
                        file: file.to_string(),
                        document: 0,
                        line: None,
                    },
                    ..Endpoint::bare(ns, &name, kind)
                });
                let id = c.endpoints.len() - 1;
                made.insert((ns.clone(), name), id);
                synthesized.push(id);
                return Some(End::Endpoint(id));
            }
            match e.entity {
                Some(Entity::World) | None => {
                    let ip = e.ip?;
                    if is_dst {
                        if let Some(n) = f.dst_names.first() {
                            return Some(End::Fqdn(n.clone(), Some(ip)));
                        }
                    }
                    IpSet::from_ip(ip).ranges().first().copied().map(End::Ip)
                }
                Some(other) => Some(End::Entity(other)),
            }
        };
        let s = one(&f.src, false);
        let d = one(&f.dst, true);
        ends.push(s.zip(d));
    }
    Resolved {
        cluster: c,
        ends,
        synthesized,
    }
}

/// The inventory workload a flow's pod belongs to: by pod name, else the workload of that
/// namespace whose labels the pod carries (the most specific one).
fn find(c: &Cluster, ns: &str, pod: &str, e: &FlowEnd) -> Option<EndpointId> {
    let in_ns = || {
        c.endpoints
            .iter()
            .enumerate()
            .filter(|(_, x)| x.namespace == ns)
    };
    if let Some((i, _)) = in_ns().find(|(_, x)| x.pods.iter().any(|p| p == pod)) {
        return Some(i);
    }
    let (name, _) = workload_of_pod(pod);
    if let Some((i, _)) = in_ns().find(|(_, x)| x.name == name) {
        return Some(i);
    }
    in_ns()
        .filter(|(_, x)| {
            !x.labels.is_empty() && netfence_model::labels::has_all(&e.labels, &x.labels)
        })
        .max_by_key(|(_, x)| x.labels.len())
        .map(|(i, _)| i)
}

/// The engine's verdict on one flow (`None` for a record without a protocol or a port).
pub fn judge(ev: &Evaluator<'_>, f: &ObservedFlow, ends: &(End, End)) -> Option<FlowVerdict> {
    let (protocol, port) = f.probe()?;
    let c = ev.cluster;
    Some(ev.flow(
        ends.0.peer(c),
        ends.1.peer(c),
        protocol,
        port,
        f.l7.as_ref(),
    ))
}

/// A connection key for grouping: `src => dst : PROTO port [request]`.
pub fn key(c: &Cluster, f: &ObservedFlow, ends: &(End, End)) -> String {
    let conn = match (f.protocol, f.probe()) {
        // `ICMP type 8`, as connection sets print it
        (_, Some((p, n))) if p.is_icmp() => {
            netfence_model::ConnSet::single(p, netfence_model::PortSet::range(n, n)).to_string()
        }
        (_, Some((p, n))) => format!("{p} {n}"),
        (Some(p), None) => p.to_string(),
        (None, None) => "no L4".into(),
    };
    let req = f.l7.as_ref().map(|r| format!(" [{r}]")).unwrap_or_default();
    format!("{} => {} : {conn}{req}", ends.0.name(c), ends.1.name(c))
}

/// Whether a verdict denies (at L3/L4 or L7).
pub fn denies(v: &FlowVerdict) -> bool {
    v.outcome != Outcome::Allow
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_names_give_their_workload() {
        assert_eq!(
            workload_of_pod("frontend-7d9f8c6b5-x2kqp"),
            ("frontend".into(), "Deployment")
        );
        assert_eq!(
            workload_of_pod("postgres-0"),
            ("postgres".into(), "StatefulSet")
        );
        assert_eq!(
            workload_of_pod("kafka-broker-1"),
            ("kafka-broker".into(), "StatefulSet")
        );
        assert_eq!(
            workload_of_pod("cilium-x2kqp"),
            ("cilium".into(), "DaemonSet")
        );
        assert_eq!(workload_of_pod("standalone"), ("standalone".into(), "Pod"));
    }
}
