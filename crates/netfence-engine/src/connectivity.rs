//! The connectivity map of a whole cluster: allowed connections between every pair of
//! workloads, and between workloads and cluster-external address ranges.
//!
//! Every profile and dialect takes one path over endpoint classes (see `class_map`): each class
//! pair is decided by the same layered evaluation a single flow gets, once per distinct answer,
//! so the cost follows the number of classes and allowed connections rather than pod pairs, and
//! the map cannot disagree with `query`. Classes are expanded back to workloads only at the
//! end, sharing one connection set per class pair.

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
use crate::datapath::DataPath;
use crate::eval::{Evaluator, Peer};

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
#[derive(Debug, Clone, Copy)]
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

/// L7 rules a connection's requests must match, per set of ports (Cilium).
type L7Notes = Option<Arc<Vec<(ConnSet, L7Rules)>>>;

/// A class-to-class bundle: source and destination class, and an index into `conns`.
#[derive(Debug, Clone, Copy)]
struct ClassPair {
    src: u32,
    dst: u32,
    conn: u32,
}

/// The connectivity map. It is kept per class of endpoints, so its size grows with classes,
/// not with pod pairs; [`Connectivity::edges`] expands it to endpoint pairs as it iterates.
#[derive(Debug, Clone, Default)]
pub struct Connectivity {
    /// Class-to-class connections (most of a map), 12 bytes each, grouped by source class.
    pairs: Vec<ClassPair>,
    /// Where each source class's pairs start in `pairs` (one more entry than classes).
    pair_start: Vec<u32>,
    /// The distinct connection sets (and L7 notes) of `pairs`.
    conns: Vec<(Arc<ConnSet>, L7Notes)>,
    /// The other bundles: with an external range, the ingress controller or an FQDN.
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
    /// The map as a description of the port protocols (TCP, UDP, SCTP), as netpol-analyzer
    /// describes connections: each set's ICMP becomes every type where every port is allowed,
    /// none elsewhere (see [`ConnSet::ports_view`]).
    pub fn ports_view(mut self) -> Self {
        for (conn, _) in &mut self.conns {
            *conn = Arc::new(conn.ports_view());
        }
        for b in &mut self.bundles {
            b.conn = Arc::new(b.conn.ports_view());
        }
        self
    }

    /// Allowed, non-empty connections between nodes (a workload to itself excluded), in a
    /// stable order: class pairs, then external ranges, the ingress controller and FQDNs.
    pub fn edges(&self) -> impl Iterator<Item = Edge> + '_ {
        self.all_bundles().flat_map(move |(src, dst, conn, l7)| {
            self.side(src)
                .flat_map(move |s| self.expand(s, dst, conn, l7))
        })
    }

    /// The edges from node `src` to the nodes of `dst` (a workload never to itself).
    fn expand<'s>(
        &'s self,
        src: Node,
        dst: Side,
        conn: &'s Arc<ConnSet>,
        l7: &'s L7Notes,
    ) -> impl Iterator<Item = Edge> + 's {
        let ws = self.workload(src);
        self.side(dst).filter_map(move |d| {
            let same = src == d || ws.is_some() && ws == self.workload(d);
            (!same).then(|| Edge {
                src,
                dst: d,
                conn: conn.clone(),
                l7: l7.clone(),
            })
        })
    }

    /// Every bundle, class pairs first, as (source, destination, connection, L7 notes).
    fn all_bundles(&self) -> impl Iterator<Item = (Side, Side, &Arc<ConnSet>, &L7Notes)> + '_ {
        self.pairs
            .iter()
            .filter_map(|p| {
                let (conn, l7) = self.conns.get(p.conn as usize)?;
                Some((Side::Class(p.src), Side::Class(p.dst), conn, l7))
            })
            .chain(self.bundles.iter().map(|b| (b.src, b.dst, &b.conn, &b.l7)))
    }

    /// The nodes of one side of a bundle.
    fn side(&self, side: Side) -> impl Iterator<Item = Node> + Clone + '_ {
        let (members, one): (&[EndpointId], Option<Node>) = match side {
            Side::Class(c) => (
                self.members
                    .get(c as usize)
                    .map(Vec::as_slice)
                    .unwrap_or_default(),
                None,
            ),
            Side::One(n) => (&[], Some(n)),
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
        self.pairs.iter().filter_map(move |p| {
            let (conn, _) = self.conns.get(p.conn as usize)?;
            Some((members(p.src), members(p.dst), conn))
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
                self.side(b.dst).map(move |dst| Edge {
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
        for src in self
            .pair_classes()
            .chain(self.bundles.iter().map(|b| b.src))
        {
            for n in self.side(src) {
                if seen.insert(n) {
                    out.push(n);
                }
            }
        }
        out
    }

    /// Each source class that has pairs, once.
    fn pair_classes(&self) -> impl Iterator<Item = Side> + '_ {
        self.pair_start
            .windows(2)
            .enumerate()
            .filter(|(_, w)| matches!(w, [a, b] if a < b))
            .map(|(c, _)| Side::Class(c as u32))
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
        let class = match src {
            Node::Endpoint(e) => index.class_of.get(e).copied(),
            _ => None,
        };
        let pairs: &[ClassPair] = class
            .and_then(|c| {
                let from = *self.pair_start.get(c as usize)? as usize;
                let to = *self.pair_start.get(c as usize + 1)? as usize;
                self.pairs.get(from..to)
            })
            .unwrap_or_default();
        let bundles: &[u32] = match src {
            Node::Endpoint(_) => class
                .and_then(|c| index.by_class.get(c as usize))
                .map(Vec::as_slice)
                .unwrap_or_default(),
            other => index
                .by_node
                .get(&other)
                .map(Vec::as_slice)
                .unwrap_or_default(),
        };
        pairs
            .iter()
            .filter_map(|p| {
                let (conn, l7) = self.conns.get(p.conn as usize)?;
                Some((Side::Class(p.dst), conn, l7))
            })
            .chain(
                bundles
                    .iter()
                    .filter_map(|&i| self.bundles.get(i as usize))
                    .map(|b| (b.dst, &b.conn, &b.l7)),
            )
            .flat_map(move |(dst, conn, l7)| self.expand(src, dst, conn, l7))
    }

    /// The number of edges, counted without expanding them.
    pub fn edge_count(&self) -> usize {
        self.edges().count()
    }
}

/// Every DNS name or pattern of the policies `profile` enforces (Cilium `toFQDNs`,
/// ClusterNetworkPolicy `domainNames`), sorted.
pub fn fqdn_destinations(
    cluster: &Cluster,
    profile: impl std::convert::Into<DataPath>,
) -> Vec<String> {
    let profile: DataPath = profile.into();
    let mut v: Vec<String> = Vec::new();
    if profile.cni.enforces_cilium_policies() {
        v.extend(
            cluster
                .policies
                .cilium_policies()
                .iter()
                .flat_map(|p| &p.rules)
                .flat_map(|r| &r.egress)
                .flat_map(|pr| pr.peers.iter().flatten())
                .filter_map(|p| match p {
                    netfence_model::CiliumPeer::Fqdn(f) => Some(f.pattern.clone()),
                    _ => None,
                }),
        );
    }
    if profile.enforces_cluster_network_policies() {
        v.extend(
            cluster
                .policies
                .cluster_network_policies()
                .iter()
                .flat_map(|p| &p.egress)
                .flat_map(|r| &r.peers)
                .filter_map(|p| match p {
                    AdminPeer::DomainNames(names) => Some(names.iter().map(|n| n.pattern.clone())),
                    _ => None,
                })
                .flatten(),
        );
    }
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
    let (ingress_sets, egress_sets) = policy_address_sets(cluster);
    // External ranges are IPv4, as netpol-analyzer reports them; IPv6 CIDRs are reported as
    // not modelled by the loader.
    let universe = |_: &[IpSet]| IpSet::all_v4();
    let src = IpSet::disjoint_ranges(&universe(&ingress_sets), ingress_sets.iter());
    let dst = IpSet::disjoint_ranges(&universe(&egress_sets), egress_sets.iter());
    (src, dst)
}

/// Every address set a CNI policy names, as peers of ingress rules and of egress rules:
/// NetworkPolicy ipBlocks, admin `networks`, Cilium CIDRs (CIDR groups are resolved to them),
/// Calico nets and the network sets its selectors can match.
pub(crate) fn policy_address_sets(cluster: &Cluster) -> (Vec<IpSet>, Vec<IpSet>) {
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
    for np in cluster.policies.network_policies() {
        collect(np.ingress.as_ref(), &mut ingress_sets);
        collect(np.egress.as_ref(), &mut egress_sets);
    }
    for anp in cluster
        .policies
        .admin_policies()
        .iter()
        .chain(cluster.policies.baseline_policy())
        .chain(cluster.policies.cluster_network_policies())
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
    for p in cluster.policies.cilium_policies() {
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
    for p in cluster.policies.calico_policies() {
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
    // NetworkSets give addresses labels that Calico rule selectors match
    if !cluster.policies.calico_policies().is_empty() {
        for set in cluster.policies.calico_network_sets() {
            ingress_sets.push(set.nets.clone());
            egress_sets.push(set.nets.clone());
        }
    }
    (ingress_sets, egress_sets)
}

/// One source class's edges, made on the core that computed them: each destination, and the
/// index of what it allows among the source's distinct sets.
struct SourceEdges {
    dsts: Vec<u32>,
    local: Vec<u32>,
    /// The source's distinct sets (by identity), and each set with L7 notes on its own.
    sets: Vec<(Arc<ConnSet>, L7Notes)>,
}

impl SourceEdges {
    fn new<'a>(
        s: u32,
        out: Vec<(u32, Arc<ConnSet>)>,
        rep: &(impl Fn(u32) -> &'a netfence_model::Endpoint + Sync),
        notes: &(impl Fn(Peer<'_>, Peer<'_>, &ConnSet) -> L7Notes + Sync),
    ) -> Self {
        let mut e = SourceEdges {
            dsts: Vec::with_capacity(out.len()),
            local: Vec::with_capacity(out.len()),
            sets: Vec::new(),
        };
        // sets without notes by address; a destination mostly gets the set the one before got
        let mut index: std::collections::HashMap<usize, usize> = Default::default();
        let mut last: Option<(usize, usize)> = None;
        for (d, conn) in out {
            let l = match notes(Peer::Endpoint(rep(s)), Peer::Endpoint(rep(d)), &conn) {
                None => {
                    let ptr = Arc::as_ptr(&conn) as usize;
                    match last {
                        Some((p, i)) if p == ptr => i,
                        _ => {
                            let i = *index.entry(ptr).or_insert_with(|| {
                                e.sets.push((conn, None));
                                e.sets.len() - 1
                            });
                            last = Some((ptr, i));
                            i
                        }
                    }
                }
                Some(n) => {
                    e.sets.push((conn, Some(n)));
                    e.sets.len() - 1
                }
            };
            e.dsts.push(d);
            e.local.push(l as u32);
        }
        e
    }
}

/// An edge into a class: its source (a class or an external range), the class, the set.
type Into<T> = (T, u32, Arc<ConnSet>);

/// The map's edges less what the mesh refuses, decided per destination class (one
/// [`crate::mesh::MeshAtDestination`] each, its answers shared by callers the mesh cannot tell
/// apart); edges keep their order, those left empty are dropped.
fn mesh_filter<'a>(
    ev: &Evaluator<'a>,
    rep: impl Fn(u32) -> &'a netfence_model::Endpoint + Sync,
    class_edges: Vec<Into<u32>>,
    from_ext: Vec<Into<usize>>,
    src_ranges: &[IpRange],
) -> (Vec<Into<u32>>, Vec<Into<usize>>) {
    let mut groups: std::collections::BTreeMap<u32, (Vec<usize>, Vec<usize>)> = Default::default();
    for (i, e) in class_edges.iter().enumerate() {
        groups.entry(e.1).or_default().0.push(i);
    }
    for (i, e) in from_ext.iter().enumerate() {
        groups.entry(e.1).or_default().1.push(i);
    }
    type Kept = Vec<(usize, Option<Arc<ConnSet>>)>;
    let decided: Vec<(Kept, Kept)> = groups
        .into_par_iter()
        .map(|(d, (internal, external))| {
            let Some(mut mesh) = crate::mesh::MeshAtDestination::new(ev, rep(d)) else {
                return (Vec::new(), Vec::new());
            };
            let mut keep = |src: Peer<'_>, conn: &ConnSet| {
                let m = mesh.filter(src, conn);
                (!m.is_empty()).then(|| Arc::new(m))
            };
            let a = internal
                .into_iter()
                .map(|i| {
                    (
                        i,
                        keep(Peer::Endpoint(rep(class_edges[i].0)), &class_edges[i].2),
                    )
                })
                .collect();
            let b = external
                .into_iter()
                .map(|i| {
                    (
                        i,
                        keep(Peer::Ip(&src_ranges[from_ext[i].0]), &from_ext[i].2),
                    )
                })
                .collect();
            (a, b)
        })
        .collect();
    let mut class_edges: Vec<Option<Into<u32>>> = class_edges.into_iter().map(Some).collect();
    let mut from_ext: Vec<Option<Into<usize>>> = from_ext.into_iter().map(Some).collect();
    for (internal, external) in decided {
        for (i, conn) in internal {
            class_edges[i] = conn.and_then(|c| class_edges[i].take().map(|(s, d, _)| (s, d, c)));
        }
        for (i, conn) in external {
            from_ext[i] = conn.and_then(|c| from_ext[i].take().map(|(r, d, _)| (r, d, c)));
        }
    }
    (
        class_edges.into_iter().flatten().collect(),
        from_ext.into_iter().flatten().collect(),
    )
}

/// Computes the connectivity map of `cluster` under `profile` (see [`compute_with_ranges`]
/// for ICMP).
pub fn compute(cluster: &Cluster, profile: impl std::convert::Into<DataPath>) -> Connectivity {
    let (src_ranges, dst_ranges) = external_ranges(cluster);
    compute_with_ranges(cluster, profile, src_ranges, dst_ranges)
}

/// Computes the connectivity map with external ranges chosen by the caller (each range must be
/// either inside or outside every CIDR of the cluster's policies: a refinement of
/// [`external_ranges`]), so two clusters can be compared range by range.
///
/// When no policy names ICMP, the map describes the port protocols only, as netpol-analyzer
/// does ([`Connectivity::ports_view`]: its sets' ICMP is then not ICMP's verdict, which
/// `query` gives). No pair is lost: without a rule naming ICMP, no pair allows ICMP alone.
/// [`compute_full`] keeps ICMP as computed.
pub fn compute_with_ranges(
    cluster: &Cluster,
    profile: impl std::convert::Into<DataPath>,
    src_ranges: Vec<IpRange>,
    dst_ranges: Vec<IpRange>,
) -> Connectivity {
    let map = compute_full(cluster, profile, src_ranges, dst_ranges);
    if cluster.policies.name_icmp() {
        map
    } else {
        map.ports_view()
    }
}

/// [`compute_with_ranges`], ICMP kept as computed whether or not a policy names it.
pub fn compute_full(
    cluster: &Cluster,
    profile: impl std::convert::Into<DataPath>,
    src_ranges: Vec<IpRange>,
    dst_ranges: Vec<IpRange>,
) -> Connectivity {
    let profile: DataPath = profile.into();
    let ev = Evaluator::new(cluster, profile);
    let classes = Classes::with_facts(cluster, ev.facts());
    // One path for every profile and dialect: each class pair is decided by the layered
    // evaluation `query` explains, once per distinct answer (see `class_map`).
    let map = crate::class_map::ClassMap::build(&ev, &classes);
    let (to_ext, mut from_ext) = map.external_edges(&src_ranges, &dst_ranges);
    let has_l7 = ev.uses_cilium()
        && cluster
            .policies
            .cilium_policies()
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
    // L7 rules bind any peer: a class, or an external range (HTTP to a CIDR, TLS names)
    let notes = |src: Peer<'_>, dst: Peer<'_>, conn: &ConnSet| {
        if has_l7 {
            l7_notes(&ev, src, dst, conn)
        } else {
            None
        }
    };
    let by_source: Vec<SourceEdges> = if ev.has_mesh_policies() {
        // The mesh decides at the destination's proxy, after the CNI: it filters the map, one
        // destination class at a time.
        let class_edges;
        (class_edges, from_ext) = mesh_filter(&ev, rep, map.class_edges(), from_ext, &src_ranges);
        let mut grouped = vec![Vec::new(); classes.len()];
        for (s, d, c) in class_edges {
            grouped[s as usize].push((d, c));
        }
        grouped
            .into_par_iter()
            .enumerate()
            .map(|(s, out)| SourceEdges::new(s as u32, out, &rep, &notes))
            .collect()
    } else {
        map.per_source(|s, out| SourceEdges::new(s, out, &rep, &notes))
    };
    let mut bundles = Vec::with_capacity(to_ext.len() + from_ext.len());
    let bundle = |src: Side, dst: Side, conn: Arc<ConnSet>| Bundle {
        src,
        dst,
        conn,
        l7: None,
    };
    // Connection sets interned by identity, in source order: each source's few distinct sets
    // get their ids here; a set with L7 notes is kept apart (the notes are made per pair).
    // (every interned set stays alive in `conns`, so no address is reused while interning)
    let mut conns: Vec<(Arc<ConnSet>, L7Notes)> = Vec::new();
    let mut conn_ids: std::collections::HashMap<usize, u32> = Default::default();
    let mut pair_start = Vec::with_capacity(classes.len() + 1);
    pair_start.push(0u32);
    let ids: Vec<Vec<u32>> = by_source
        .iter()
        .map(|e| {
            pair_start.push(pair_start.last().copied().unwrap_or(0) + e.dsts.len() as u32);
            e.sets
                .iter()
                .map(|(conn, l7)| match l7 {
                    None => *conn_ids
                        .entry(Arc::as_ptr(conn) as usize)
                        .or_insert_with(|| {
                            conns.push((conn.clone(), None));
                            (conns.len() - 1) as u32
                        }),
                    Some(n) => {
                        conns.push((conn.clone(), Some(n.clone())));
                        (conns.len() - 1) as u32
                    }
                })
                .collect()
        })
        .collect();
    // class pairs grouped by source class, written on every core
    let mut pairs = vec![
        ClassPair {
            src: 0,
            dst: 0,
            conn: 0
        };
        pair_start.last().copied().unwrap_or(0) as usize
    ];
    let mut slices = Vec::with_capacity(by_source.len());
    let mut rest = pairs.as_mut_slice();
    for e in &by_source {
        let (head, tail) = rest.split_at_mut(e.dsts.len());
        slices.push(head);
        rest = tail;
    }
    slices
        .into_par_iter()
        .zip(by_source.par_iter().zip(&ids))
        .enumerate()
        .for_each(|(s, (slice, (e, ids)))| {
            for ((p, &d), &l) in slice.iter_mut().zip(&e.dsts).zip(&e.local) {
                *p = ClassPair {
                    src: s as u32,
                    dst: d,
                    conn: ids[l as usize],
                };
            }
        });
    for (c, r, conn) in to_ext {
        let l7 = notes(Peer::Endpoint(rep(c)), Peer::Ip(&dst_ranges[r]), &conn);
        bundles.push(Bundle {
            l7,
            ..bundle(
                Side::Class(c),
                Side::One(Node::External(dst_ranges[r])),
                conn,
            )
        });
    }
    for (r, c, conn) in from_ext {
        let l7 = notes(Peer::Ip(&src_ranges[r]), Peer::Endpoint(rep(c)), &conn);
        bundles.push(Bundle {
            l7,
            ..bundle(
                Side::One(Node::External(src_ranges[r])),
                Side::Class(c),
                conn,
            )
        });
    }
    for (id, conn) in crate::ingress::controller_edges(&ev) {
        bundles.push(bundle(
            Side::One(Node::IngressController),
            Side::One(Node::Endpoint(id)),
            Arc::new(conn),
        ));
    }
    let fqdns = fqdn_destinations(cluster, profile);
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
        pairs,
        pair_start,
        conns,
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

/// An allow rule that is dead: every peer it allows something with refuses it entirely on its
/// own side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneSided {
    /// The endpoint whose rule allows (the source for egress, the destination for ingress).
    pub near: EndpointId,
    /// The side of `near` whose rule allows: egress or ingress.
    pub allowed_by: netfence_model::Direction,
    /// The refusing peers (endpoints).
    pub far: Vec<EndpointId>,
    /// What the rule's side allows with the first of them.
    pub conn: ConnSet,
}

/// Every dead allow rule under `profile`: rules of an isolated side all of whose peers refuse
/// it entirely (both sides isolated in their direction).
pub fn one_sided(cluster: &Cluster, profile: impl std::convert::Into<DataPath>) -> Vec<OneSided> {
    let ev = Evaluator::new(cluster, profile);
    let classes = Classes::with_facts(cluster, ev.facts());
    let map = crate::class_map::ClassMap::build(&ev, &classes);
    let members = |c: u32| classes.members.get(c as usize).cloned().unwrap_or_default();
    let mut out: Vec<OneSided> = map
        .one_sided()
        .into_iter()
        .flat_map(|(c, dir, refused, conn)| {
            let far: Vec<EndpointId> = refused.iter().flat_map(|&o| members(o)).collect();
            members(c).into_iter().map(move |near| OneSided {
                near,
                allowed_by: dir,
                far: far.clone(),
                conn: conn.clone(),
            })
        })
        .collect();
    out.sort_by(|a, b| {
        (
            a.near,
            a.allowed_by == netfence_model::Direction::Ingress,
            &a.far,
        )
            .cmp(&(
                b.near,
                b.allowed_by == netfence_model::Direction::Ingress,
                &b.far,
            ))
    });
    out.dedup();
    out
}
