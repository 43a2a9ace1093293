//! What rules see: the cluster, the engine, lazily computed analyses, and the configuration.

use std::sync::OnceLock;

use netfence_engine::connectivity::{compute, Connectivity};
use netfence_engine::eval::Evaluator;
use netfence_engine::exposure::{self, Exposure};
use netfence_engine::Profile;
use netfence_model::cluster::CLUSTER_DNS_LABEL;
use netfence_model::{Cluster, Endpoint, Labels, NamedPort, Origin, Protocol};

use crate::diagnostic::{Diagnostic, Subject};
use crate::SUPPRESS_ANNOTATION;

/// Audit settings.
#[derive(Debug, Clone)]
pub struct AuditConfig {
    /// Namespaces the namespace-level rules leave alone (a default-deny sweep usually skips kube-system and
    /// kube-public).
    pub system_namespaces: Vec<String>,
    /// The namespace label that names an environment, and the value that means production.
    pub env_label: (String, String),
    /// Cilium's `bpf-policy-map-max`: the policy map entries an endpoint may hold (CIL101).
    pub policy_map_max: usize,
    /// The time of the audit (Unix seconds), for certificate expiry (IST101); `None`: expiry
    /// is not checked (the audit stays a pure function of its input).
    pub now: Option<i64>,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            system_namespaces: ["kube-system", "kube-public", "kube-node-lease"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            env_label: ("env".into(), "production".into()),
            policy_map_max: netfence_engine::policy_map::DEFAULT_POLICY_MAP_MAX,
            now: None,
        }
    }
}

/// The context of one audit run.
pub struct AuditCtx<'a> {
    /// The inventory.
    pub cluster: &'a Cluster,
    /// The CNI profile.
    pub profile: Profile,
    /// The data path (the CNI, its release and settings).
    pub data_path: netfence_engine::DataPath,
    /// The evaluator.
    pub ev: Evaluator<'a>,
    /// Settings.
    pub config: AuditConfig,
    map: OnceLock<Connectivity>,
    exposure: OnceLock<Exposure>,
    dns: OnceLock<Vec<Endpoint>>,
    by_namespace: OnceLock<std::collections::HashMap<String, Vec<usize>>>,
}

impl<'a> AuditCtx<'a> {
    /// A context over `cluster`.
    pub fn new(
        cluster: &'a Cluster,
        data_path: impl Into<netfence_engine::DataPath>,
        config: AuditConfig,
    ) -> Self {
        let data_path: netfence_engine::DataPath = data_path.into();
        Self {
            cluster,
            profile: data_path.cni,
            data_path,
            ev: Evaluator::new(cluster, data_path),
            config,
            map: OnceLock::new(),
            exposure: OnceLock::new(),
            dns: OnceLock::new(),
            by_namespace: OnceLock::new(),
        }
    }

    /// The endpoints of namespace `ns`, in id order (indexed once: rules that look at the
    /// subjects of every policy would otherwise scan every endpoint per policy).
    pub fn endpoints_in(&self, ns: &str) -> &[usize] {
        self.namespace_index()
            .get(ns)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// Every namespace that has endpoints, in no particular order.
    pub fn endpoint_namespaces(&self) -> impl Iterator<Item = &str> {
        self.namespace_index().keys().map(String::as_str)
    }

    fn namespace_index(&self) -> &std::collections::HashMap<String, Vec<usize>> {
        self.by_namespace.get_or_init(|| {
            let mut m: std::collections::HashMap<String, Vec<usize>> =
                std::collections::HashMap::new();
            for (id, e) in self.cluster.endpoints.iter().enumerate() {
                m.entry(e.namespace.clone()).or_default().push(id);
            }
            m
        })
    }

    /// The connectivity map (computed once).
    pub fn map(&self) -> &Connectivity {
        self.map.get_or_init(|| compute(self.cluster, self.profile))
    }

    /// Exposure analysis of every workload (computed once).
    pub fn exposure(&self) -> &Exposure {
        self.exposure
            .get_or_init(|| exposure::compute(self.cluster, self.profile, &|_| true))
    }

    /// Whether `ns` is a system namespace.
    pub fn is_system(&self, ns: &str) -> bool {
        self.config.system_namespaces.iter().any(|s| s == ns)
    }

    /// The cluster DNS pods: workloads labelled `k8s-app=kube-dns`, or, when the inventory has
    /// none, the standard CoreDNS pod of kube-system (so DNS checks work on policy-only input).
    pub fn dns_endpoints(&self) -> &[Endpoint] {
        self.dns.get_or_init(|| {
            let found: Vec<Endpoint> = self
                .cluster
                .endpoints
                .iter()
                .filter(|e| e.is_cluster_dns())
                .cloned()
                .collect();
            if !found.is_empty() {
                return found;
            }
            vec![Endpoint {
                labels: Labels::from([(
                    CLUSTER_DNS_LABEL.0.to_string(),
                    CLUSTER_DNS_LABEL.1.to_string(),
                )]),
                service_account: "coredns".into(),
                named_ports: vec![
                    NamedPort {
                        name: "dns".into(),
                        port: 53,
                        protocol: Protocol::Udp,
                    },
                    NamedPort {
                        name: "dns-tcp".into(),
                        port: 53,
                        protocol: Protocol::Tcp,
                    },
                ],
                container_ports: vec![(53, Protocol::Udp), (53, Protocol::Tcp)],
                ..Endpoint::bare("kube-system", "coredns", "Deployment")
            }]
        })
    }

    /// The namespace's declaration, when the input has one.
    pub fn namespace_origin(&self, ns: &str) -> Option<Origin> {
        self.cluster
            .namespaces
            .get(ns)
            .and_then(|n| n.origin.clone())
    }

    fn annotations(&self, s: &Subject) -> Option<&Labels> {
        match s {
            Subject::Namespace(n) => self.cluster.namespaces.get(n).map(|n| &n.annotations),
            Subject::Workload(i) => self.cluster.endpoints.get(*i).map(|e| &e.annotations),
            Subject::NetworkPolicy(i) => self
                .cluster
                .policies
                .network_policies()
                .get(*i)
                .map(|p| &p.annotations),
            Subject::Object(key) => self.cluster.object_annotations.get(key),
            Subject::Cluster => None,
        }
    }

    /// Whether the finding's object carries a suppression for its code.
    pub fn suppressed(&self, d: &Diagnostic) -> bool {
        let Some(value) = self
            .annotations(&d.subject)
            .and_then(|a| a.get(SUPPRESS_ANNOTATION))
        else {
            return false;
        };
        value
            .split(',')
            .map(str::trim)
            .any(|p| !p.is_empty() && d.code.starts_with(p))
    }
}
