//! The CNI a cluster runs, recognised from its workloads (calico-node, cilium, antrea-agent,
//! weave-net, kube-flannel), and whether it enforces NetworkPolicy.

use netfence_model::{Cluster, EndpointId};

/// CNIs recognised from workload names and labels, and whether they enforce NetworkPolicy.
const CNIS: [(&str, bool); 5] = [
    ("calico-node", true),
    ("cilium", true),
    ("antrea-agent", true),
    ("weave-net", true),
    ("flannel", false),
];

/// A CNI seen in the inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    /// The CNI's component name.
    pub cni: &'static str,
    /// Whether it enforces NetworkPolicy.
    pub enforces: bool,
    /// The workload that shows it.
    pub workload: EndpointId,
}

/// Every CNI the inventory runs.
pub fn detect(cluster: &Cluster) -> Vec<Detected> {
    CNIS.iter()
        .filter_map(|&(cni, enforces)| {
            cluster
                .endpoints
                .iter()
                .position(|e| {
                    e.name.contains(cni)
                        || e.labels.get("k8s-app").is_some_and(|v| v.contains(cni))
                        || e.labels.get("app").is_some_and(|v| v.contains(cni))
                })
                .map(|workload| Detected {
                    cni,
                    enforces,
                    workload,
                })
        })
        .collect()
}

/// The workload of a CNI that does not enforce NetworkPolicy, when that is all the cluster runs
/// (flannel without Calico).
pub fn not_enforcing(cluster: &Cluster) -> Option<String> {
    let found = detect(cluster);
    (!found.is_empty() && found.iter().all(|d| !d.enforces))
        .then(|| {
            found
                .first()
                .map(|d| cluster.endpoints[d.workload].display_name())
        })
        .flatten()
}
