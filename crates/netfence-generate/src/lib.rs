//! Policy generation: a namespace default deny and the DNS allowance as one step (as
//! NetworkPolicies or as ClusterNetworkPolicies), with every generated policy proved before it
//! is emitted: serialized, loaded back, and with the policies applied the target namespaces
//! must have a default deny in both directions (NP101) and every workload must still resolve
//! names on UDP and TCP 53 (NP001, NP002).
#![forbid(unsafe_code)]
#![deny(
    clippy::disallowed_methods,
    reason = "generation is pure: the CLI writes the files"
)]
#![warn(missing_docs)]

pub mod from_flows;

use std::fmt::Write as _;

use netfence_audit::{AuditConfig, AuditCtx, Selection};

use netfence_model::cluster::{CLUSTER_DNS_LABEL, NAMESPACE_NAME_LABEL};
use netfence_model::Cluster;

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `default-deny-all` (ingress and egress), optionally with the DNS allowance.
    DefaultDeny {
        /// Also emit `allow-dns-egress`.
        with_dns: bool,
    },
    /// `allow-dns-egress` only.
    Dns,
}

/// Which resources express the generated policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Form {
    /// Namespaced Kubernetes NetworkPolicies, one set per namespace.
    #[default]
    NetworkPolicy,
    /// ClusterNetworkPolicies (network-policy-api v1alpha2): the default deny as one Baseline
    /// tier policy over the namespaces (NetworkPolicies still override it), the DNS allowance
    /// as one Admin tier Accept.
    ClusterNetworkPolicy,
}

/// One generated policy: its namespace (empty for a cluster-scoped one), name and YAML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// The namespace; empty for a cluster-scoped policy.
    pub namespace: String,
    /// The policy name.
    pub name: String,
    /// The manifest.
    pub yaml: String,
}

const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "netfence");

fn default_deny(ns: &str) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "default-deny-all", "namespace": ns, "labels": {MANAGED_BY.0: MANAGED_BY.1}},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
    })
}

fn dns_peer(dns_namespace: &str) -> serde_json::Value {
    serde_json::json!({
        "namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: dns_namespace}},
        "podSelector": {"matchLabels": {CLUSTER_DNS_LABEL.0: CLUSTER_DNS_LABEL.1}},
    })
}

fn dns(ns: &str, dns_namespace: &str) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "allow-dns-egress", "namespace": ns, "labels": {MANAGED_BY.0: MANAGED_BY.1}},
        "spec": {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [{
                "to": [dns_peer(dns_namespace)],
                "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
            }],
        },
    })
}

/// The subject of the namespaces, by their `kubernetes.io/metadata.name` label.
fn cnp_subject(namespaces: &[String]) -> serde_json::Value {
    serde_json::json!({"namespaces": {"matchExpressions": [
        {"key": NAMESPACE_NAME_LABEL, "operator": "In", "values": namespaces},
    ]}})
}

/// The default deny as a Baseline ClusterNetworkPolicy: every pod peer, and every address for
/// egress (v1alpha2 ingress peers are pods only: ingress from outside the cluster is left to
/// NetworkPolicies).
fn cnp_default_deny(namespaces: &[String]) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "policy.networking.k8s.io/v1alpha2",
        "kind": "ClusterNetworkPolicy",
        "metadata": {"name": "netfence-default-deny", "labels": {MANAGED_BY.0: MANAGED_BY.1}},
        "spec": {
            "tier": "Baseline",
            "priority": 1000,
            "subject": cnp_subject(namespaces),
            "ingress": [{"name": "deny-all-ingress", "action": "Deny", "from": [{"namespaces": {}}]}],
            "egress": [{"name": "deny-all-egress", "action": "Deny", "to": [
                {"namespaces": {}},
                {"networks": ["0.0.0.0/0", "::/0"]},
            ]}],
        },
    })
}

/// The DNS allowance as an Admin ClusterNetworkPolicy Accept (no NetworkPolicy can undo it).
fn cnp_dns(namespaces: &[String], dns_namespace: &str) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "policy.networking.k8s.io/v1alpha2",
        "kind": "ClusterNetworkPolicy",
        "metadata": {"name": "netfence-allow-dns", "labels": {MANAGED_BY.0: MANAGED_BY.1}},
        "spec": {
            "tier": "Admin",
            "priority": 1000,
            "subject": cnp_subject(namespaces),
            "egress": [{
                "name": "allow-dns",
                "action": "Accept",
                "to": [{"pods": {
                    "namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: dns_namespace}},
                    "podSelector": {"matchLabels": {CLUSTER_DNS_LABEL.0: CLUSTER_DNS_LABEL.1}},
                }}],
                "protocols": [
                    {"udp": {"destinationPort": {"number": 53}}},
                    {"tcp": {"destinationPort": {"number": 53}}},
                ],
            }],
        },
    })
}

/// Generates policies of `kind` in `form` for `namespaces`, then proves them: each object is
/// serialized, loaded back by the loader, added to the cluster, and the cluster audited; what
/// is printed is exactly what was proved. Returns the policies, or what the proof found wrong.
pub fn generate(
    cluster: &Cluster,
    profile: impl Into<netfence_engine::DataPath>,
    namespaces: &[String],
    kind: Kind,
    form: Form,
) -> Result<Vec<Generated>, String> {
    let profile: netfence_engine::DataPath = profile.into();
    let dns_ns = cluster
        .endpoints
        .iter()
        .find(|e| e.is_cluster_dns())
        .map_or("kube-system".to_string(), |e| e.namespace.clone());
    let deny = matches!(kind, Kind::DefaultDeny { .. });
    let with_dns = matches!(kind, Kind::Dns | Kind::DefaultDeny { with_dns: true });
    let mut objects: Vec<(String, serde_json::Value)> = Vec::new();
    match form {
        Form::NetworkPolicy => {
            for ns in namespaces {
                if deny {
                    objects.push((ns.clone(), default_deny(ns)));
                }
                if with_dns {
                    objects.push((ns.clone(), dns(ns, &dns_ns)));
                }
            }
        }
        Form::ClusterNetworkPolicy => {
            if !profile.enforces_cluster_network_policies() {
                return Err(format!(
                    "--cni {profile} does not enforce ClusterNetworkPolicy ({}): generate NetworkPolicies, or choose a data path that does (netfence cni)", profile.cluster_network_policy_gap().unwrap_or_default()
                ));
            }
            if deny {
                objects.push((String::new(), cnp_default_deny(namespaces)));
            }
            if with_dns {
                objects.push((String::new(), cnp_dns(namespaces, &dns_ns)));
            }
        }
    }
    let mut out = Vec::new();
    for (namespace, object) in objects {
        let yaml =
            serde_saphyr::to_string(&object).map_err(|e| format!("cannot write YAML: {e}"))?;
        let name = object
            .pointer("/metadata/name")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_string();
        out.push(Generated {
            namespace,
            name,
            yaml,
        });
    }
    // The proof: load what will be printed, and audit the cluster with it applied.
    let loaded = netfence_load::load(&[netfence_load::Source {
        name: "<generated>".into(),
        text: to_yaml(&out),
    }]);
    if let Some(e) = loaded.errors.first() {
        return Err(format!("a generated policy does not load: {e}"));
    }
    let mut with = cluster.clone();
    if with.policies.extend(loaded.cluster.policies).is_err() {
        return Err("the generated policies add a second BaselineAdminNetworkPolicy".into());
    }
    let config = AuditConfig {
        system_namespaces: Vec::new(),
        ..AuditConfig::default()
    };
    let ctx = AuditCtx::new(&with, profile, config);
    let mut codes = vec!["NP001".to_string(), "NP002".to_string()];
    if deny {
        codes.push("NP101".to_string());
    }
    let result = netfence_audit::run(
        &ctx,
        &Selection {
            select: codes,
            ignore: Vec::new(),
        },
    );
    let broken: Vec<String> = result
        .diagnostics
        .iter()
        .filter(|d| match &d.subject {
            netfence_audit::Subject::Namespace(n) => namespaces.contains(n),
            netfence_audit::Subject::Workload(i) => with
                .endpoints
                .get(*i)
                .is_some_and(|e| namespaces.contains(&e.namespace)),
            _ => false,
        })
        .map(|d| format!("{}: {}", d.code, d.message))
        .collect();
    if !broken.is_empty() {
        let hint = if kind == (Kind::DefaultDeny { with_dns: false })
            && broken.iter().any(|b| b.starts_with("NP001"))
        {
            "\n  help: add --with-dns to allow UDP and TCP 53 to kube-dns as well"
        } else {
            ""
        };
        return Err(format!(
            "the generated policies would leave problems, so none is emitted:\n  {}{hint}",
            broken.join("\n  ")
        ));
    }
    Ok(out)
}

/// The generated policies as one multi-document YAML stream.
pub fn to_yaml(generated: &[Generated]) -> String {
    let mut s = String::new();
    for (i, g) in generated.iter().enumerate() {
        if i > 0 {
            s.push_str("---\n");
        }
        let _ = write!(s, "{}", g.yaml);
    }
    s
}
