//! NetworkPolicy compiled against endpoint classes, for the connectivity map of clusters
//! without admin policies.
//!
//! Each rule's peers become member sets of classes, shared between rules that write the same
//! selectors; each class gets the list of rules that apply to it per direction. A pair of
//! classes is then decided by testing set membership for the few rules of each side, and only
//! pairs a source may reach are visited, so the cost follows the number of classes and of
//! allowed connections. Named ports are resolved once per distinct named-port signature.

#![expect(
    clippy::indexing_slicing,
    reason = "endpoint, class, rule and flow ids index the cluster and tables they were built from"
)]
use std::collections::HashMap;
use std::sync::Arc;

use rayon::prelude::*;

use netfence_model::{ConnSet, IpRange, IpSet, NamedPort, NetworkPolicy, NpPeer, NpPort, PortRef};

use crate::classes::Classes;
use crate::eval::{has_named_port, np_rule_ports_to, rules_of, Direction, Evaluator, Peer};

/// A set of classes: sorted members, or a bitset when large.
enum ClassSet {
    Sparse(Vec<u32>),
    Dense { bits: Vec<u64>, members: Vec<u32> },
}

impl ClassSet {
    fn new(mut members: Vec<u32>, n: usize) -> Self {
        members.sort_unstable();
        members.dedup();
        if members.len() > 32 {
            let mut bits = vec![0u64; n.div_ceil(64)];
            for &m in &members {
                if let Some(w) = bits.get_mut(m as usize / 64) {
                    *w |= 1 << (m % 64);
                }
            }
            ClassSet::Dense { bits, members }
        } else {
            ClassSet::Sparse(members)
        }
    }

    fn contains(&self, c: u32) -> bool {
        match self {
            ClassSet::Sparse(v) => v.binary_search(&c).is_ok(),
            ClassSet::Dense { bits, .. } => bits
                .get(c as usize / 64)
                .is_some_and(|w| w & (1 << (c % 64)) != 0),
        }
    }

    fn members(&self) -> &[u32] {
        match self {
            ClassSet::Sparse(v) => v,
            ClassSet::Dense { members, .. } => members,
        }
    }
}

/// A rule's connections, by the receiving class's named-port signature.
struct RuleConn {
    /// Indexed by signature.
    by_sig: Vec<Arc<ConnSet>>,
    /// Towards an external address (named ports never match).
    external: Arc<ConnSet>,
}

struct CRule {
    /// `from`/`to` absent: every pod and every address.
    all_peers: bool,
    sets: Vec<u32>,
    ips: Vec<IpSet>,
    conn: RuleConn,
}

/// The compiled form.
pub(crate) struct Compiled<'a> {
    classes: &'a Classes,
    sets: Vec<ClassSet>,
    rules: Vec<CRule>,
    /// Per class: `None` when not isolated, else indices into `rules`.
    egress: Vec<Option<Vec<u32>>>,
    ingress: Vec<Option<Vec<u32>>>,
    sig_of: Vec<u32>,
    all: Arc<ConnSet>,
}

type Key = (u32, u64, u32);

/// Identity of a peer element's member set: (scope, namespace selector, pod selector, has
/// namespace selector, has pod selector).
type SetKey = (String, Vec<String>, Vec<String>, bool, bool);

#[derive(Default)]
struct Caches {
    egress: HashMap<Key, Arc<ConnSet>>,
    ingress: HashMap<Key, Arc<ConnSet>>,
    meet: HashMap<(usize, usize), Option<Arc<ConnSet>>>,
    /// Keeps every set used as a `meet` key alive, so its address stays unique.
    keep: HashMap<usize, Arc<ConnSet>>,
    seen: Vec<u32>,
    stamp: u32,
}

impl<'a> Compiled<'a> {
    pub(crate) fn build(ev: &Evaluator<'a>, classes: &'a Classes) -> Self {
        let cluster = ev.cluster;
        let n = classes.len();
        let rep = |c: usize| &cluster.endpoints[classes.representative(c)];
        // Named-port signatures.
        let mut sig_index: HashMap<Vec<NamedPort>, u32> = HashMap::new();
        let mut sig_reps: Vec<usize> = Vec::new();
        let mut sig_of = Vec::with_capacity(n);
        for c in 0..n {
            let mut np = rep(c).named_ports.clone();
            np.sort();
            let next = sig_reps.len() as u32;
            let s = *sig_index.entry(np).or_insert(next);
            if s == next {
                sig_reps.push(c);
            }
            sig_of.push(s);
        }
        let mut sets: Vec<ClassSet> = Vec::new();
        let mut set_index: HashMap<SetKey, u32> = HashMap::new();
        let mut rules: Vec<CRule> = Vec::new();
        let mut egress: Vec<Option<Vec<u32>>> = vec![None; n];
        let mut ingress: Vec<Option<Vec<u32>>> = vec![None; n];
        let empty: Vec<usize> = Vec::new();
        let mut conn_cache: HashMap<(String, Option<u32>), Arc<ConnSet>> = HashMap::new();
        let mut conn_for = |ports: &Option<Vec<NpPort>>, sig: Option<usize>| -> Arc<ConnSet> {
            let key = (format!("{ports:?}"), sig.map(|s| s as u32));
            conn_cache
                .entry(key)
                .or_insert_with(|| {
                    Arc::new(match sig {
                        Some(s) => np_rule_ports_to(ports, rep(sig_reps[s])),
                        None => external_ports(ports),
                    })
                })
                .clone()
        };
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
                let Some(np_rules) = rules_of(np, dir) else {
                    continue;
                };
                let mut ids = Vec::with_capacity(np_rules.len());
                for rule in np_rules {
                    let named = has_named_port(&rule.ports);
                    let by_sig: Vec<Arc<ConnSet>> = if named {
                        (0..sig_reps.len())
                            .map(|s| conn_for(&rule.ports, Some(s)))
                            .collect()
                    } else {
                        vec![conn_for(&rule.ports, Some(0)); sig_reps.len().max(1)]
                    };
                    let external = conn_for(&rule.ports, None);
                    let mut crule = CRule {
                        all_peers: rule.peers.is_none(),
                        sets: Vec::new(),
                        ips: Vec::new(),
                        conn: RuleConn { by_sig, external },
                    };
                    for elem in rule.peers.iter().flatten() {
                        if let NpPeer::IpBlock { set, .. } = elem {
                            crule.ips.push(set.clone());
                            if !ev.profile.ipblock_matches_pod_ips() {
                                continue;
                            }
                        }
                        let key = set_key(np, elem);
                        let id = match set_index.get(&key) {
                            Some(id) => *id,
                            None => {
                                let members = peer_members(ev, classes, np, elem);
                                let id = sets.len() as u32;
                                sets.push(ClassSet::new(members, n));
                                set_index.insert(key, id);
                                id
                            }
                        };
                        crule.sets.push(id);
                    }
                    ids.push(rules.len() as u32);
                    rules.push(crule);
                }
                let table = match dir {
                    Direction::Egress => &mut egress,
                    Direction::Ingress => &mut ingress,
                };
                for &s in &subjects {
                    table[s]
                        .get_or_insert_with(Vec::new)
                        .extend(ids.iter().copied());
                }
            }
        }
        Compiled {
            classes,
            sets,
            rules,
            egress,
            ingress,
            sig_of,
            all: Arc::new(ConnSet::all()),
        }
    }

    fn rule_has(&self, r: &CRule, c: u32) -> bool {
        r.all_peers || r.sets.iter().any(|&s| self.sets[s as usize].contains(c))
    }

    /// The union of `rules` (of class `owner`) whose peers hold `other`, with ports resolved for
    /// receiver signature `sig`; cached by which rules matched.
    fn side(
        &self,
        cache: &mut HashMap<Key, Arc<ConnSet>>,
        owner: u32,
        rules: &[u32],
        other: u32,
        sig: u32,
    ) -> Option<Arc<ConnSet>> {
        let mut mask = 0u64;
        let mut named = false;
        for (i, &r) in rules.iter().enumerate() {
            let rule = &self.rules[r as usize];
            if self.rule_has(rule, other) {
                if i >= 64 {
                    return self.side_uncached(rules, other, sig);
                }
                mask |= 1 << i;
                named |= rule.conn.by_sig.len() > 1;
            }
        }
        if mask == 0 {
            return None;
        }
        let key = (owner, mask, if named { sig } else { u32::MAX });
        if let Some(c) = cache.get(&key) {
            return Some(c.clone());
        }
        let c = self.side_uncached(rules, other, sig)?;
        cache.insert(key, c.clone());
        Some(c)
    }

    fn side_uncached(&self, rules: &[u32], other: u32, sig: u32) -> Option<Arc<ConnSet>> {
        let mut acc = ConnSet::none();
        for &r in rules {
            let rule = &self.rules[r as usize];
            if self.rule_has(rule, other) {
                let c = rule
                    .conn
                    .by_sig
                    .get(sig as usize)
                    .or(rule.conn.by_sig.first())?;
                acc.add(c);
            }
        }
        (!acc.is_empty()).then(|| Arc::new(acc))
    }

    fn pair(&self, caches: &mut Caches, s: usize, d: usize) -> Option<Arc<ConnSet>> {
        let sig = self.sig_of[d];
        let e = match &self.egress[s] {
            None => self.all.clone(),
            Some(rules) => self.side(&mut caches.egress, s as u32, rules, d as u32, sig)?,
        };
        let i = match &self.ingress[d] {
            None => return Some(e),
            Some(rules) => self.side(&mut caches.ingress, d as u32, rules, s as u32, sig)?,
        };
        if e.is_all() {
            return Some(i);
        }
        let key = (Arc::as_ptr(&e) as usize, Arc::as_ptr(&i) as usize);
        if let Some(r) = caches.meet.get(&key) {
            return r.clone();
        }
        let m = e.intersect(&i);
        let r = (!m.is_empty()).then(|| Arc::new(m));
        caches.keep.entry(key.0).or_insert(e);
        caches.keep.entry(key.1).or_insert(i);
        caches.meet.insert(key, r.clone());
        r
    }

    /// Allowed class pairs.
    pub(crate) fn class_edges(&self) -> Vec<(u32, u32, Arc<ConnSet>)> {
        let n = self.classes.len();
        (0..n)
            .into_par_iter()
            .map_init(Caches::default, |caches, s| {
                let mut out = Vec::new();
                match &self.egress[s] {
                    Some(rules) if !rules.iter().any(|&r| self.rules[r as usize].all_peers) => {
                        if caches.seen.len() != n {
                            caches.seen = vec![0; n];
                        }
                        caches.stamp = caches.stamp.wrapping_add(1);
                        let stamp = caches.stamp;
                        let mut cands: Vec<u32> = Vec::new();
                        for &r in rules {
                            for &set in &self.rules[r as usize].sets {
                                for &d in self.sets[set as usize].members() {
                                    if caches.seen[d as usize] != stamp {
                                        caches.seen[d as usize] = stamp;
                                        cands.push(d);
                                    }
                                }
                            }
                        }
                        cands.sort_unstable();
                        for d in cands {
                            if let Some(c) = self.pair(caches, s, d as usize) {
                                out.push((s as u32, d, c));
                            }
                        }
                    }
                    _ => {
                        for d in 0..n {
                            if let Some(c) = self.pair(caches, s, d) {
                                out.push((s as u32, d as u32, c));
                            }
                        }
                    }
                }
                out
            })
            .flatten_iter()
            .collect()
    }

    /// Class-to-external and external-to-class connections.
    pub(crate) fn external_edges(
        &self,
        src_ranges: &[IpRange],
        dst_ranges: &[IpRange],
    ) -> crate::connectivity::ExternalEdges {
        let covered = |ranges: &[IpRange]| -> Vec<Vec<u32>> {
            self.rules
                .par_iter()
                .map(|r| {
                    if r.ips.is_empty() {
                        return Vec::new();
                    }
                    (0..ranges.len() as u32)
                        .filter(|&i| r.ips.iter().any(|s| s.contains_range(&ranges[i as usize])))
                        .collect()
                })
                .collect()
        };
        let cov_dst = covered(dst_ranges);
        let cov_src = covered(src_ranges);
        let n = self.classes.len();
        let per_class = |rules: &Option<Vec<u32>>,
                         ranges: &[IpRange],
                         cov: &[Vec<u32>],
                         ingress_sig: Option<u32>|
         -> Vec<(usize, Arc<ConnSet>)> {
            match rules {
                None => (0..ranges.len()).map(|i| (i, self.all.clone())).collect(),
                Some(rules) => {
                    let mut acc: Vec<Option<ConnSet>> = vec![None; ranges.len()];
                    for &r in rules {
                        let rule = &self.rules[r as usize];
                        // Towards an address, named ports never match; from one, they resolve
                        // on the receiving pod.
                        let conn = match ingress_sig {
                            None => rule.conn.external.clone(),
                            Some(sig) => rule
                                .conn
                                .by_sig
                                .get(sig as usize)
                                .or(rule.conn.by_sig.first())
                                .cloned()
                                .unwrap_or_else(|| rule.conn.external.clone()),
                        };
                        let idxs: Box<dyn Iterator<Item = usize>> = if rule.all_peers {
                            Box::new(0..ranges.len())
                        } else {
                            Box::new(cov[r as usize].iter().map(|&i| i as usize))
                        };
                        for i in idxs {
                            acc[i].get_or_insert_with(ConnSet::none).add(&conn);
                        }
                    }
                    acc.into_iter()
                        .enumerate()
                        .filter_map(|(i, c)| c.filter(|c| !c.is_empty()).map(|c| (i, Arc::new(c))))
                        .collect()
                }
            }
        };
        let out: Vec<(u32, usize, Arc<ConnSet>)> = (0..n)
            .into_par_iter()
            .flat_map_iter(|c| {
                per_class(&self.egress[c], dst_ranges, &cov_dst, None)
                    .into_iter()
                    .map(move |(i, conn)| (c as u32, i, conn))
            })
            .collect();
        let inn: Vec<(usize, u32, Arc<ConnSet>)> = (0..n)
            .into_par_iter()
            .flat_map_iter(|c| {
                per_class(&self.ingress[c], src_ranges, &cov_src, Some(self.sig_of[c]))
                    .into_iter()
                    .map(move |(i, conn)| (i, c as u32, conn))
            })
            .collect();
        (out, inn)
    }
}

/// What rule ports allow towards an external address: named ports match nothing.
fn external_ports(ports: &Option<Vec<NpPort>>) -> ConnSet {
    match ports {
        None => ConnSet::all(),
        Some(v) => {
            let numbered: Vec<NpPort> = v
                .iter()
                .filter(|p| !matches!(p.port, Some(PortRef::Name(_))))
                .cloned()
                .collect();
            if numbered.is_empty() {
                ConnSet::none()
            } else {
                crate::eval::np_rule_ports_unknown(&Some(numbered))
            }
        }
    }
}

fn set_key(np: &NetworkPolicy, elem: &NpPeer) -> SetKey {
    match elem {
        NpPeer::Pods { namespaces, pods } => (
            if namespaces.is_none() {
                np.namespace.clone()
            } else {
                String::new()
            },
            namespaces
                .as_ref()
                .map(|s| s.canonical())
                .unwrap_or_default(),
            pods.as_ref().map(|s| s.canonical()).unwrap_or_default(),
            namespaces.is_some(),
            pods.is_some(),
        ),
        NpPeer::IpBlock { cidr, except, .. } => (
            format!("ipblock {cidr}"),
            except.clone(),
            Vec::new(),
            false,
            false,
        ),
    }
}

fn peer_members(
    ev: &Evaluator<'_>,
    classes: &Classes,
    np: &NetworkPolicy,
    elem: &NpPeer,
) -> Vec<u32> {
    let cluster = ev.cluster;
    let rep = |c: usize| &cluster.endpoints[classes.representative(c)];
    let empty: Vec<usize> = Vec::new();
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
        NpPeer::IpBlock { .. } => (0..classes.len()).collect(),
    };
    candidates
        .into_iter()
        .filter(|&c| ev.np_peer_matches(np, elem, Peer::Endpoint(rep(c))))
        .map(|c| c as u32)
        .collect()
}
