//! Lateral movement: what an attacker who controls one workload can reach, hop by hop, where
//! each hop is a connection the policies allow from a workload already reached.
//!
//! Shortest paths come from a breadth-first search over the workload graph of a connectivity
//! map (external ranges are not stepping stones).

#![expect(
    clippy::indexing_slicing,
    reason = "endpoint, class, rule and flow ids index the cluster and tables they were built from"
)]
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use netfence_model::{Cluster, ConnSet, EndpointId};

use crate::connectivity::{Connectivity, Node};

/// One hop of a path.
#[derive(Debug, Clone)]
pub struct Hop {
    /// From this workload.
    pub from: EndpointId,
    /// To this one.
    pub to: EndpointId,
    /// Using these connections.
    pub conn: Arc<ConnSet>,
}

/// A reached workload with its shortest path.
#[derive(Debug, Clone)]
pub struct Reached {
    /// The workload.
    pub endpoint: EndpointId,
    /// The hops from the start, in order.
    pub path: Vec<Hop>,
}

/// The workload graph of a connectivity map.
pub struct Graph {
    out: Vec<Vec<(EndpointId, Arc<ConnSet>)>>,
    /// Workloads reachable from outside the cluster (external ranges or the ingress controller).
    pub exposed: Vec<EndpointId>,
}

impl Graph {
    /// Builds the graph of `map` over `cluster`'s endpoints.
    pub fn new(cluster: &Cluster, map: &Connectivity) -> Self {
        let mut out: Vec<Vec<(EndpointId, Arc<ConnSet>)>> =
            vec![Vec::new(); cluster.endpoints.len()];
        let mut exposed = std::collections::BTreeSet::new();
        for e in map.edges() {
            match (&e.src, &e.dst) {
                (Node::Endpoint(s), Node::Endpoint(d)) => {
                    if let Some(v) = out.get_mut(*s) {
                        v.push((*d, e.conn.clone()));
                    }
                }
                (Node::External(_) | Node::IngressController, Node::Endpoint(d)) => {
                    exposed.insert(*d);
                }
                _ => {}
            }
        }
        for v in &mut out {
            v.sort_by_key(|(d, _)| *d);
        }
        Self {
            out,
            exposed: exposed.into_iter().collect(),
        }
    }

    /// Every workload reachable from `start` within `max_hops` (unbounded when `None`), each
    /// with a shortest path; sorted by hop count, then endpoint.
    pub fn reach(&self, start: EndpointId, max_hops: Option<usize>) -> Vec<Reached> {
        let n = self.out.len();
        let mut prev: Vec<Option<(EndpointId, Arc<ConnSet>)>> = vec![None; n];
        let mut depth: Vec<usize> = vec![usize::MAX; n];
        let mut queue = VecDeque::new();
        if start >= n {
            return Vec::new();
        }
        depth[start] = 0;
        queue.push_back(start);
        let mut order = Vec::new();
        while let Some(u) = queue.pop_front() {
            if max_hops.is_some_and(|m| depth[u] >= m) {
                continue;
            }
            for (v, conn) in &self.out[u] {
                if depth[*v] == usize::MAX {
                    depth[*v] = depth[u] + 1;
                    prev[*v] = Some((u, conn.clone()));
                    order.push(*v);
                    queue.push_back(*v);
                }
            }
        }
        order
            .into_iter()
            .map(|v| {
                let mut path = Vec::new();
                let mut cur = v;
                while let Some((p, conn)) = &prev[cur] {
                    path.push(Hop {
                        from: *p,
                        to: cur,
                        conn: conn.clone(),
                    });
                    cur = *p;
                }
                path.reverse();
                Reached { endpoint: v, path }
            })
            .collect()
    }

    /// The number of workloads.
    pub fn len(&self) -> usize {
        self.out.len()
    }

    /// Whether there is no workload.
    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }
}

/// Lateral-movement score of a namespace: the mean share (0-100) of the other workloads of the
/// cluster that a workload of the namespace reaches, transitively. 0 is fully isolated, 100
/// means any foothold reaches everything.
/// `counts` are [`reach_counts`].
pub fn namespace_scores(cluster: &Cluster, counts: &[usize]) -> BTreeMap<String, f64> {
    let n = cluster.endpoints.len();
    let mut sums: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    for (id, ep) in cluster.endpoints.iter().enumerate() {
        let reached = counts.get(id).copied().unwrap_or(0);
        let share = if n > 1 {
            reached as f64 / (n - 1) as f64
        } else {
            0.0
        };
        let e = sums.entry(ep.namespace.clone()).or_default();
        e.0 += share;
        e.1 += 1;
    }
    sums.into_iter()
        .map(|(ns, (s, k))| (ns, 100.0 * s / k as f64))
        .collect()
}

/// How many other workloads each workload reaches, transitively (what `reach(e, None).len()`
/// counts), computed once per class of endpoints no policy tells apart: members of a class
/// have the same neighbours, so the search runs on the graph of classes, and costs grow with
/// classes, not with pods.
pub fn reach_counts(cluster: &Cluster, graph: &Graph) -> Vec<usize> {
    let classes = crate::classes::Classes::new(cluster);
    let k = classes.len();
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); k];
    for (s, edges) in graph.out.iter().enumerate() {
        let cs = classes.class_of[s];
        out[cs].extend(edges.iter().map(|(d, _)| classes.class_of[*d]));
    }
    for v in &mut out {
        v.sort_unstable();
        v.dedup();
    }
    let per_class: Vec<usize> = (0..k)
        .map(|start| {
            // the start class counts only when a path leads back into it (then its other
            // members are reached; the start itself never is)
            let mut seen = vec![false; k];
            let mut queue: VecDeque<usize> = out[start].iter().copied().collect();
            for &c in &out[start] {
                seen[c] = true;
            }
            while let Some(c) = queue.pop_front() {
                for &d in &out[c] {
                    if !seen[d] {
                        seen[d] = true;
                        queue.push_back(d);
                    }
                }
            }
            (0..k)
                .filter(|&c| seen[c])
                .map(|c| classes.members[c].len())
                .sum::<usize>()
                - usize::from(seen[start])
        })
        .collect();
    classes.class_of.iter().map(|&c| per_class[c]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectivity;
    use netfence_model::{Endpoint, Labels};

    fn pod(ns: &str, name: &str, app: &str) -> Endpoint {
        let mut labels = Labels::new();
        labels.insert("app".into(), app.into());
        Endpoint {
            namespace: ns.into(),
            name: name.into(),
            pods: vec![name.into()],
            labels,
            ..crate::ingress::controller()
        }
    }

    #[test]
    fn class_counts_equal_per_workload_searches() {
        // no policy: every pod reaches every other; pods share classes by label
        let mut c = Cluster::default();
        for i in 0..30 {
            c.endpoints
                .push(pod("a", &format!("p{i}"), &format!("x{}", i % 3)));
        }
        c.ensure_namespace("a");
        let map = connectivity::compute(&c, crate::Profile::Generic);
        let g = Graph::new(&c, &map);
        let counts = reach_counts(&c, &g);
        for (id, n) in counts.iter().enumerate() {
            assert_eq!(*n, g.reach(id, None).len(), "endpoint {id}");
        }
        assert_eq!(counts[0], 29);
    }
}
