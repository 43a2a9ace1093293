//! Which kinds netfence reads, under which API versions, and what it says about the others.
//!
//! A document whose kind or API group belongs to a policy dialect netfence knows is either
//! read, or an error that says why (removed version, unsupported version, misspelled kind,
//! kind not modelled): a policy never disappears silently. Other kinds are skipped and counted.

use crate::schema::nearest;

/// A kind netfence reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Namespace,
    Node,
    /// Read for the Cilium agent's `cilium-config` only.
    ConfigMap,
    /// cert-manager `Certificate` (readiness and expiry).
    Certificate,
    /// Read for Istio's CA secrets only (their certificates' expiry).
    Secret,
    Pod,
    /// Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, ReplicationController.
    Workload,
    CronJob,
    Service,
    NetworkPolicy,
    /// Calico's StagedKubernetesNetworkPolicy: a NetworkPolicy spec and a `stagedAction`.
    StagedNetworkPolicy,
    Ingress,
    Route,
    AdminPolicy {
        baseline: bool,
    },
    ClusterNetworkPolicy,
    CalicoPolicy {
        global: bool,
        staged: bool,
    },
    CalicoTier,
    CalicoNetworkSet {
        global: bool,
    },
    CiliumPolicy {
        clusterwide: bool,
    },
    CiliumCidrGroup,
    PeerAuthentication,
    AuthorizationPolicy,
    AuditPolicy,
}

impl Kind {
    /// A policy of some dialect (as opposed to the inventory it applies to).
    pub(crate) fn is_policy(self) -> bool {
        !matches!(
            self,
            Kind::Namespace
                | Kind::Node
                | Kind::ConfigMap
                | Kind::Secret
                | Kind::Pod
                | Kind::Workload
                | Kind::CronJob
                | Kind::Service
                | Kind::Ingress
                | Kind::Route
        )
    }

    /// Objects of this kind live in a namespace.
    pub(crate) fn namespaced(self) -> bool {
        !matches!(
            self,
            Kind::Namespace
                | Kind::Node
                | Kind::AdminPolicy { .. }
                | Kind::ClusterNetworkPolicy
                | Kind::CalicoPolicy { global: true, .. }
                | Kind::CalicoTier
                | Kind::CalicoNetworkSet { global: true }
                | Kind::CiliumPolicy { clusterwide: true }
                | Kind::CiliumCidrGroup
                | Kind::AuditPolicy
        )
    }
}

/// What to do with a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Class {
    Read(Kind),
    /// A kind netfence does not model and that decides no verdict.
    Skip,
    /// A policy-like object netfence cannot read: `(field, message, help)`.
    Refuse(&'static str, String, Option<String>),
}

struct Entry {
    kind: &'static str,
    /// `group/version` strings served for it (a core kind: `v1`).
    served: &'static [&'static str],
    /// Versions the API no longer serves: `(apiVersion, release that removed it)`.
    removed: &'static [(&'static str, &'static str)],
    read: Option<Kind>,
    /// A policy dialect's kind (never skipped silently).
    policy: bool,
}

const CALICO: &[&str] = &["projectcalico.org/v3", "crd.projectcalico.org/v1"];
const ISTIO: &[&str] = &["security.istio.io/v1", "security.istio.io/v1beta1"];
const APPS_REMOVED: &[(&str, &str)] = &[
    ("extensions/v1beta1", "1.16"),
    ("apps/v1beta1", "1.16"),
    ("apps/v1beta2", "1.16"),
];

const fn e(
    kind: &'static str,
    served: &'static [&'static str],
    removed: &'static [(&'static str, &'static str)],
    read: Option<Kind>,
    policy: bool,
) -> Entry {
    Entry {
        kind,
        served,
        removed,
        read,
        policy,
    }
}

const TABLE: &[Entry] = &[
    e("Namespace", &["v1"], &[], Some(Kind::Namespace), false),
    e("Node", &["v1"], &[], Some(Kind::Node), false),
    e("ConfigMap", &["v1"], &[], Some(Kind::ConfigMap), false),
    e("Secret", &["v1"], &[], Some(Kind::Secret), false),
    e(
        "Certificate",
        &["cert-manager.io/v1"],
        &[],
        Some(Kind::Certificate),
        false,
    ),
    e("Pod", &["v1"], &[], Some(Kind::Pod), false),
    e("Service", &["v1"], &[], Some(Kind::Service), false),
    e(
        "ReplicationController",
        &["v1"],
        &[],
        Some(Kind::Workload),
        false,
    ),
    e(
        "Deployment",
        &["apps/v1"],
        APPS_REMOVED,
        Some(Kind::Workload),
        false,
    ),
    e(
        "ReplicaSet",
        &["apps/v1"],
        APPS_REMOVED,
        Some(Kind::Workload),
        false,
    ),
    e(
        "StatefulSet",
        &["apps/v1"],
        APPS_REMOVED,
        Some(Kind::Workload),
        false,
    ),
    e(
        "DaemonSet",
        &["apps/v1"],
        APPS_REMOVED,
        Some(Kind::Workload),
        false,
    ),
    e("Job", &["batch/v1"], &[], Some(Kind::Workload), false),
    e(
        "CronJob",
        &["batch/v1"],
        &[("batch/v1beta1", "1.25"), ("batch/v2alpha1", "1.21")],
        Some(Kind::CronJob),
        false,
    ),
    e(
        "Ingress",
        &["networking.k8s.io/v1"],
        &[
            ("extensions/v1beta1", "1.22"),
            ("networking.k8s.io/v1beta1", "1.22"),
        ],
        Some(Kind::Ingress),
        false,
    ),
    e(
        "Route",
        &["route.openshift.io/v1", "v1"],
        &[],
        Some(Kind::Route),
        false,
    ),
    e(
        "NetworkPolicy",
        &["networking.k8s.io/v1"],
        &[("extensions/v1beta1", "1.16")],
        Some(Kind::NetworkPolicy),
        true,
    ),
    e(
        "AdminNetworkPolicy",
        &["policy.networking.k8s.io/v1alpha1"],
        &[],
        Some(Kind::AdminPolicy { baseline: false }),
        true,
    ),
    e(
        "BaselineAdminNetworkPolicy",
        &["policy.networking.k8s.io/v1alpha1"],
        &[],
        Some(Kind::AdminPolicy { baseline: true }),
        true,
    ),
    e(
        "ClusterNetworkPolicy",
        &[
            "policy.networking.k8s.io/v1beta1",
            "policy.networking.k8s.io/v1alpha2",
        ],
        &[],
        Some(Kind::ClusterNetworkPolicy),
        true,
    ),
    e(
        "NetworkPolicy",
        CALICO,
        &[],
        Some(Kind::CalicoPolicy {
            global: false,
            staged: false,
        }),
        true,
    ),
    e(
        "GlobalNetworkPolicy",
        CALICO,
        &[],
        Some(Kind::CalicoPolicy {
            global: true,
            staged: false,
        }),
        true,
    ),
    e(
        "StagedNetworkPolicy",
        CALICO,
        &[],
        Some(Kind::CalicoPolicy {
            global: false,
            staged: true,
        }),
        true,
    ),
    e(
        "StagedGlobalNetworkPolicy",
        CALICO,
        &[],
        Some(Kind::CalicoPolicy {
            global: true,
            staged: true,
        }),
        true,
    ),
    e(
        "StagedKubernetesNetworkPolicy",
        CALICO,
        &[],
        Some(Kind::StagedNetworkPolicy),
        true,
    ),
    e("Tier", CALICO, &[], Some(Kind::CalicoTier), true),
    e(
        "NetworkSet",
        CALICO,
        &[],
        Some(Kind::CalicoNetworkSet { global: false }),
        true,
    ),
    e(
        "GlobalNetworkSet",
        CALICO,
        &[],
        Some(Kind::CalicoNetworkSet { global: true }),
        true,
    ),
    e(
        "CiliumNetworkPolicy",
        &["cilium.io/v2"],
        &[],
        Some(Kind::CiliumPolicy { clusterwide: false }),
        true,
    ),
    e(
        "CiliumClusterwideNetworkPolicy",
        &["cilium.io/v2"],
        &[],
        Some(Kind::CiliumPolicy { clusterwide: true }),
        true,
    ),
    e(
        "CiliumCIDRGroup",
        &["cilium.io/v2alpha1", "cilium.io/v2"],
        &[],
        Some(Kind::CiliumCidrGroup),
        true,
    ),
    e(
        "PeerAuthentication",
        ISTIO,
        &[],
        Some(Kind::PeerAuthentication),
        true,
    ),
    e(
        "AuthorizationPolicy",
        ISTIO,
        &[],
        Some(Kind::AuthorizationPolicy),
        true,
    ),
    e(
        "Policy",
        &["audit.k8s.io/v1"],
        &[
            ("audit.k8s.io/v1beta1", "1.24"),
            ("audit.k8s.io/v1alpha1", "1.24"),
        ],
        Some(Kind::AuditPolicy),
        true,
    ),
];

/// API groups whose kinds are policy dialects.
const DIALECT_GROUPS: &[&str] = &[
    "networking.k8s.io",
    "policy.networking.k8s.io",
    "projectcalico.org",
    "crd.projectcalico.org",
    "cilium.io",
    "security.istio.io",
    "audit.k8s.io",
];

fn group_of(api: &str) -> &str {
    match api.rsplit_once('/') {
        Some((g, _)) => g,
        None => "",
    }
}

fn served_list(e: &Entry) -> String {
    e.served
        .iter()
        .filter(|s| s.contains('/') || e.served.len() == 1)
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// Classifies a document by its `apiVersion` and `kind`.
pub(crate) fn classify(api: &str, kind: &str) -> Class {
    let same_kind: Vec<&Entry> = TABLE.iter().filter(|e| e.kind == kind).collect();
    if let Some(e) = same_kind.iter().find(|e| e.served.contains(&api)) {
        return match e.read {
            Some(k) => Class::Read(k),
            None => Class::Refuse(
                "kind",
                format!("{kind} ({api}) is not modelled by netfence yet, so its effect on traffic cannot be analysed (what is modelled: docs/dialects/README.md)"),
                Some("remove it from the input to analyse the rest without it, knowing that the answers then ignore it".into()),
            ),
        };
    }
    if let Some(first) = same_kind.first() {
        if api.is_empty() {
            return Class::Refuse(
                "apiVersion",
                format!("the {kind} has no `apiVersion`"),
                Some(format!(
                    "the API server serves {kind} as {}",
                    served_list(first)
                )),
            );
        }
        if let Some((e, rel)) = same_kind.iter().find_map(|e| {
            e.removed
                .iter()
                .find(|(v, _)| *v == api)
                .map(|(_, r)| (e, r))
        }) {
            return Class::Refuse(
                "apiVersion",
                format!(
                    "{kind} `{api}` was removed in Kubernetes {rel}: no current cluster accepts it"
                ),
                Some(format!("use {}", served_list(e))),
            );
        }
        // The kind name exists in other groups: a dialect group it does not belong to, or
        // a version its group does not serve.
        let group = group_of(api);
        let in_group = same_kind
            .iter()
            .find(|e| e.served.iter().any(|s| group_of(s) == group));
        if let Some(e) = in_group {
            return Class::Refuse(
                "apiVersion",
                format!("{kind} is not served as `{api}`"),
                Some(format!("use {}", served_list(e))),
            );
        }
        let policy = same_kind.iter().any(|e| e.policy);
        if DIALECT_GROUPS.contains(&group) || policy && group.is_empty() {
            return Class::Refuse(
                "apiVersion",
                format!("{kind} is not a kind of `{api}`"),
                Some(format!(
                    "{kind} is served as {}",
                    same_kind
                        .iter()
                        .map(|e| served_list(e))
                        .collect::<Vec<_>>()
                        .join(", or as ")
                )),
            );
        }
        // e.g. `kind: Policy` of some other group
        return Class::Skip;
    }
    // Not a kind netfence knows by that spelling.
    let group = group_of(api);
    let candidates = TABLE
        .iter()
        .filter(|e| {
            DIALECT_GROUPS.contains(&group) && e.served.iter().any(|s| group_of(s) == group)
                || e.kind.eq_ignore_ascii_case(kind)
        })
        .map(|e| e.kind);
    if let Some(near) = nearest(kind, candidates) {
        return Class::Refuse(
            "kind",
            format!("unknown kind `{kind}`"),
            Some(format!("did you mean `{near}`? (kinds are case-sensitive)")),
        );
    }
    if DIALECT_GROUPS.contains(&group) && kind.contains("Policy") {
        return Class::Refuse(
            "kind",
            format!("{kind} ({api}) is a policy kind netfence does not know"),
            Some(
                "netfence cannot say what it allows or denies; remove it to analyse the rest"
                    .into(),
            ),
        );
    }
    Class::Skip
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(api: &str, kind: &str) -> String {
        match classify(api, kind) {
            Class::Refuse(_, m, h) => format!("{m} / {}", h.unwrap_or_default()),
            other => panic!("{api} {kind}: {other:?}"),
        }
    }

    #[test]
    fn known_kinds_are_read() {
        assert_eq!(
            classify("networking.k8s.io/v1", "NetworkPolicy"),
            Class::Read(Kind::NetworkPolicy)
        );
        assert_eq!(
            classify("projectcalico.org/v3", "NetworkPolicy"),
            Class::Read(Kind::CalicoPolicy {
                global: false,
                staged: false
            })
        );
        assert_eq!(classify("v1", "ConfigMap"), Class::Read(Kind::ConfigMap));
        assert_eq!(classify("example.com/v1", "Policy"), Class::Skip);
        assert_eq!(classify("cilium.io/v2", "CiliumEndpoint"), Class::Skip);
    }

    #[test]
    fn policy_like_objects_are_refused_with_a_reason() {
        assert!(refused("", "NetworkPolicy").contains("no `apiVersion`"));
        assert!(
            refused("extensions/v1beta1", "NetworkPolicy").contains("removed in Kubernetes 1.16")
        );
        assert!(refused("networking.k8s.io/v1", "networkpolicy")
            .contains("did you mean `NetworkPolicy`"));
        assert!(
            refused("cilium.io/v1", "CiliumNetworkPolicy").contains("not served as `cilium.io/v1`")
        );
        assert!(refused("cilium.io/v2", "CiliumNetworkPolicyy").contains("did you mean"));
        assert!(
            refused("policy.networking.k8s.io/v1alpha1", "ClusterNetworkPolicy")
                .contains("not served")
        );
        assert!(refused("v1", "NetworkPolicy").contains("not a kind of `v1`"));
    }
}
