//! The connectivity map over endpoint classes, for every profile and dialect, from the same
//! evaluation a single flow gets.
//!
//! A direction's verdict depends on the far end only through which of the subject's peer tests
//! it passes (see `peer_tests`) and, for egress, the receiving pod's named ports. So each
//! distinct test is run once per class (restricted to the namespaces it names), each class
//! gets the list of tests its layers make per direction, and a pair of classes is decided by
//! membership bits: the first pair with a given (subject, direction, bits, port signature) is
//! evaluated by [`Evaluator::direction_allowed`], the layered evaluation `query` explains, and
//! every later one reuses that answer. A source whose egress allows nothing to a peer that
//! passes none of its tests only visits the classes its tests name. The cost follows the
//! number of classes, of distinct answers and of allowed connections, not of pod pairs, and
//! the map cannot disagree with the one-flow answer by construction.

#![expect(
    clippy::indexing_slicing,
    reason = "class, test and range ids index the tables they were built from"
)]
use std::collections::HashMap;
use std::sync::Arc;

use rayon::prelude::*;

use netfence_model::{ConnSet, IpRange, NamedPort};

use crate::classes::Classes;
use crate::eval::{Direction, Evaluator, Peer};
use crate::peer_tests::{PeerTest, TestKey};

/// A set of classes: sorted members, or a bitset when large.
pub(crate) enum ClassSet {
    Sparse(Vec<u32>),
    Dense { bits: Vec<u64>, members: Vec<u32> },
}

impl ClassSet {
    pub(crate) fn new(mut members: Vec<u32>, n: usize) -> Self {
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

    pub(crate) fn contains(&self, c: u32) -> bool {
        match self {
            ClassSet::Sparse(v) => v.binary_search(&c).is_ok(),
            ClassSet::Dense { bits, .. } => bits
                .get(c as usize / 64)
                .is_some_and(|w| w & (1 << (c % 64)) != 0),
        }
    }

    pub(crate) fn members(&self) -> &[u32] {
        match self {
            ClassSet::Sparse(v) => v,
            ClassSet::Dense { members, .. } => members,
        }
    }
}

/// Which of a subject's tests a peer passes.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Mask {
    Small(u128),
    Large(Vec<u64>),
}

impl Mask {
    fn new(n: usize) -> Self {
        if n <= 128 {
            Mask::Small(0)
        } else {
            Mask::Large(vec![0; n.div_ceil(64)])
        }
    }

    fn set(&mut self, i: usize) {
        match self {
            Mask::Small(m) => *m |= 1 << i,
            Mask::Large(v) => v[i / 64] |= 1 << (i % 64),
        }
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        match self {
            Mask::Small(m) => *m == 0,
            Mask::Large(v) => v.iter().all(|w| *w == 0),
        }
    }
}

/// Port signature of a peer that is no endpoint (named ports never resolve on it).
const NO_SIG: u32 = u32::MAX;

/// (subject class, egress?, receiving peer's port signature, bits): one direction's answer.
type SideKey = (u32, bool, u32, Mask);

/// A fast hasher for the caches (keys are small and made by netfence, not by input).
type Fast = foldhash::fast::RandomState;

#[derive(Default)]
struct Caches {
    side: HashMap<SideKey, Option<Arc<ConnSet>>, Fast>,
    meet: HashMap<(usize, usize), Option<Arc<ConnSet>>, Fast>,
    /// Keeps every set used as a `meet` key alive, so its address stays unique.
    keep: HashMap<usize, Arc<ConnSet>, Fast>,
    /// One shared set per distinct value: equal answers are one `Arc`, so the `meet` cache
    /// hits across classes and a source's edges carry a few distinct sets, not one each.
    values: HashMap<ConnSet, Arc<ConnSet>, Fast>,
    seen: Vec<u32>,
    stamp: u32,
}

impl Caches {
    /// The shared set equal to `c`, or `None` when it is empty.
    fn intern(&mut self, c: ConnSet) -> Option<Arc<ConnSet>> {
        if c.is_empty() {
            return None;
        }
        if let Some(a) = self.values.get(&c) {
            return Some(a.clone());
        }
        let a = Arc::new(c.clone());
        self.values.insert(c, a.clone());
        Some(a)
    }
}

/// The classes a distinct test admits.
struct TestInfo<'a> {
    test: PeerTest<'a>,
    dir: Direction,
    members: ClassSet,
}

/// Every class's tests, and every distinct test's members.
pub(crate) struct ClassMap<'e, 'a> {
    ev: &'e Evaluator<'a>,
    classes: &'e Classes,
    tests: Vec<TestInfo<'a>>,
    /// Per class: its tests (indices into `tests`) for ingress and egress, in order.
    own: Vec<[Vec<u32>; 2]>,
    /// Per class: whether an address's answer may depend on the subject (not shared).
    subject_bound: Vec<bool>,
    /// Per class: its named-port signature.
    sig_of: Vec<u32>,
}

fn slot(dir: Direction) -> usize {
    usize::from(dir == Direction::Egress)
}

impl<'e, 'a> ClassMap<'e, 'a> {
    /// Lists each class's tests and runs every distinct test once per candidate class.
    pub(crate) fn build(ev: &'e Evaluator<'a>, classes: &'e Classes) -> Self {
        let cluster = ev.cluster;
        let n = classes.len();
        let rep = |c: usize| &cluster.endpoints[classes.representative(c)];
        let mut sig_index: HashMap<Vec<NamedPort>, u32> = HashMap::new();
        let sig_of: Vec<u32> = (0..n)
            .map(|c| {
                let mut np = rep(c).named_ports.clone();
                np.sort();
                let next = sig_index.len() as u32;
                *sig_index.entry(np).or_insert(next)
            })
            .collect();
        type Keyed<'a> = Vec<(PeerTest<'a>, TestKey)>;
        let per_class: Vec<[Keyed<'a>; 2]> = (0..n)
            .into_par_iter()
            .map(|c| {
                [Direction::Ingress, Direction::Egress].map(|d| {
                    ev.peer_tests(rep(c), d)
                        .into_iter()
                        .map(|t| {
                            let k = t.key();
                            (t, k)
                        })
                        .collect()
                })
            })
            .collect();
        let subject_bound = per_class
            .iter()
            .map(|dirs| dirs.iter().flatten().any(|(t, _)| t.subject_bound(ev)))
            .collect();
        let mut index: HashMap<(TestKey, bool), u32> = HashMap::new();
        let mut distinct: Vec<(PeerTest<'a>, Direction)> = Vec::new();
        let own: Vec<[Vec<u32>; 2]> = per_class
            .into_iter()
            .map(|dirs| {
                let [ingress, egress] = dirs;
                [(ingress, Direction::Ingress), (egress, Direction::Egress)].map(|(tests, dir)| {
                    tests
                        .into_iter()
                        .map(|(t, k)| {
                            let key = (k, dir == Direction::Egress);
                            *index.entry(key).or_insert_with(|| {
                                distinct.push((t, dir));
                                (distinct.len() - 1) as u32
                            })
                        })
                        .collect()
                })
            })
            .collect();
        // Classes every namespace-bound test must still try: pods of namespaces without a
        // Namespace object, and host-network pods.
        let always: Vec<u32> = (0..n)
            .filter(|&c| rep(c).host_network || !cluster.namespaces.contains_key(&rep(c).namespace))
            .map(|c| c as u32)
            .collect();
        let tests = distinct
            .into_par_iter()
            .map(|(test, dir)| {
                let candidates: Vec<u32> = match ev.test_namespaces(&test) {
                    None => (0..n as u32).collect(),
                    Some(namespaces) => {
                        let mut v: Vec<u32> = namespaces
                            .iter()
                            .flat_map(|ns| classes.by_namespace.get(*ns).into_iter().flatten())
                            .map(|&c| c as u32)
                            .chain(always.iter().copied())
                            .collect();
                        v.sort_unstable();
                        v.dedup();
                        v
                    }
                };
                let members = candidates
                    .into_iter()
                    .filter(|&c| ev.test_matches(&test, Peer::Endpoint(rep(c as usize)), dir))
                    .collect();
                TestInfo {
                    test,
                    dir,
                    members: ClassSet::new(members, n),
                }
            })
            .collect();
        ClassMap {
            ev,
            classes,
            tests,
            own,
            subject_bound,
            sig_of,
        }
    }

    pub(crate) fn rep(&self, c: u32) -> &'a netfence_model::Endpoint {
        &self.ev.cluster.endpoints[self.classes.representative(c as usize)]
    }

    /// What class `subject` allows in `dir` with class `other`.
    fn side(
        &self,
        caches: &mut Caches,
        subject: u32,
        dir: Direction,
        other: u32,
    ) -> Option<Arc<ConnSet>> {
        let tests = &self.own[subject as usize][slot(dir)];
        let mut mask = Mask::new(tests.len());
        for (i, &t) in tests.iter().enumerate() {
            if self.tests[t as usize].members.contains(other) {
                mask.set(i);
            }
        }
        let egress = dir == Direction::Egress;
        let sig = if egress {
            self.sig_of[other as usize]
        } else {
            NO_SIG
        };
        let key = (subject, egress, sig, mask);
        if let Some(c) = caches.side.get(&key) {
            return c.clone();
        }
        let c = self
            .ev
            .direction_allowed(self.rep(subject), Peer::Endpoint(self.rep(other)), dir);
        let c = caches.intern(c);
        caches.side.insert(key, c.clone());
        c
    }

    fn pair(&self, caches: &mut Caches, s: u32, d: u32) -> Option<Arc<ConnSet>> {
        let e = self.side(caches, s, Direction::Egress, d)?;
        let i = self.side(caches, d, Direction::Ingress, s)?;
        if e.is_all() {
            return Some(i);
        }
        if i.is_all() {
            return Some(e);
        }
        let key = (Arc::as_ptr(&e) as usize, Arc::as_ptr(&i) as usize);
        if let Some(r) = caches.meet.get(&key) {
            return r.clone();
        }
        let r = caches.intern(e.intersect(&i));
        caches.keep.entry(key.0).or_insert(e);
        caches.keep.entry(key.1).or_insert(i);
        caches.meet.insert(key, r.clone());
        r
    }

    /// The destinations source class `s` may reach: the classes its egress tests admit, when a
    /// class that passes none of them gets nothing; otherwise every class.
    fn candidates(&self, caches: &mut Caches, s: u32) -> Vec<u32> {
        let n = self.classes.len();
        if caches.seen.len() != n {
            caches.seen = vec![0; n];
        }
        caches.stamp = caches.stamp.wrapping_add(1);
        if caches.stamp == 0 {
            caches.seen.iter_mut().for_each(|x| *x = 0);
            caches.stamp = 1;
        }
        let stamp = caches.stamp;
        let mut out: Vec<u32> = Vec::new();
        for &t in &self.own[s as usize][slot(Direction::Egress)] {
            for &d in self.tests[t as usize].members.members() {
                if caches.seen[d as usize] != stamp {
                    caches.seen[d as usize] = stamp;
                    out.push(d);
                }
            }
        }
        let outsider = (0..n as u32).find(|&d| caches.seen[d as usize] != stamp);
        match outsider {
            Some(z) if self.side(caches, s, Direction::Egress, z).is_some() => {
                (0..n as u32).collect()
            }
            _ => {
                out.sort_unstable();
                out
            }
        }
    }

    /// Allowed class pairs, grouped by source class.
    pub(crate) fn class_edges(&self) -> Vec<(u32, u32, Arc<ConnSet>)> {
        self.per_source(|s, out| {
            out.into_iter()
                .map(move |(d, c)| (s, d, c))
                .collect::<Vec<_>>()
        })
        .into_iter()
        .flatten()
        .collect()
    }

    /// `f` of each source class and its allowed destinations with what each allows, made on
    /// every core; the results in source order.
    pub(crate) fn per_source<R: Send>(
        &self,
        f: impl Fn(u32, Vec<(u32, Arc<ConnSet>)>) -> R + Sync + Send,
    ) -> Vec<R> {
        let n = self.classes.len() as u32;
        (0..n)
            .into_par_iter()
            .map_init(Caches::default, |caches, s| {
                let mut out = Vec::new();
                for d in self.candidates(caches, s) {
                    if let Some(c) = self.pair(caches, s, d) {
                        out.push((d, c));
                    }
                }
                f(s, out)
            })
            .collect()
    }

    /// Dead allow rules: for each class isolated in a direction, each of its rules whose peers
    /// (those it allows something with) all refuse it entirely on their own isolated side.
    /// `(class, direction, the refusing peer classes, what the first is allowed)`. A rule some
    /// of whose peers accept it is working as a broad allowance and is not reported.
    pub(crate) fn one_sided(&self) -> Vec<(u32, Direction, Vec<u32>, ConnSet)> {
        let n = self.classes.len() as u32;
        let isolated: Vec<[bool; 2]> = (0..n)
            .into_par_iter()
            .map(|c| {
                [Direction::Ingress, Direction::Egress].map(|d| self.ev.is_isolated(self.rep(c), d))
            })
            .collect();
        (0..n)
            .into_par_iter()
            .map_init(Caches::default, |caches, c| {
                let mut out = Vec::new();
                for dir in [Direction::Egress, Direction::Ingress] {
                    if !isolated[c as usize][slot(dir)] {
                        continue;
                    }
                    let far = dir.opposite();
                    let mut tests: Vec<u32> = self.own[c as usize][slot(dir)].clone();
                    tests.sort_unstable();
                    tests.dedup();
                    'tests: for t in tests {
                        let mut refused: Vec<u32> = Vec::new();
                        let mut example: Option<ConnSet> = None;
                        for &o in self.tests[t as usize].members.members() {
                            if o == c {
                                continue;
                            }
                            let Some(mine) = self.side(caches, c, dir, o) else {
                                continue;
                            };
                            let accepts = !isolated[o as usize][slot(far)]
                                || self
                                    .side(caches, o, far, c)
                                    .is_some_and(|x| !x.intersect(&mine).is_empty());
                            if accepts {
                                continue 'tests;
                            }
                            if example.is_none() {
                                example = Some((*mine).clone());
                            }
                            refused.push(o);
                        }
                        if let (false, Some(conn)) = (refused.is_empty(), example) {
                            out.push((c, dir, refused, conn));
                        }
                    }
                }
                out
            })
            .flatten_iter()
            .collect()
    }

    /// Per class (Cilium profile): the estimated policy map entries for ingress and egress
    /// (see `policy_map`): over the rules selecting it, identities matched times port entries.
    pub(crate) fn policy_map_estimates(&self) -> Vec<(u32, usize, usize)> {
        use crate::policy_map::{
            cilium_extra_identities, cilium_port_entries, np_extra_identities, np_port_entries,
        };
        let n = self.classes.len() as u32;
        // one identity per distinct identity label set; host-network pods have none
        let mut ids: HashMap<netfence_model::Labels, u32> = HashMap::new();
        let identity: Vec<Option<u32>> = (0..n)
            .map(|c| {
                let ep = self.rep(c);
                (!ep.host_network).then(|| {
                    let next = ids.len() as u32;
                    *ids.entry(crate::cilium::identity_labels(self.ev, ep))
                        .or_insert(next)
                })
            })
            .collect();
        let per_test: Vec<usize> = self
            .tests
            .par_iter()
            .map(|t| {
                let mut seen: Vec<u32> = t
                    .members
                    .members()
                    .iter()
                    .filter_map(|&c| identity[c as usize])
                    .collect();
                seen.sort_unstable();
                seen.dedup();
                let (extra, ports) = match &t.test {
                    PeerTest::Cilium { rule, .. } => {
                        (cilium_extra_identities(rule), cilium_port_entries(rule))
                    }
                    PeerTest::Np(_, rule) => (np_extra_identities(rule), np_port_entries(rule)),
                    PeerTest::Admin(_) | PeerTest::Calico(..) => (0, 0),
                };
                (seen.len() + extra) * ports
            })
            .collect();
        (0..n)
            .map(|c| {
                let [ingress, egress] = [Direction::Ingress, Direction::Egress].map(|d| {
                    self.own[c as usize][slot(d)]
                        .iter()
                        .map(|&t| per_test[t as usize])
                        .sum()
                });
                (c, ingress, egress)
            })
            .collect()
    }

    /// Class-to-range and range-to-class connections.
    pub(crate) fn external_edges(
        &self,
        src_ranges: &[IpRange],
        dst_ranges: &[IpRange],
    ) -> crate::connectivity::ExternalEdges {
        // per distinct test, the ranges of its direction it admits
        let covered: Vec<Vec<u32>> = self
            .tests
            .par_iter()
            .map(|t| {
                let ranges = match t.dir {
                    Direction::Ingress => src_ranges,
                    Direction::Egress => dst_ranges,
                };
                (0..ranges.len() as u32)
                    .filter(|&i| {
                        self.ev
                            .test_matches(&t.test, Peer::Ip(&ranges[i as usize]), t.dir)
                    })
                    .collect()
            })
            .collect();
        let per_class =
            |c: u32, dir: Direction, ranges: &[IpRange]| -> Vec<(usize, Arc<ConnSet>)> {
                let tests = &self.own[c as usize][slot(dir)];
                let mut masks = vec![Mask::new(tests.len()); ranges.len()];
                for (i, &t) in tests.iter().enumerate() {
                    for &r in &covered[t as usize] {
                        masks[r as usize].set(i);
                    }
                }
                let bound = self.subject_bound[c as usize];
                let mut answers: HashMap<Mask, Option<Arc<ConnSet>>> = HashMap::new();
                let mut out = Vec::new();
                for (r, mask) in masks.into_iter().enumerate() {
                    let eval = || {
                        let conn =
                            self.ev
                                .direction_allowed(self.rep(c), Peer::Ip(&ranges[r]), dir);
                        (!conn.is_empty()).then(|| Arc::new(conn))
                    };
                    let conn = if bound {
                        eval()
                    } else {
                        answers.entry(mask).or_insert_with(eval).clone()
                    };
                    if let Some(conn) = conn {
                        out.push((r, conn));
                    }
                }
                out
            };
        let n = self.classes.len() as u32;
        let to = (0..n)
            .into_par_iter()
            .flat_map_iter(|c| {
                per_class(c, Direction::Egress, dst_ranges)
                    .into_iter()
                    .map(move |(r, conn)| (c, r, conn))
            })
            .collect();
        let from = (0..n)
            .into_par_iter()
            .flat_map_iter(|c| {
                per_class(c, Direction::Ingress, src_ranges)
                    .into_iter()
                    .map(move |(r, conn)| (r, c, conn))
            })
            .collect();
        (to, from)
    }

    /// Whether class `c` has no test in either direction (nothing of the peer matters).
    #[cfg(test)]
    fn untested(&self, c: u32) -> bool {
        self.own[c as usize].iter().all(Vec::is_empty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_tell_bits_apart_past_128() {
        let mut a = Mask::new(200);
        let mut b = Mask::new(200);
        a.set(150);
        assert!(!a.is_empty());
        assert!(b.is_empty());
        b.set(151);
        assert!(a != b);
        let mut small = Mask::new(3);
        small.set(2);
        assert!(small == Mask::Small(4));
    }

    #[test]
    fn class_sets_answer_membership_sparse_and_dense() {
        let sparse = ClassSet::new(vec![5, 1, 5], 100);
        assert!(sparse.contains(1) && sparse.contains(5) && !sparse.contains(2));
        assert_eq!(sparse.members(), &[1, 5]);
        let dense = ClassSet::new((0..64).map(|i| i * 2).collect(), 200);
        assert!(dense.contains(126) && !dense.contains(127));
    }

    #[test]
    fn a_cluster_without_policies_has_no_tests() {
        let mut c = netfence_model::Cluster::default();
        c.endpoints
            .push(netfence_model::Endpoint::bare("a", "w", "Pod"));
        let ev = Evaluator::new(&c, crate::profile::Profile::Generic);
        let classes = Classes::new(&c);
        let map = ClassMap::build(&ev, &classes);
        assert!(map.untested(0));
        assert_eq!(map.class_edges().len(), 1, "a lone class reaches itself");
    }
}
