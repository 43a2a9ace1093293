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
    profile: impl Into<netfence_engine::DataPath>,
) -> Vec<(&'static str, usize)> {
    let profile: netfence_engine::DataPath = profile.into();
    let admin = cluster.policies.admin_policies().len()
        + usize::from(cluster.policies.baseline_policy().is_some());
    let staged = cluster
        .policies
        .calico_policies()
        .iter()
        .filter(|p| p.staged)
        .count()
        + cluster.policies.staged_network_policies().len();
    let calico = cluster.policies.calico_policies().len()
        + cluster.policies.staged_network_policies().len()
        - staged;
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
            if profile.cni.enforces_cilium_policies() {
                0
            } else {
                cluster.policies.cilium_policies().len()
            },
        ),
        (
            "Calico NetworkPolicy/GlobalNetworkPolicy",
            if profile.cni.enforces_calico_policies() {
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

/// One fact of a resolved data path and where it came from (what `netfence cni` prints).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    /// What it is (`cilium release`, `enable-k8s-cluster-network-policy`, `kubernetes release`).
    pub name: String,
    /// Its value.
    pub value: String,
    /// Where it came from.
    pub source: String,
}

/// A data path resolved from the command line and the input.
#[derive(Debug, Clone)]
pub struct ResolvedDataPath {
    /// The data path.
    pub data_path: netfence_engine::DataPath,
    /// Each fact and its source.
    pub facts: Vec<Fact>,
    /// What should be said once on standard error (a release guessed or out of range).
    pub notes: Vec<String>,
}

/// The image name (without registry path and tag) an agent of `cni` runs.
fn agent_image(cni: netfence_engine::Profile) -> Option<&'static [&'static str]> {
    use netfence_engine::Profile;
    match cni {
        Profile::Cilium => Some(&["cilium"]),
        Profile::Calico => Some(&["node", "calico-node"]),
        Profile::Antrea => Some(&["antrea-agent-ubuntu", "antrea-agent", "antrea-ubuntu"]),
        Profile::Generic | Profile::Flannel | Profile::Weave => None,
    }
}

/// The release of `cni`'s agent from an image tag in the input, with the image and workload.
fn agent_release(
    cluster: &Cluster,
    cni: netfence_engine::Profile,
) -> Option<(netfence_engine::Release, String)> {
    let names = agent_image(cni)?;
    cluster.endpoints.iter().find_map(|e| {
        e.images.iter().find_map(|img| {
            let name = img.split('@').next().unwrap_or_default();
            let repo = name.rsplit_once(':').map_or(name, |(r, _)| r);
            let last = repo.rsplit('/').next().unwrap_or(repo);
            // Calico's node image is `calico/node`: the repository must say calico
            let calico_ok = cni != netfence_engine::Profile::Calico || repo.contains("calico");
            (names.contains(&last) && calico_ok)
                .then(|| netfence_engine::Release::from_image(img))
                .flatten()
                .map(|r| (r, format!("image {img} of {}", e.display_name())))
        })
    })
}

/// Resolves the data path of `cluster` for `cni`: the release given, else the agent's image
/// tag, else the newest release netfence models (said in a note); the settings of
/// `kube-system/cilium-config`, then `overrides` (`KEY=VALUE`, `kubernetes=1.36` for the
/// Kubernetes release); the Kubernetes release of the oldest kubelet among the nodes.
pub fn resolve_data_path(
    cluster: &Cluster,
    cni: netfence_engine::Profile,
    given: Option<netfence_engine::Release>,
    overrides: &[String],
) -> Result<ResolvedDataPath, String> {
    use netfence_engine::{DataPath, Profile, Release};
    let mut facts = Vec::new();
    let mut notes = Vec::new();
    let mut dp = DataPath::from(cni);
    let known = !DataPath::known_releases(cni).is_empty();
    if known {
        let (version, source) = match (given, agent_release(cluster, cni)) {
            (Some(v), _) => (Some(v), format!("--cni {cni}@{v}")),
            (None, Some((v, src))) => (Some(v), src),
            (None, None) => {
                let newest = DataPath::newest(cni);
                let n = newest.map(|r| r.to_string()).unwrap_or_default();
                notes.push(format!(
                    "note: no {cni} release in the input or on the command line: judged as {cni} {n}, the newest release netfence models (--cni {cni}@X.Y to choose)"
                ));
                (
                    None,
                    format!("assumed: the newest release netfence models ({n})"),
                )
            }
        };
        dp.version = version;
        facts.push(Fact {
            name: format!("{cni} release"),
            value: dp.release().map(|r| r.to_string()).unwrap_or_default(),
            source,
        });
        if let Some(n) = dp.release_note() {
            notes.push(format!("note: {n}"));
        }
    }
    if cni == Profile::Cilium {
        if let Some(cfg) = &cluster.cilium_config {
            for key in netfence_engine::datapath::SETTING_KEYS
                .iter()
                .filter(|k| k.cni == Profile::Cilium)
            {
                if let Some(v) = cfg.get(key.key) {
                    dp.settings.set(key.key, v).map_err(|e| {
                        format!("ConfigMap kube-system/cilium-config ({}): {e}", cfg.origin)
                    })?;
                    facts.push(Fact {
                        name: key.key.to_string(),
                        value: v.clone(),
                        source: format!("ConfigMap kube-system/cilium-config ({})", cfg.origin),
                    });
                }
            }
        }
    }
    // the oldest kubelet: the release every node's API server (and so validation) has reached
    let kubelet = cluster
        .nodes
        .iter()
        .filter_map(|n| {
            let v = n.kubelet_version.as_deref()?;
            Some((Release::parse(v)?, n.name.clone(), v.to_string()))
        })
        .min();
    if let Some((r, node, text)) = kubelet {
        dp.kubernetes = Some(r);
        facts.push(Fact {
            name: "kubernetes release".into(),
            value: r.to_string(),
            source: format!("Node {node} (kubeletVersion {text})"),
        });
    }
    for o in overrides {
        let Some((key, value)) = o.split_once('=') else {
            return Err(format!("--cni-setting {o}: expected KEY=VALUE"));
        };
        let (key, value) = (key.trim(), value.trim());
        if key == "kubernetes" {
            dp.kubernetes = Some(Release::parse(value).ok_or_else(|| {
                format!("--cni-setting {o}: the Kubernetes release must read MAJOR.MINOR")
            })?);
        } else {
            let k = netfence_engine::datapath::SETTING_KEYS
                .iter()
                .find(|k| k.key == key);
            if let Some(k) = k.filter(|k| k.cni != cni) {
                notes.push(format!(
                    "note: --cni-setting {key} is a {} setting: it changes nothing under --cni {cni}",
                    k.cni
                ));
            }
            dp.settings
                .set(key, value)
                .map_err(|e| format!("--cni-setting {o}: {e}"))?;
        }
        facts.retain(|f| f.name != key && !(key == "kubernetes" && f.name == "kubernetes release"));
        facts.push(Fact {
            name: if key == "kubernetes" {
                "kubernetes release".into()
            } else {
                key.to_string()
            },
            value: value.to_string(),
            source: "--cni-setting".into(),
        });
    }
    Ok(ResolvedDataPath {
        data_path: dp,
        facts,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use netfence_engine::{Profile, Release};
    use netfence_model::cluster::AgentConfig;
    use netfence_model::{Endpoint, Node};

    fn agent(image: &str) -> Endpoint {
        Endpoint {
            images: vec![image.into()],
            ..Endpoint::bare("kube-system", "agent", "DaemonSet")
        }
    }

    #[test]
    fn the_release_comes_from_the_flag_then_the_agent_image_then_the_newest() {
        let mut c = Cluster::default();
        let r = resolve_data_path(&c, Profile::Cilium, None, &[]).unwrap();
        assert_eq!(r.data_path.release(), Some(Release::new(1, 20)));
        assert!(r.notes[0].contains("newest release"), "{:?}", r.notes);
        c.endpoints
            .push(agent("quay.io/cilium/cilium:v1.19.3@sha256:ab"));
        let r = resolve_data_path(&c, Profile::Cilium, None, &[]).unwrap();
        assert_eq!(r.data_path.version, Some(Release::new(1, 19)));
        assert!(r.facts[0].source.contains("quay.io/cilium/cilium:v1.19.3"));
        assert!(r.notes.is_empty());
        let r = resolve_data_path(&c, Profile::Cilium, Some(Release::new(1, 18)), &[]).unwrap();
        assert_eq!(r.data_path.version, Some(Release::new(1, 18)));
        // a Cilium image says nothing of Calico's release
        let r = resolve_data_path(&c, Profile::Calico, None, &[]).unwrap();
        assert_eq!(r.data_path.version, None);
        c.endpoints.push(agent("docker.io/calico/node:v3.31.1"));
        let r = resolve_data_path(&c, Profile::Calico, None, &[]).unwrap();
        assert_eq!(r.data_path.version, Some(Release::new(3, 31)));
    }

    #[test]
    fn settings_come_from_cilium_config_then_the_command_line() {
        let mut c = Cluster {
            cilium_config: Some(AgentConfig {
                data: [(
                    "enable-k8s-cluster-network-policy".to_string(),
                    "true".to_string(),
                )]
                .into(),
                origin: Default::default(),
            }),
            ..Cluster::default()
        };
        c.nodes.push(Node {
            name: "n1".into(),
            labels: Default::default(),
            addresses: Vec::new(),
            kubelet_version: Some("v1.36.2".into()),
            origin: Default::default(),
        });
        let r = resolve_data_path(&c, Profile::Cilium, None, &[]).unwrap();
        assert!(r.data_path.enforces_cluster_network_policies());
        assert_eq!(r.data_path.kubernetes, Some(Release::new(1, 36)));
        let off = ["enable-k8s-cluster-network-policy=false".to_string()];
        let r = resolve_data_path(&c, Profile::Cilium, None, &off).unwrap();
        assert!(!r.data_path.enforces_cluster_network_policies());
        assert_eq!(
            r.facts
                .iter()
                .find(|f| f.name.starts_with("enable-k8s"))
                .unwrap()
                .source,
            "--cni-setting"
        );
        let k = ["kubernetes=1.35".to_string()];
        let r = resolve_data_path(&c, Profile::Cilium, None, &k).unwrap();
        assert_eq!(r.data_path.kubernetes, Some(Release::new(1, 35)));
        assert!(resolve_data_path(&c, Profile::Cilium, None, &["nope".into()]).is_err());
        assert!(resolve_data_path(&c, Profile::Cilium, None, &["x=true".into()]).is_err());
    }
}
