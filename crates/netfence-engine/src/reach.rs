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
        for e in &map.edges {
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
pub fn namespace_scores(cluster: &Cluster, graph: &Graph) -> BTreeMap<String, f64> {
    let n = cluster.endpoints.len();
    let mut sums: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    for (id, ep) in cluster.endpoints.iter().enumerate() {
        let reached = graph.reach(id, None).len();
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
