//! The CNI a cluster runs, recognised from its workloads (calico-node, cilium, antrea-agent,
//! weave-net, kube-flannel), and whether it enforces NetworkPolicy.

#![expect(
    clippy::indexing_slicing,
    reason = "endpoint, class, rule and flow ids index the cluster and tables they were built from"
)]
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

/// The profile `--cni auto` picks: Cilium when Cilium policies or the agent are in the input,
/// Calico for Calico policies or calico-node (Canal included), then Antrea, Weave, flannel
/// alone, and generic when nothing is recognised.
pub fn auto_profile(cluster: &Cluster) -> netfence_engine::Profile {
    use netfence_engine::Profile;
    let seen = detect(cluster);
    let has = |c: &str| seen.iter().any(|d| d.cni == c);
    if !cluster.policies.cilium_policies().is_empty() || has("cilium") {
        Profile::Cilium
    } else if !cluster.policies.calico_policies().is_empty() || has("calico-node") {
        Profile::Calico
    } else if has("antrea-agent") {
        Profile::Antrea
    } else if has("weave-net") {
        Profile::Weave
    } else if has("flannel") {
        Profile::Flannel
    } else {
        Profile::Generic
    }
}

/// Policies of the input that `profile` does not enforce: `(kind, count)`.
pub fn unenforced(
    cluster: &Cluster,
    profile: netfence_engine::Profile,
) -> Vec<(&'static str, usize)> {
    let admin = cluster.policies.admin_policies().len()
        + usize::from(cluster.policies.baseline_policy().is_some());
    let staged = cluster
        .policies
        .calico_policies()
        .iter()
        .filter(|p| p.staged)
        .count();
    let calico = cluster.policies.calico_policies().len() - staged;
    let mut out = vec![
        (
            "NetworkPolicy",
            if profile.enforces_network_policy() {
                0
            } else {
                cluster.policies.network_policies().len()
            },
        ),
        (
            "AdminNetworkPolicy/BaselineAdminNetworkPolicy",
            if profile.enforces_admin_policies() {
                0
            } else {
                admin
            },
        ),
        (
            "ClusterNetworkPolicy",
            if profile.enforces_cluster_network_policies() {
                0
            } else {
                cluster.policies.cluster_network_policies().len()
            },
        ),
        (
            "CiliumNetworkPolicy/CiliumClusterwideNetworkPolicy",
            if profile.enforces_cilium_policies() {
                0
            } else {
                cluster.policies.cilium_policies().len()
            },
        ),
        (
            "Calico NetworkPolicy/GlobalNetworkPolicy",
            if profile.enforces_calico_policies() {
                0
            } else {
                calico
            },
        ),
        ("Calico staged policy (never enforced)", staged),
    ];
    out.retain(|(_, n)| *n > 0);
    out
}
