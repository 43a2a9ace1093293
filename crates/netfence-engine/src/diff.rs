//! Semantic diff of two policy sets: which connections a change adds, removes or alters,
//! per workload pair (and external range) and port.
//!
//! Both sides are computed over the same external ranges (the address space cut at every CIDR
//! either side mentions), so re-cutting ranges never shows as a change. Workloads are matched
//! by `namespace/name[Kind]`; those present on one side only are listed as such, with their
//! connections.

#![expect(
    clippy::indexing_slicing,
    reason = "endpoint, class, rule and flow ids index the cluster and tables they were built from"
)]
use std::collections::{BTreeMap, BTreeSet};

use netfence_model::{Cluster, ConnSet, IpRange, IpSet, Protocol};

use crate::connectivity::{compute_full, external_ranges, Node};

/// One changed pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairChange {
    /// Source name.
    pub src: String,
    /// Destination name.
    pub dst: String,
    /// What was allowed before (empty when the pair is new).
    pub before: ConnSet,
    /// What is allowed after (empty when the pair is gone).
    pub after: ConnSet,
}

impl PairChange {
    /// Connections the change opens.
    pub fn opened(&self) -> ConnSet {
        self.after.subtract(&self.before)
    }

    /// Connections the change closes.
    pub fn closed(&self) -> ConnSet {
        self.before.subtract(&self.after)
    }
}

/// The difference between two clusters' connectivity.
#[derive(Debug, Clone, Default)]
pub struct Diff {
    /// Pairs allowed only after.
    pub added: Vec<PairChange>,
    /// Pairs allowed only before.
    pub removed: Vec<PairChange>,
    /// Pairs allowed on both sides, with different connections.
    pub changed: Vec<PairChange>,
    /// Workloads only in the new cluster.
    pub workloads_added: Vec<String>,
    /// Workloads only in the old cluster.
    pub workloads_removed: Vec<String>,
    /// Workloads that could resolve names before and cannot after: they lost UDP or TCP 53 to
    /// every cluster DNS pod (`k8s-app=kube-dns`) they reached.
    pub dns_lost: Vec<String>,
}

impl Diff {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.changed.is_empty()
            && self.workloads_added.is_empty()
            && self.workloads_removed.is_empty()
    }
}

/// Whether `c` allows DNS on UDP or TCP 53.
fn has_dns(c: &ConnSet) -> (bool, bool) {
    (c.contains(Protocol::Udp, 53), c.contains(Protocol::Tcp, 53))
}

/// Per source workload, the DNS protocols it can use to some kube-dns pod.
fn dns_access(
    c: &Cluster,
    map: &BTreeMap<(String, String), ConnSet>,
) -> BTreeMap<String, (bool, bool)> {
    let dns: BTreeSet<String> = c
        .endpoints
        .iter()
        .filter(|e| e.is_cluster_dns())
        .map(|e| e.display_name())
        .collect();
    let mut out: BTreeMap<String, (bool, bool)> = c
        .endpoints
        .iter()
        .filter(|e| !dns.contains(&e.display_name()))
        .map(|e| (e.display_name(), (false, false)))
        .collect();
    for ((src, dst), conn) in map {
        if dns.contains(dst) {
            if let Some(acc) = out.get_mut(src) {
                let (u, t) = has_dns(conn);
                acc.0 |= u;
                acc.1 |= t;
            }
        }
    }
    out
}

fn common_ranges(a: &[IpRange], b: &[IpRange]) -> Vec<IpRange> {
    let sets: Vec<IpSet> = a.iter().chain(b).map(IpRange::to_set).collect();
    IpSet::disjoint_ranges(&IpSet::all_v4(), sets.iter())
}

fn named_map(
    c: &Cluster,
    map: &crate::connectivity::Connectivity,
) -> BTreeMap<(String, String), ConnSet> {
    let name = |n: &Node| match n {
        Node::Endpoint(i) => c.endpoints[*i].display_name(),
        Node::External(r) => format!("{r}[External]"),
        Node::IngressController => crate::ingress::CONTROLLER_NAME.to_string(),
        Node::Fqdn(i) => format!("{}[FQDN]", map.fqdns[*i as usize]),
    };
    map.edges()
        .map(|e| ((name(&e.src), name(&e.dst)), (*e.conn).clone()))
        .collect()
}

/// Compares the connectivity of `old` and `new`.
pub fn diff(old: &Cluster, new: &Cluster, profile: impl Into<crate::DataPath>) -> Diff {
    let profile: crate::DataPath = profile.into();
    let (os, od) = external_ranges(old);
    let (ns, nd) = external_ranges(new);
    let src = common_ranges(&os, &ns);
    let dst = common_ranges(&od, &nd);
    // one description for both: ICMP is shown when either side's policies name it
    let icmp = old.policies.name_icmp() || new.policies.name_icmp();
    let view = |map: crate::connectivity::Connectivity| if icmp { map } else { map.ports_view() };
    let before = named_map(
        old,
        &view(compute_full(old, profile, src.clone(), dst.clone())),
    );
    let after = named_map(new, &view(compute_full(new, profile, src, dst)));
    let mut d = Diff::default();
    let keys: BTreeSet<&(String, String)> = before.keys().chain(after.keys()).collect();
    for key in keys {
        let b = before.get(key).cloned().unwrap_or_default();
        let a = after.get(key).cloned().unwrap_or_default();
        if a == b {
            continue;
        }
        let change = PairChange {
            src: key.0.clone(),
            dst: key.1.clone(),
            before: b.clone(),
            after: a.clone(),
        };
        if b.is_empty() {
            d.added.push(change);
        } else if a.is_empty() {
            d.removed.push(change);
        } else {
            d.changed.push(change);
        }
    }
    let (dns_before, dns_after) = (dns_access(old, &before), dns_access(new, &after));
    for (w, (bu, bt)) in &dns_before {
        if let Some((au, at)) = dns_after.get(w) {
            if (*bu && !au) || (*bt && !at) {
                d.dns_lost.push(w.clone());
            }
        }
    }
    let names = |c: &Cluster| -> BTreeSet<String> {
        c.endpoints.iter().map(|e| e.display_name()).collect()
    };
    let (bn, an) = (names(old), names(new));
    d.workloads_added = an.difference(&bn).cloned().collect();
    d.workloads_removed = bn.difference(&an).cloned().collect();
    d
}
