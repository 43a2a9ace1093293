//! Policy generation: the seed's default-deny bash loop and DNS allowance as one step, with
//! every generated policy checked by the engine before it is emitted: with the policies
//! applied, the target namespaces must have a default deny in both directions (NP101) and every
//! workload must still resolve names on UDP and TCP 53 (NP001, NP002).
#![forbid(unsafe_code)]
#![deny(
    clippy::disallowed_methods,
    reason = "generation is pure: the CLI writes the files"
)]
#![warn(missing_docs)]

pub mod from_flows;

use std::fmt::Write as _;

use netfence_audit::{AuditConfig, AuditCtx, Selection};
use netfence_engine::Profile;
use netfence_model::cluster::{CLUSTER_DNS_LABEL, NAMESPACE_NAME_LABEL};
use netfence_model::{
    Cluster, LabelSelector, NetworkPolicy, NpPeer, NpPort, NpRule, Origin, PortRef, Protocol,
};

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

/// One generated policy: its namespace, name and YAML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// The namespace.
    pub namespace: String,
    /// The policy name.
    pub name: String,
    /// The manifest.
    pub yaml: String,
}

fn default_deny(ns: &str) -> (NetworkPolicy, String) {
    let p = NetworkPolicy {
        namespace: ns.into(),
        name: "default-deny-all".into(),
        pod_selector: LabelSelector::everything(),
        ingress: Some(Vec::new()),
        egress: Some(Vec::new()),
        annotations: Default::default(),
        origin: Origin::default(),
    };
    let yaml = format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: default-deny-all\n  namespace: {ns}\n  labels:\n    app.kubernetes.io/managed-by: netfence\nspec:\n  podSelector: {{}}\n  policyTypes:\n  - Ingress\n  - Egress\n"
    );
    (p, yaml)
}

fn dns(ns: &str, dns_namespace: &str) -> (NetworkPolicy, String) {
    let peer = NpPeer::Pods {
        namespaces: Some(LabelSelector::from_labels([(
            NAMESPACE_NAME_LABEL,
            dns_namespace,
        )])),
        pods: Some(LabelSelector::from_labels([CLUSTER_DNS_LABEL])),
    };
    let ports = [Protocol::Udp, Protocol::Tcp]
        .map(|protocol| NpPort {
            protocol,
            port: Some(PortRef::Number(53)),
            end_port: None,
        })
        .to_vec();
    let p = NetworkPolicy {
        namespace: ns.into(),
        name: "allow-dns-egress".into(),
        pod_selector: LabelSelector::everything(),
        ingress: None,
        egress: Some(vec![NpRule {
            peers: Some(vec![peer]),
            ports: Some(ports),
            line: None,
        }]),
        annotations: Default::default(),
        origin: Origin::default(),
    };
    let yaml = format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: allow-dns-egress\n  namespace: {ns}\n  labels:\n    app.kubernetes.io/managed-by: netfence\nspec:\n  podSelector: {{}}\n  policyTypes:\n  - Egress\n  egress:\n  - to:\n    - namespaceSelector:\n        matchLabels:\n          {NAMESPACE_NAME_LABEL}: {dns_namespace}\n      podSelector:\n        matchLabels:\n          k8s-app: kube-dns\n    ports:\n    - protocol: UDP\n      port: 53\n    - protocol: TCP\n      port: 53\n"
    );
    (p, yaml)
}

/// Generates policies of `kind` for `namespaces`, checks them with the engine, and returns them
/// (or what the check found wrong).
pub fn generate(
    cluster: &Cluster,
    profile: Profile,
    namespaces: &[String],
    kind: Kind,
) -> Result<Vec<Generated>, String> {
    let dns_ns = cluster
        .endpoints
        .iter()
        .find(|e| e.is_cluster_dns())
        .map_or("kube-system".to_string(), |e| e.namespace.clone());
    let mut out = Vec::new();
    let mut with = cluster.clone();
    for ns in namespaces {
        let mut parts = Vec::new();
        if let Kind::DefaultDeny { .. } = kind {
            parts.push(default_deny(ns));
        }
        if matches!(kind, Kind::Dns | Kind::DefaultDeny { with_dns: true }) {
            parts.push(dns(ns, &dns_ns));
        }
        for (p, yaml) in parts {
            out.push(Generated {
                namespace: ns.clone(),
                name: p.name.clone(),
                yaml,
            });
            with.network_policies.push(p);
        }
    }
    // The proof: audit the cluster with the policies applied.
    let config = AuditConfig {
        system_namespaces: Vec::new(),
        ..AuditConfig::default()
    };
    let ctx = AuditCtx::new(&with, profile, config);
    let mut codes = vec!["NP001".to_string(), "NP002".to_string()];
    if let Kind::DefaultDeny { .. } = kind {
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
