//! The connectivity map of a whole cluster: allowed connections between every pair of
//! workloads, and between workloads and cluster-external address ranges.
//!
//! NetworkPolicy-only clusters take a fast path over endpoint classes (see `compiled`), so the
//! cost follows the number of classes and allowed connections rather than pod pairs. Clusters
//! with admin policies are evaluated per class pair through every layer. Classes are expanded
//! back to workloads only at the end, sharing one connection set per class pair.

#![expect(
    clippy::indexing_slicing,
    reason = "endpoint, class, rule and flow ids index the cluster and tables they were built from"
)]
use std::sync::Arc;

use rayon::prelude::*;

use netfence_model::{
    AdminPeer, Cluster, ConnSet, EndpointId, IpRange, IpSet, L7Rules, NpPeer, NpRule,
};

use crate::classes::Classes;
use crate::compiled::Compiled;
use crate::eval::{Evaluator, Peer};
use crate::profile::Profile;

/// One end of an edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Node {
    /// An endpoint of the inventory.
    Endpoint(EndpointId),
    /// A cluster-external address range.
    External(IpRange),
    /// The ingress controller serving Ingress and Route objects.
    IngressController,
    /// A cluster-external destination known by DNS name or pattern (Cilium `toFQDNs`): an
    /// index into [`Connectivity::fqdns`].
    Fqdn(u32),
}

/// An allowed connection set between two nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    /// Source.
    pub src: Node,
    /// Destination.
    pub dst: Node,
    /// What is allowed (shared between the edges of one class pair).
    pub conn: Arc<ConnSet>,
    /// L7 rules the connection's requests must match, per set of ports (Cilium).
    pub l7: Option<Arc<Vec<(ConnSet, L7Rules)>>>,
}

/// One side of a bundle of edges: every member of a class, or one node.
#[derive(Debug, Clone)]
enum Side {
    Class(u32),
    One(Node),
}

/// Edges that share a connection set: a class pair (or a class and a range, FQDN or the
/// ingress controller), expanded to endpoints only when iterated.
#[derive(Debug, Clone)]
struct Bundle {
    src: Side,
    dst: Side,
    conn: Arc<ConnSet>,
    l7: Option<Arc<Vec<(ConnSet, L7Rules)>>>,
}

/// The bundles of a [`Connectivity`] by source (see [`Connectivity::source_index`]).
#[derive(Debug, Clone, Default)]
pub struct SourceIndex {
    by_class: Vec<Vec<u32>>,
    by_node: std::collections::HashMap<Node, Vec<u32>>,
    class_of: Vec<u32>,
}

/// The connectivity map. It is kept per class of endpoints, so its size grows with classes,
/// not with pod pairs; [`Connectivity::edges`] expands it to endpoint pairs as it iterates.
#[derive(Debug, Clone, Default)]
pub struct Connectivity {
    bundles: Vec<Bundle>,
    /// The endpoints of each class.
    members: Vec<Vec<EndpointId>>,
    /// Each endpoint's workload (endpoints of one workload never get edges between them).
    workload_of: Vec<u32>,
    /// External source ranges (cut at every ingress CIDR).
    pub src_ranges: Vec<IpRange>,
    /// External destination ranges (cut at every egress CIDR).
    pub dst_ranges: Vec<IpRange>,
    /// DNS names and patterns of `toFQDNs` rules (Cilium), for [`Node::Fqdn`].
    pub fqdns: Vec<String>,
}

impl Connectivity {
    /// Allowed, non-empty connections between nodes (a workload to itself excluded), in a
    /// stable order: class pairs, then external ranges, the ingress controller and FQDNs.
    pub fn edges(&self) -> impl Iterator<Item = Edge> + '_ {
        self.bundles.iter().flat_map(move |b| {
            let dsts = self.side(&b.dst);
            self.side(&b.src).flat_map(move |s| {
                let ws = self.workload(s);
                dsts.clone().filter_map(move |d| {
                    let same = s == d || ws.is_some() && ws == self.workload(d);
                    (!same).then(|| Edge {
                        src: s,
                        dst: d,
                        conn: b.conn.clone(),
                        l7: b.l7.clone(),
                    })
                })
            })
        })
    }

    /// The nodes of one side of a bundle.
    fn side<'a>(&'a self, side: &'a Side) -> impl Iterator<Item = Node> + Clone + 'a {
        let (members, one): (&[EndpointId], Option<Node>) = match side {
            Side::Class(c) => (
                self.members
                    .get(*c as usize)
                    .map(Vec::as_slice)
                    .unwrap_or_default(),
                None,
            ),
            Side::One(n) => (&[], Some(*n)),
        };
        members.iter().map(|&e| Node::Endpoint(e)).chain(one)
    }

    fn workload(&self, n: Node) -> Option<u32> {
        match n {
            Node::Endpoint(e) => self.workload_of.get(e).copied(),
            _ => None,
        }
    }

    /// The endpoint-to-endpoint bundles: every source of the first slice reaches every
    /// destination of the second on the connection set, but a workload never itself (members
    /// of one class share a namespace, so a bundle across namespaces has no such pair).
    pub fn endpoint_bundles(
        &self,
    ) -> impl Iterator<Item = (&[EndpointId], &[EndpointId], &Arc<ConnSet>)> + '_ {
        let members = |c: u32| {
            self.members
                .get(c as usize)
                .map(Vec::as_slice)
                .unwrap_or_default()
        };
        self.bundles
            .iter()
            .filter_map(move |b| match (&b.src, &b.dst) {
                (Side::Class(s), Side::Class(d)) => Some((members(*s), members(*d), &b.conn)),
                _ => None,
            })
    }

    /// The edges from external ranges, without expanding the others.
    pub fn external_ingress_edges(&self) -> impl Iterator<Item = Edge> + '_ {
        self.bundles
            .iter()
            .filter_map(|b| match b.src {
                Side::One(src @ Node::External(_)) => Some((src, b)),
                _ => None,
            })
            .flat_map(move |(src, b)| {
                self.side(&b.dst).map(move |dst| Edge {
                    src,
                    dst,
                    conn: b.conn.clone(),
                    l7: b.l7.clone(),
                })
            })
    }

    /// Every node that is the source of some edge, each once, in no particular order.
    pub fn sources(&self) -> Vec<Node> {
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for b in &self.bundles {
            for n in self.side(&b.src) {
                if seen.insert(n) {
                    out.push(n);
                }
            }
        }
        out
    }

    /// An index of the bundles by source, for [`Connectivity::edges_from`]: what a writer
    /// that streams the map source by source needs, instead of holding every edge.
    pub fn source_index(&self) -> SourceIndex {
        let mut by_class: Vec<Vec<u32>> = vec![Vec::new(); self.members.len()];
        let mut by_node: std::collections::HashMap<Node, Vec<u32>> = Default::default();
        for (i, b) in self.bundles.iter().enumerate() {
            let i = i as u32;
            match b.src {
                Side::Class(c) => {
                    if let Some(v) = by_class.get_mut(c as usize) {
                        v.push(i);
                    }
                }
                Side::One(n) => by_node.entry(n).or_default().push(i),
            }
        }
        let mut class_of = vec![u32::MAX; self.workload_of.len()];
        for (c, members) in self.members.iter().enumerate() {
            for &e in members {
                if let Some(x) = class_of.get_mut(e) {
                    *x = c as u32;
                }
            }
        }
        SourceIndex {
            by_class,
            by_node,
            class_of,
        }
    }

    /// The edges leaving `src` (as [`Connectivity::edges`] has them), through `index`.
    pub fn edges_from<'a>(
        &'a self,
        index: &'a SourceIndex,
        src: Node,
    ) -> impl Iterator<Item = Edge> + 'a {
        let bundles: &[u32] = match src {
            Node::Endpoint(e) => index
                .class_of
                .get(e)
                .and_then(|&c| index.by_class.get(c as usize))
                .map(Vec::as_slice)
                .unwrap_or_default(),
            other => index
                .by_node
                .get(&other)
                .map(Vec::as_slice)
                .unwrap_or_default(),
        };
        let ws = self.workload(src);
        bundles
            .iter()
            .filter_map(|&i| self.bundles.get(i as usize))
            .flat_map(move |b| {
                self.side(&b.dst).filter_map(move |d| {
                    let same = src == d || ws.is_some() && ws == self.workload(d);
                    (!same).then(|| Edge {
                        src,
                        dst: d,
                        conn: b.conn.clone(),
                        l7: b.l7.clone(),
                    })
                })
            })
    }

    /// The number of edges, counted without expanding them.
    pub fn edge_count(&self) -> usize {
        self.edges().count()
    }
}

/// Every `toFQDNs` name or pattern of the cluster's Cilium policies, sorted.
pub fn fqdn_destinations(cluster: &Cluster) -> Vec<String> {
    let mut v: Vec<String> = cluster
        .cilium_policies
        .iter()
        .flat_map(|p| &p.rules)
        .flat_map(|r| &r.egress)
        .flat_map(|pr| pr.peers.iter().flatten())
        .filter_map(|p| match p {
            netfence_model::CiliumPeer::Fqdn(f) => Some(f.pattern.clone()),
            _ => None,
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

/// A name standing for every name a pattern matches (`*.example.com` → `x.example.com`).
fn representative_name(pattern: &str) -> String {
    pattern.replace("**.", "x.").replace('*', "x")
}

/// The external ranges for each direction: the IPv4 address space cut at every CIDR policies
/// mention.
pub fn external_ranges(cluster: &Cluster) -> (Vec<IpRange>, Vec<IpRange>) {
    let mut ingress_sets: Vec<IpSet> = Vec::new();
    let mut egress_sets: Vec<IpSet> = Vec::new();
    let collect = |rules: Option<&Vec<NpRule>>, out: &mut Vec<IpSet>| {
        for r in rules.into_iter().flatten() {
            for p in r.peers.iter().flatten() {
                if let NpPeer::IpBlock { set, .. } = p {
                    out.push(set.clone());
                }
            }
        }
    };
    for np in &cluster.network_policies {
        collect(np.ingress.as_ref(), &mut ingress_sets);
        collect(np.egress.as_ref(), &mut egress_sets);
    }
    for anp in cluster
        .admin_policies
        .iter()
        .chain(cluster.baseline_policy.iter())
    {
        for (rules, out) in [
            (&anp.ingress, &mut ingress_sets),
            (&anp.egress, &mut egress_sets),
        ] {
            for r in rules {
                for p in &r.peers {
                    if let AdminPeer::Networks(set) = p {
                        out.push(set.clone());
                    }
                }
            }
        }
    }
    for p in &cluster.cilium_policies {
        for r in &p.rules {
            for (rules, out) in [
                (r.ingress.iter().chain(&r.ingress_deny), &mut ingress_sets),
                (r.egress.iter().chain(&r.egress_deny), &mut egress_sets),
            ] {
                for pr in rules {
                    for peer in pr.peers.iter().flatten() {
                        if let netfence_model::CiliumPeer::Cidr(set) = peer {
                            out.push(set.clone());
                        }
                    }
                }
            }
        }
    }
    for p in &cluster.calico_policies {
        for (rules, out) in [
            (&p.ingress, &mut ingress_sets),
            (&p.egress, &mut egress_sets),
        ] {
            for r in rules {
                for e in [&r.source, &r.destination] {
                    out.extend(e.nets.iter().cloned());
                    out.extend(e.not_nets.iter().cloned());
                }
            }
        }
    }
    // External ranges are IPv4, as netpol-analyzer reports them; IPv6 CIDRs are reported as
    // not modelled by the loader.
    let universe = |_: &[IpSet]| IpSet::all_v4();
    let src = IpSet::disjoint_ranges(&universe(&ingress_sets), ingress_sets.iter());
    let dst = IpSet::disjoint_ranges(&universe(&egress_sets), egress_sets.iter());
    (src, dst)
}

/// Computes the connectivity map of `cluster` under `profile`.
pub fn compute(cluster: &Cluster, profile: Profile) -> Connectivity {
    let (src_ranges, dst_ranges) = external_ranges(cluster);
    compute_with_ranges(cluster, profile, src_ranges, dst_ranges)
}

/// Computes the connectivity map with external ranges chosen by the caller (each range must be
/// either inside or outside every CIDR of the cluster's policies: a refinement of
/// [`external_ranges`]), so two clusters can be compared range by range.
pub fn compute_with_ranges(
    cluster: &Cluster,
    profile: Profile,
    src_ranges: Vec<IpRange>,
    dst_ranges: Vec<IpRange>,
) -> Connectivity {
    let ev = Evaluator::new(cluster, profile);
    let classes = Classes::new(cluster);
    // Without Cilium policies the Cilium repository is NetworkPolicy alone, which decides as
    // upstream (a property test checks it): the compiled path serves it.
    let cilium_rules = ev.uses_cilium() && !cluster.cilium_policies.is_empty();
    let calico_rules = ev.uses_calico()
        && (!cluster.calico_policies.is_empty()
            || cluster.endpoints.iter().any(|e| e.host_network));
    let unenforced = !ev.profile.enforces_network_policy();
    let general = ev.has_admin_policies() || cilium_rules || calico_rules || unenforced;
    let (class_edges, to_ext, from_ext) = if general {
        let (t, f) = general_external_edges(&ev, &classes, &src_ranges, &dst_ranges);
        (general_class_edges(&ev, &classes), t, f)
    } else {
        let compiled = Compiled::build(&ev, &classes);
        let (t, f) = compiled.external_edges(&src_ranges, &dst_ranges);
        let (mut edges, mut f) = (compiled.class_edges(), f);
        if ev.has_mesh_policies() {
            // The compiled path knows NetworkPolicy only: the mesh filters its result.
            let rep = |c: u32| &cluster.endpoints[classes.representative(c as usize)];
            edges = edges
                .into_iter()
                .filter_map(|(s, d, conn)| {
                    let m = crate::mesh::mesh_conn(&ev, rep(d), Peer::Endpoint(rep(s)), &conn);
                    (!m.is_empty()).then(|| (s, d, Arc::new(m)))
                })
                .collect();
            f = f
                .into_iter()
                .filter_map(|(r, c, conn)| {
                    let m = crate::mesh::mesh_conn(&ev, rep(c), Peer::Ip(&src_ranges[r]), &conn);
                    (!m.is_empty()).then(|| (r, c, Arc::new(m)))
                })
                .collect();
        }
        (edges, t, f)
    };
    let mut bundles = Vec::with_capacity(class_edges.len() + to_ext.len() + from_ext.len());
    let has_l7 = ev.uses_cilium()
        && cluster
            .cilium_policies
            .iter()
            .flat_map(|p| &p.rules)
            .any(|r| {
                r.ingress
                    .iter()
                    .chain(&r.egress)
                    .flat_map(|pr| pr.ports.iter().flatten())
                    .any(|pr| pr.l7.is_some())
            });
    let rep = |c: u32| &cluster.endpoints[classes.representative(c as usize)];
    let bundle = |src: Side, dst: Side, conn: Arc<ConnSet>| Bundle {
        src,
        dst,
        conn,
        l7: None,
    };
    for (sc, dc, conn) in class_edges {
        let l7 = if has_l7 {
            l7_notes(&ev, Peer::Endpoint(rep(sc)), Peer::Endpoint(rep(dc)), &conn)
        } else {
            None
        };
        bundles.push(Bundle {
            l7,
            ..bundle(Side::Class(sc), Side::Class(dc), conn)
        });
    }
    for (c, r, conn) in to_ext {
        bundles.push(bundle(
            Side::Class(c),
            Side::One(Node::External(dst_ranges[r])),
            conn,
        ));
    }
    for (r, c, conn) in from_ext {
        bundles.push(bundle(
            Side::One(Node::External(src_ranges[r])),
            Side::Class(c),
            conn,
        ));
    }
    for (id, conn) in crate::ingress::controller_edges(&ev) {
        bundles.push(bundle(
            Side::One(Node::IngressController),
            Side::One(Node::Endpoint(id)),
            Arc::new(conn),
        ));
    }
    let fqdns = if ev.uses_cilium() {
        fqdn_destinations(cluster)
    } else {
        Vec::new()
    };
    for (i, pattern) in fqdns.iter().enumerate() {
        let name = representative_name(pattern);
        for c in 0..classes.len() as u32 {
            let conn = ev.pair_allowed(
                Peer::Endpoint(rep(c)),
                Peer::Fqdn {
                    name: &name,
                    ip: None,
                },
            );
            if !conn.is_empty() {
                bundles.push(bundle(
                    Side::Class(c),
                    Side::One(Node::Fqdn(i as u32)),
                    Arc::new(conn),
                ));
            }
        }
    }
    // workloads by (namespace, name, kind): pods of one workload are one endpoint already,
    // but two endpoints may still name one workload
    let mut workloads: std::collections::HashMap<(&str, &str, &str), u32> =
        std::collections::HashMap::new();
    let workload_of = cluster
        .endpoints
        .iter()
        .map(|e| {
            let next = workloads.len() as u32;
            *workloads
                .entry((e.namespace.as_str(), e.name.as_str(), e.kind.as_str()))
                .or_insert(next)
        })
        .collect();
    Connectivity {
        bundles,
        members: classes.members,
        workload_of,
        src_ranges,
        dst_ranges,
        fqdns,
    }
}

/// The L7 constraints on `conn` from `src` to `dst`: the destination's ingress rules and the
/// source's egress rules.
fn l7_notes(
    ev: &Evaluator<'_>,
    src: Peer<'_>,
    dst: Peer<'_>,
    conn: &ConnSet,
) -> Option<Arc<Vec<(ConnSet, L7Rules)>>> {
    let mut notes = Vec::new();
    if let Peer::Endpoint(d) = dst {
        notes.extend(ev.cilium_l7(d, src, crate::eval::Direction::Ingress));
    }
    if let Peer::Endpoint(s) = src {
        notes.extend(ev.cilium_l7(s, dst, crate::eval::Direction::Egress));
    }
    let notes: Vec<(ConnSet, L7Rules)> = notes
        .into_iter()
        .filter_map(|(c, r)| {
            let c = c.intersect(conn);
            (!c.is_empty()).then_some((c, r))
        })
        .collect();
    (!notes.is_empty()).then(|| Arc::new(notes))
}

/// Class-to-range and range-to-class connections.
pub(crate) type ExternalEdges = (
    Vec<(u32, usize, Arc<ConnSet>)>,
    Vec<(usize, u32, Arc<ConnSet>)>,
);

/// Every layer, per class and external range (used when admin policies exist).
fn general_external_edges(
    ev: &Evaluator<'_>,
    classes: &Classes,
    src_ranges: &[IpRange],
    dst_ranges: &[IpRange],
) -> ExternalEdges {
    let n = classes.len() as u32;
    let rep = |c: u32| &ev.cluster.endpoints[classes.representative(c as usize)];
    let to: Vec<(u32, usize, Arc<ConnSet>)> = (0..n)
        .into_par_iter()
        .flat_map_iter(|c| {
            dst_ranges.iter().enumerate().filter_map(move |(i, r)| {
                let conn = ev.pair_allowed(Peer::Endpoint(rep(c)), Peer::Ip(r));
                (!conn.is_empty()).then(|| (c, i, Arc::new(conn)))
            })
        })
        .collect();
    let from: Vec<(usize, u32, Arc<ConnSet>)> = (0..n)
        .into_par_iter()
        .flat_map_iter(|c| {
            src_ranges.iter().enumerate().filter_map(move |(i, r)| {
                let conn = ev.pair_allowed(Peer::Ip(r), Peer::Endpoint(rep(c)));
                (!conn.is_empty()).then(|| (i, c, Arc::new(conn)))
            })
        })
        .collect();
    (to, from)
}

/// Every layer, per class pair (used when admin policies exist).
fn general_class_edges(ev: &Evaluator<'_>, classes: &Classes) -> Vec<(u32, u32, Arc<ConnSet>)> {
    let n = classes.len() as u32;
    (0..n)
        .into_par_iter()
        .flat_map_iter(|s| {
            let src = &ev.cluster.endpoints[classes.representative(s as usize)];
            (0..n).filter_map(move |d| {
                let dst = &ev.cluster.endpoints[classes.representative(d as usize)];
                let c = ev.pair_allowed(Peer::Endpoint(src), Peer::Endpoint(dst));
                (!c.is_empty()).then(|| (s, d, Arc::new(c)))
            })
        })
        .collect()
}
