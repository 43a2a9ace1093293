//! The connectivity map of a whole cluster: allowed connections between every pair of
//! workloads, and between workloads and cluster-external address ranges.
//!
//! NetworkPolicy-only clusters take a fast path over endpoint classes: egress and ingress
//! allowances are compiled once per class into a default plus sparse exceptions, with connection
//! sets interned, so the cost follows the number of classes and allowed connections rather than
//! pod pairs. Clusters with admin policies are evaluated per class pair through every layer.

use std::collections::{HashMap, HashSet};

use rayon::prelude::*;

use netfence_model::{AdminPeer, Cluster, ConnSet, EndpointId, IpRange, IpSet, NpPeer, NpRule};

use crate::classes::Classes;
use crate::eval::{
    has_named_port, np_rule_ports_to, np_rule_ports_unknown, rules_of, Direction, Evaluator, Peer,
};
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
}

/// An allowed connection set between two nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    /// Source.
    pub src: Node,
    /// Destination.
    pub dst: Node,
    /// What is allowed.
    pub conn: ConnSet,
}

/// The connectivity map.
#[derive(Debug, Clone, Default)]
pub struct Connectivity {
    /// Allowed, non-empty connections (a workload to itself excluded).
    pub edges: Vec<Edge>,
    /// External source ranges (cut at every ingress CIDR).
    pub src_ranges: Vec<IpRange>,
    /// External destination ranges (cut at every egress CIDR).
    pub dst_ranges: Vec<IpRange>,
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
    // External ranges are IPv4, as netpol-analyzer reports them; IPv6 CIDRs are reported as
    // not modelled by the loader.
    let universe = |_: &[IpSet]| IpSet::all_v4();
    let src = IpSet::disjoint_ranges(&universe(&ingress_sets), ingress_sets.iter());
    let dst = IpSet::disjoint_ranges(&universe(&egress_sets), egress_sets.iter());
    (src, dst)
}

/// Computes the connectivity map of `cluster` under `profile`.
pub fn compute(cluster: &Cluster, profile: Profile) -> Connectivity {
    let ev = Evaluator::new(cluster, profile);
    let classes = Classes::new(cluster);
    let (src_ranges, dst_ranges) = external_ranges(cluster);
    let class_edges = if ev.has_admin_policies() {
        general_class_edges(&ev, &classes)
    } else {
        ClassMatrix::build(&ev, &classes).edges()
    };
    let mut edges = Vec::new();
    for (sc, dc, conn) in class_edges {
        let (Some(sm), Some(dm)) = (classes.members.get(sc), classes.members.get(dc)) else {
            continue;
        };
        for &s in sm {
            for &d in dm {
                if s != d && !same_workload(cluster, s, d) {
                    edges.push(Edge {
                        src: Node::Endpoint(s),
                        dst: Node::Endpoint(d),
                        conn: conn.clone(),
                    });
                }
            }
        }
    }
    let eps: Vec<EndpointId> = (0..cluster.endpoints.len()).collect();
    let ip_edges: Vec<Edge> = eps
        .par_iter()
        .flat_map_iter(|&id| {
            let ep = &cluster.endpoints[id];
            let mut out = Vec::new();
            for r in &src_ranges {
                let c = ev.pair_allowed(Peer::Ip(r), Peer::Endpoint(ep));
                if !c.is_empty() {
                    out.push(Edge {
                        src: Node::External(*r),
                        dst: Node::Endpoint(id),
                        conn: c,
                    });
                }
            }
            for r in &dst_ranges {
                let c = ev.pair_allowed(Peer::Endpoint(ep), Peer::Ip(r));
                if !c.is_empty() {
                    out.push(Edge {
                        src: Node::Endpoint(id),
                        dst: Node::External(*r),
                        conn: c,
                    });
                }
            }
            out
        })
        .collect();
    edges.extend(ip_edges);
    for (id, conn) in crate::ingress::controller_edges(&ev) {
        edges.push(Edge {
            src: Node::IngressController,
            dst: Node::Endpoint(id),
            conn,
        });
    }
    Connectivity {
        edges,
        src_ranges,
        dst_ranges,
    }
}

fn same_workload(cluster: &Cluster, a: EndpointId, b: EndpointId) -> bool {
    match (cluster.endpoints.get(a), cluster.endpoints.get(b)) {
        (Some(x), Some(y)) => x.namespace == y.namespace && x.name == y.name && x.kind == y.kind,
        _ => false,
    }
}

/// Every layer, per class pair (used when admin policies exist).
fn general_class_edges(ev: &Evaluator<'_>, classes: &Classes) -> Vec<(usize, usize, ConnSet)> {
    let n = classes.len();
    (0..n)
        .into_par_iter()
        .flat_map_iter(|s| {
            let src = &ev.cluster.endpoints[classes.representative(s)];
            (0..n).filter_map(move |d| {
                let dst = &ev.cluster.endpoints[classes.representative(d)];
                let c = ev.pair_allowed(Peer::Endpoint(src), Peer::Endpoint(dst));
                (!c.is_empty()).then_some((s, d, c))
            })
        })
        .collect()
}

/// Interned connection sets: id 0 is "none", id 1 is "all".
struct Interner {
    sets: Vec<ConnSet>,
    index: HashMap<ConnSet, u32>,
    unions: HashMap<(u32, u32), u32>,
}

const NONE: u32 = 0;
const ALL: u32 = 1;

impl Interner {
    fn new() -> Self {
        let mut i = Self {
            sets: Vec::new(),
            index: HashMap::new(),
            unions: HashMap::new(),
        };
        i.intern(ConnSet::none());
        i.intern(ConnSet::all());
        i
    }

    fn intern(&mut self, c: ConnSet) -> u32 {
        if let Some(&id) = self.index.get(&c) {
            return id;
        }
        let id = self.sets.len() as u32;
        self.sets.push(c.clone());
        self.index.insert(c, id);
        id
    }

    fn get(&self, id: u32) -> &ConnSet {
        &self.sets[id as usize]
    }

    fn union(&mut self, a: u32, b: u32) -> u32 {
        if a == b || b == NONE || a == ALL {
            return a;
        }
        if a == NONE || b == ALL {
            return b;
        }
        let key = if a < b { (a, b) } else { (b, a) };
        if let Some(&id) = self.unions.get(&key) {
            return id;
        }
        let u = self.get(a).union(self.get(b));
        let id = self.intern(u);
        self.unions.insert(key, id);
        id
    }
}

/// Per-class egress and ingress allowances of a NetworkPolicy-only cluster.
struct ClassMatrix {
    n: usize,
    interner: Interner,
    egress_isolated: Vec<bool>,
    ingress_isolated: Vec<bool>,
    egress_default: Vec<u32>,
    egress_sparse: Vec<HashMap<u32, u32>>,
    ingress_default: Vec<u32>,
    ingress_sparse: Vec<HashMap<u32, u32>>,
}

impl ClassMatrix {
    fn build(ev: &Evaluator<'_>, classes: &Classes) -> Self {
        let n = classes.len();
        let cluster = ev.cluster;
        let rep = |c: usize| &cluster.endpoints[classes.representative(c)];
        let mut m = ClassMatrix {
            n,
            interner: Interner::new(),
            egress_isolated: vec![false; n],
            ingress_isolated: vec![false; n],
            egress_default: vec![NONE; n],
            egress_sparse: vec![HashMap::new(); n],
            ingress_default: vec![NONE; n],
            ingress_sparse: vec![HashMap::new(); n],
        };
        let empty: Vec<usize> = Vec::new();
        for np in &cluster.network_policies {
            let in_ns = classes.by_namespace.get(&np.namespace).unwrap_or(&empty);
            let subjects: Vec<usize> = in_ns
                .iter()
                .copied()
                .filter(|&c| np.pod_selector.matches(&rep(c).labels))
                .collect();
            if subjects.is_empty() {
                continue;
            }
            for dir in [Direction::Egress, Direction::Ingress] {
                let Some(rules) = rules_of(np, dir) else {
                    continue;
                };
                for &s in &subjects {
                    match dir {
                        Direction::Egress => m.egress_isolated[s] = true,
                        Direction::Ingress => m.ingress_isolated[s] = true,
                    }
                }
                for rule in rules {
                    let peers = rule
                        .peers
                        .as_ref()
                        .map(|_| peer_classes(ev, classes, np, rule));
                    let named = has_named_port(&rule.ports);
                    match dir {
                        Direction::Egress => {
                            // Named ports resolve on the destination class.
                            let constant = (!named)
                                .then(|| m.interner.intern(np_rule_ports_unknown(&rule.ports)));
                            let dsts: Vec<usize> = match &peers {
                                Some(p) => p.clone(),
                                None if named => (0..n).collect(),
                                None => Vec::new(),
                            };
                            let per_dst: Vec<(u32, u32)> = dsts
                                .iter()
                                .map(|&d| {
                                    let id = match constant {
                                        Some(id) => id,
                                        None => {
                                            m.interner.intern(np_rule_ports_to(&rule.ports, rep(d)))
                                        }
                                    };
                                    (d as u32, id)
                                })
                                .collect();
                            for &s in &subjects {
                                if peers.is_none() && !named {
                                    if let Some(id) = constant {
                                        m.egress_default[s] =
                                            m.interner.union(m.egress_default[s], id);
                                    }
                                    continue;
                                }
                                for &(d, id) in &per_dst {
                                    let cur = m.egress_sparse[s].get(&d).copied().unwrap_or(NONE);
                                    let u = m.interner.union(cur, id);
                                    m.egress_sparse[s].insert(d, u);
                                }
                            }
                        }
                        Direction::Ingress => {
                            for &d in &subjects {
                                // Named ports resolve on the subject itself.
                                let id = m.interner.intern(np_rule_ports_to(&rule.ports, rep(d)));
                                match &peers {
                                    None => {
                                        m.ingress_default[d] =
                                            m.interner.union(m.ingress_default[d], id)
                                    }
                                    Some(srcs) => {
                                        for &s in srcs {
                                            let cur = m.ingress_sparse[d]
                                                .get(&(s as u32))
                                                .copied()
                                                .unwrap_or(NONE);
                                            let u = m.interner.union(cur, id);
                                            m.ingress_sparse[d].insert(s as u32, u);
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        m
    }

    fn egress(&self, s: usize, d: usize) -> (u32, u32) {
        if !self.egress_isolated[s] {
            return (ALL, NONE);
        }
        let sparse = self.egress_sparse[s]
            .get(&(d as u32))
            .copied()
            .unwrap_or(NONE);
        (self.egress_default[s], sparse)
    }

    fn ingress(&self, d: usize, s: usize) -> (u32, u32) {
        if !self.ingress_isolated[d] {
            return (ALL, NONE);
        }
        let sparse = self.ingress_sparse[d]
            .get(&(s as u32))
            .copied()
            .unwrap_or(NONE);
        (self.ingress_default[d], sparse)
    }

    /// Destination candidates of `s`: every class unless `s` is egress-isolated with no default.
    fn candidates(&self, s: usize) -> Box<dyn Iterator<Item = usize> + '_> {
        if !self.egress_isolated[s] || self.egress_default[s] != NONE {
            Box::new(0..self.n)
        } else {
            let mut v: Vec<usize> = self.egress_sparse[s].keys().map(|&d| d as usize).collect();
            v.sort_unstable();
            Box::new(v.into_iter())
        }
    }

    /// Allowed class pairs with their connection sets.
    fn edges(mut self) -> Vec<(usize, usize, ConnSet)> {
        // Pass 1: the distinct (egress, ingress) id combinations that occur.
        let combos: HashSet<[u32; 4]> = (0..self.n)
            .into_par_iter()
            .fold(HashSet::new, |mut acc, s| {
                for d in self.candidates(s) {
                    let (e0, e1) = self.egress(s, d);
                    if e0 == NONE && e1 == NONE {
                        continue;
                    }
                    let (i0, i1) = self.ingress(d, s);
                    acc.insert([e0, e1, i0, i1]);
                }
                acc
            })
            .reduce(HashSet::new, |mut a, b| {
                a.extend(b);
                a
            });
        // Compute each combination once.
        let mut result: HashMap<[u32; 4], Option<ConnSet>> = HashMap::with_capacity(combos.len());
        #[expect(
            clippy::iter_over_hash_type,
            reason = "results go into a map; order is irrelevant"
        )]
        for key in combos {
            let [e0, e1, i0, i1] = key;
            let e = self.interner.union(e0, e1);
            let i = self.interner.union(i0, i1);
            let c = self.interner.get(e).intersect(self.interner.get(i));
            result.insert(key, (!c.is_empty()).then_some(c));
        }
        // Pass 2: the allowed pairs.
        let this = &self;
        let result = &result;
        (0..self.n)
            .into_par_iter()
            .flat_map_iter(|s| {
                this.candidates(s).filter_map(move |d| {
                    let (e0, e1) = this.egress(s, d);
                    if e0 == NONE && e1 == NONE {
                        return None;
                    }
                    let (i0, i1) = this.ingress(d, s);
                    result
                        .get(&[e0, e1, i0, i1])
                        .and_then(|c| c.clone())
                        .map(|c| (s, d, c))
                })
            })
            .collect()
    }
}

/// The classes one rule's peers select (pods only; ipBlocks add pods only under profiles where
/// they match pod IPs).
fn peer_classes(
    ev: &Evaluator<'_>,
    classes: &Classes,
    np: &netfence_model::NetworkPolicy,
    rule: &NpRule,
) -> Vec<usize> {
    let cluster = ev.cluster;
    let rep = |c: usize| &cluster.endpoints[classes.representative(c)];
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let empty: Vec<usize> = Vec::new();
    for elem in rule.peers.iter().flatten() {
        let candidates: Vec<usize> = match elem {
            NpPeer::Pods {
                namespaces: None, ..
            } => classes
                .by_namespace
                .get(&np.namespace)
                .unwrap_or(&empty)
                .clone(),
            NpPeer::Pods {
                namespaces: Some(sel),
                ..
            } => cluster
                .namespaces
                .values()
                .filter(|ns| sel.matches(&ns.labels))
                .flat_map(|ns| {
                    classes
                        .by_namespace
                        .get(&ns.name)
                        .unwrap_or(&empty)
                        .iter()
                        .copied()
                })
                .collect(),
            NpPeer::IpBlock { .. } => {
                if ev.profile.ipblock_matches_pod_ips() {
                    (0..classes.len()).collect()
                } else {
                    continue;
                }
            }
        };
        for c in candidates {
            if !seen.contains(&c) && ev.np_peer_matches(np, elem, Peer::Endpoint(rep(c))) {
                seen.insert(c);
                out.push(c);
            }
        }
    }
    out
}
