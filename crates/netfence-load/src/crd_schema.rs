//! The structural schemas of the custom resources netfence reads, written from the upstream
//! API types (field names and types only; value rules are checked by each dialect's loader):
//!
//! - Cilium `cilium.io/v2` (`pkg/policy/api`: rule.go, ingress.go, egress.go, l4.go, http.go,
//!   kafka, fqdn.go, cidr.go, service.go, groups.go, icmp.go);
//! - Calico `projectcalico.org/v3` (`api/pkg/apis/projectcalico/v3`: policy_common.go,
//!   networkpolicy.go, globalpolicy.go, stagednetworkpolicy.go, tier.go);
//! - Istio `security.istio.io` (authorization.proto, peer_authentication.proto, type selectors);
//! - network-policy-api `policy.networking.k8s.io/v1alpha1` (AdminNetworkPolicy,
//!   BaselineAdminNetworkPolicy);
//! - OpenShift `route.openshift.io/v1` Route and `audit.k8s.io/v1` Policy.
//!
//! `status` is free-form everywhere (the API server owns it).

use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;

use crate::schema::{builtin, extend, list, map, obj, Cache, Shape};

use Shape::{Any, Bool, Int, IntOrStr, Number, Str};

fn strings() -> Shape {
    list(Str)
}

fn label_selector() -> Shape {
    static C: Cache = Cache::new();
    C.get(builtin::<meta::LabelSelector>).clone()
}

fn object_meta() -> Shape {
    static C: Cache = Cache::new();
    C.get(builtin::<meta::ObjectMeta>).clone()
}

/// `apiVersion`, `kind`, `metadata`, `status` and the given top-level fields.
fn resource<const N: usize>(top: [(&str, Shape); N]) -> Shape {
    extend(
        &obj([
            ("apiVersion", Str),
            ("kind", Str),
            ("metadata", object_meta()),
            ("status", Any),
        ]),
        top,
    )
}

// ---------------------------------------------------------------- Cilium

fn cilium_rule() -> Shape {
    let selector = label_selector();
    let cidr_rule = || {
        obj([
            ("cidr", Str),
            ("cidrGroupRef", Str),
            ("cidrGroupSelector", label_selector()),
            ("except", strings()),
        ])
    };
    let port_protocol = || {
        obj([
            // a string in Cilium's types; numbers are read the same way
            ("port", IntOrStr),
            ("endPort", Int),
            ("protocol", Str),
        ])
    };
    let secret = || obj([("namespace", Str), ("name", Str)]);
    let tls = || {
        obj([
            ("secret", secret()),
            ("trustedCA", Str),
            ("certificate", Str),
            ("privateKey", Str),
        ])
    };
    let http = obj([
        ("path", Str),
        ("method", Str),
        ("host", Str),
        ("headers", strings()),
        (
            "headerMatches",
            list(obj([
                ("mismatch", Str),
                ("name", Str),
                ("secret", secret()),
                ("value", Str),
            ])),
        ),
    ]);
    let kafka = obj([
        ("role", Str),
        ("apiKey", Str),
        ("apiVersion", Str),
        ("clientID", Str),
        ("topic", Str),
    ]);
    let fqdn = || obj([("matchName", Str), ("matchPattern", Str)]);
    let l7_rules = obj([
        ("http", list(http)),
        ("kafka", list(kafka)),
        ("dns", list(fqdn())),
        ("l7proto", Str),
        ("l7", list(map(Str))),
    ]);
    let port_rule = obj([
        ("ports", list(port_protocol())),
        ("terminatingTLS", tls()),
        ("originatingTLS", tls()),
        ("serverNames", strings()),
        (
            "listener",
            obj([
                ("envoyConfig", obj([("kind", Str), ("name", Str)])),
                ("name", Str),
                ("priority", Int),
            ]),
        ),
        ("rules", l7_rules),
    ]);
    let port_deny_rule = obj([("ports", list(port_protocol()))]);
    let icmps = list(obj([(
        "fields",
        list(obj([("type", IntOrStr), ("family", Str)])),
    )]));
    let authentication = obj([("mode", Str)]);
    let groups = obj([(
        "aws",
        obj([
            ("labels", map(Str)),
            ("securityGroupsIds", strings()),
            ("securityGroupsNames", strings()),
            ("region", Str),
        ]),
    )]);
    let service = obj([
        (
            "k8sServiceSelector",
            obj([("selector", label_selector()), ("namespace", Str)]),
        ),
        (
            "k8sService",
            obj([("serviceName", Str), ("namespace", Str)]),
        ),
    ]);
    let ingress_common = |deny: bool| {
        let ports = if deny {
            port_deny_rule.clone()
        } else {
            port_rule.clone()
        };
        let base = obj([
            ("fromEndpoints", list(selector.clone())),
            ("fromRequires", list(selector.clone())),
            ("fromCIDR", strings()),
            ("fromCIDRSet", list(cidr_rule())),
            ("fromEntities", strings()),
            ("fromGroups", list(groups.clone())),
            ("fromNodes", list(selector.clone())),
            ("toPorts", list(ports)),
            ("icmps", icmps.clone()),
        ]);
        if deny {
            base
        } else {
            extend(&base, [("authentication", authentication.clone())])
        }
    };
    let egress_common = |deny: bool| {
        let ports = if deny {
            port_deny_rule.clone()
        } else {
            port_rule.clone()
        };
        let base = obj([
            ("toEndpoints", list(selector.clone())),
            ("toRequires", list(selector.clone())),
            ("toCIDR", strings()),
            ("toCIDRSet", list(cidr_rule())),
            ("toEntities", strings()),
            ("toServices", list(service.clone())),
            ("toGroups", list(groups.clone())),
            ("toNodes", list(selector.clone())),
            ("toPorts", list(ports)),
            ("icmps", icmps.clone()),
        ]);
        if deny {
            base
        } else {
            extend(
                &base,
                [
                    ("toFQDNs", list(fqdn())),
                    ("authentication", authentication.clone()),
                ],
            )
        }
    };
    obj([
        ("endpointSelector", label_selector()),
        ("nodeSelector", label_selector()),
        ("ingress", list(ingress_common(false))),
        ("ingressDeny", list(ingress_common(true))),
        ("egress", list(egress_common(false))),
        ("egressDeny", list(egress_common(true))),
        (
            "labels",
            list(obj([("key", Str), ("value", Str), ("source", Str)])),
        ),
        (
            "enableDefaultDeny",
            obj([("ingress", Bool), ("egress", Bool)]),
        ),
        ("description", Str),
        ("log", obj([("value", Str)])),
    ])
}

/// CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy.
/// CiliumCIDRGroup (cilium.io/v2alpha1 and v2).
pub(crate) fn cilium_cidr_group() -> &'static Shape {
    static C: Cache = Cache::new();
    C.get(|| resource([("spec", obj([("externalCIDRs", strings())]))]))
}

pub(crate) fn cilium_policy() -> &'static Shape {
    static C: Cache = Cache::new();
    C.get(|| {
        let rule = cilium_rule();
        resource([("spec", rule.clone()), ("specs", list(rule))])
    })
}

// ---------------------------------------------------------------- Calico

fn calico_rule() -> Shape {
    let entity = obj([
        ("nets", strings()),
        ("selector", Str),
        ("namespaceSelector", Str),
        ("services", obj([("name", Str), ("namespace", Str)])),
        ("ports", list(IntOrStr)),
        ("notNets", strings()),
        ("notSelector", Str),
        ("notPorts", list(IntOrStr)),
        (
            "serviceAccounts",
            obj([("names", strings()), ("selector", Str)]),
        ),
        ("domains", strings()),
    ]);
    let icmp = || obj([("type", Int), ("code", Int)]);
    obj([
        ("action", Str),
        ("protocol", IntOrStr),
        ("notProtocol", IntOrStr),
        ("icmp", icmp()),
        ("notICMP", icmp()),
        ("ipVersion", Int),
        ("source", entity.clone()),
        ("destination", entity),
        (
            "http",
            obj([
                ("methods", strings()),
                ("paths", list(obj([("exact", Str), ("prefix", Str)]))),
            ]),
        ),
        ("metadata", obj([("annotations", map(Str))])),
    ])
}

fn calico_spec(global: bool, staged: bool) -> Shape {
    let rules = || list(calico_rule());
    let base = obj([
        ("tier", Str),
        ("order", Number),
        ("selector", Str),
        ("types", strings()),
        ("ingress", rules()),
        ("egress", rules()),
        ("serviceAccountSelector", Str),
        ("performanceHints", strings()),
    ]);
    let base = if global {
        extend(
            &base,
            [
                ("doNotTrack", Bool),
                ("preDNAT", Bool),
                ("applyOnForward", Bool),
                ("namespaceSelector", Str),
            ],
        )
    } else {
        base
    };
    if staged {
        extend(&base, [("stagedAction", Str)])
    } else {
        base
    }
}

/// Calico NetworkPolicy, GlobalNetworkPolicy and their staged forms.
pub(crate) fn calico_policy(global: bool, staged: bool) -> &'static Shape {
    static C: [Cache; 4] = [Cache::new(), Cache::new(), Cache::new(), Cache::new()];
    let i = usize::from(global) * 2 + usize::from(staged);
    match C.get(i) {
        Some(c) => c.get(|| resource([("spec", calico_spec(global, staged))])),
        None => &Shape::Any,
    }
}

/// Calico Tier.
/// Calico NetworkSet and GlobalNetworkSet (`allowedEgressDomains` is Calico Enterprise's).
pub(crate) fn calico_network_set() -> &'static Shape {
    static C: Cache = Cache::new();
    C.get(|| {
        resource([(
            "spec",
            obj([("nets", list(Str)), ("allowedEgressDomains", list(Str))]),
        )])
    })
}

pub(crate) fn calico_tier() -> &'static Shape {
    static C: Cache = Cache::new();
    C.get(|| resource([("spec", obj([("order", Number), ("defaultAction", Str)]))]))
}

// ---------------------------------------------------------------- Istio

fn istio_selector() -> Shape {
    obj([("matchLabels", map(Str))])
}

fn istio_target_ref() -> Shape {
    obj([
        ("group", Str),
        ("kind", Str),
        ("name", Str),
        ("namespace", Str),
    ])
}

/// Istio AuthorizationPolicy (v1beta1 and v1).
pub(crate) fn istio_authorization_policy() -> &'static Shape {
    static C: Cache = Cache::new();
    C.get(|| {
        let source = obj([
            ("principals", strings()),
            ("notPrincipals", strings()),
            ("requestPrincipals", strings()),
            ("notRequestPrincipals", strings()),
            ("namespaces", strings()),
            ("notNamespaces", strings()),
            ("ipBlocks", strings()),
            ("notIpBlocks", strings()),
            ("remoteIpBlocks", strings()),
            ("notRemoteIpBlocks", strings()),
            ("serviceAccounts", strings()),
            ("notServiceAccounts", strings()),
        ]);
        let operation = obj([
            ("hosts", strings()),
            ("notHosts", strings()),
            ("ports", list(IntOrStr)),
            ("notPorts", list(IntOrStr)),
            ("methods", strings()),
            ("notMethods", strings()),
            ("paths", strings()),
            ("notPaths", strings()),
        ]);
        let rule = obj([
            ("from", list(obj([("source", source)]))),
            ("to", list(obj([("operation", operation)]))),
            (
                "when",
                list(obj([
                    ("key", Str),
                    ("values", strings()),
                    ("notValues", strings()),
                ])),
            ),
        ]);
        resource([(
            "spec",
            obj([
                ("selector", istio_selector()),
                ("targetRef", istio_target_ref()),
                ("targetRefs", list(istio_target_ref())),
                ("rules", list(rule)),
                ("action", Str),
                ("provider", obj([("name", Str)])),
            ]),
        )])
    })
}

/// Istio PeerAuthentication (v1beta1 and v1).
pub(crate) fn istio_peer_authentication() -> &'static Shape {
    static C: Cache = Cache::new();
    C.get(|| {
        let mtls = || obj([("mode", Str)]);
        resource([(
            "spec",
            obj([
                ("selector", istio_selector()),
                ("mtls", mtls()),
                ("portLevelMtls", map(mtls())),
            ]),
        )])
    })
}

// ---------------------------------------------------------------- network-policy-api

/// The subject and the ingress and egress peers, which v1alpha1 and v1alpha2 share.
fn admin_subject_and_peers() -> (Shape, Shape, Shape) {
    let pods = || {
        obj([
            ("namespaceSelector", label_selector()),
            ("podSelector", label_selector()),
        ])
    };
    let subject = obj([("namespaces", label_selector()), ("pods", pods())]);
    let ingress_peer = obj([("namespaces", label_selector()), ("pods", pods())]);
    let egress_peer = extend(
        &ingress_peer,
        [
            ("nodes", label_selector()),
            ("networks", strings()),
            ("domainNames", strings()),
        ],
    );
    (subject, ingress_peer, egress_peer)
}

/// AdminNetworkPolicy (`baseline == false`) and BaselineAdminNetworkPolicy.
pub(crate) fn admin_policy(baseline: bool) -> &'static Shape {
    static C: [Cache; 2] = [Cache::new(), Cache::new()];
    match C.get(usize::from(baseline)) {
        Some(c) => c.get(|| {
            let (subject, ingress_peer, egress_peer) = admin_subject_and_peers();
            let ports = list(obj([
                ("portNumber", obj([("protocol", Str), ("port", Int)])),
                ("namedPort", Str),
                (
                    "portRange",
                    obj([("protocol", Str), ("start", Int), ("end", Int)]),
                ),
            ]));
            let rule = |peer_key: &str, peer: Shape| {
                obj([
                    ("name", Str),
                    ("action", Str),
                    (peer_key, list(peer)),
                    ("ports", ports.clone()),
                ])
            };
            let mut spec = obj([
                ("subject", subject),
                ("ingress", list(rule("from", ingress_peer))),
                ("egress", list(rule("to", egress_peer))),
            ]);
            if !baseline {
                spec = extend(&spec, [("priority", Int)]);
            }
            resource([("spec", spec)])
        }),
        None => &Shape::Any,
    }
}

/// ClusterNetworkPolicy (`policy.networking.k8s.io/v1alpha2`), from upstream's
/// `apis/v1alpha2/clusternetworkpolicy_types.go` (experimental channel: `nodes` and
/// `domainNames` peers).
pub(crate) fn cluster_network_policy() -> &'static Shape {
    static C: Cache = Cache::new();
    C.get(|| {
        let (subject, ingress_peer, egress_peer) = admin_subject_and_peers();
        let port = obj([
            ("number", Int),
            ("range", obj([("start", Int), ("end", Int)])),
        ]);
        let proto = || obj([("destinationPort", port.clone())]);
        let protocols = list(obj([
            ("tcp", proto()),
            ("udp", proto()),
            ("sctp", proto()),
            ("destinationNamedPort", Str),
        ]));
        let rule = |peer_key: &str, peer: Shape| {
            obj([
                ("name", Str),
                ("action", Str),
                (peer_key, list(peer)),
                ("protocols", protocols.clone()),
            ])
        };
        resource([(
            "spec",
            obj([
                ("tier", Str),
                ("priority", Int),
                ("subject", subject),
                ("ingress", list(rule("from", ingress_peer))),
                ("egress", list(rule("to", egress_peer))),
            ]),
        )])
    })
}

// ---------------------------------------------------------------- cert-manager

/// cert-manager `Certificate` (`cert-manager.io/v1`): netfence reads its status only, so the
/// spec is any object.
pub(crate) fn certificate() -> &'static Shape {
    static C: Cache = Cache::new();
    C.get(|| resource([("spec", Any), ("status", Any)]))
}

// ---------------------------------------------------------------- others

/// OpenShift Route (`route.openshift.io/v1`).
pub(crate) fn route() -> &'static Shape {
    static C: Cache = Cache::new();
    C.get(|| {
        let target = || obj([("kind", Str), ("name", Str), ("weight", Int)]);
        resource([(
            "spec",
            obj([
                ("host", Str),
                ("subdomain", Str),
                ("path", Str),
                ("to", target()),
                ("alternateBackends", list(target())),
                ("port", obj([("targetPort", IntOrStr)])),
                ("tls", Any),
                ("wildcardPolicy", Str),
                ("httpHeaders", Any),
            ]),
        )])
    })
}

/// The audit policy file (`audit.k8s.io/v1` Policy).
pub(crate) fn audit_policy() -> &'static Shape {
    static C: Cache = Cache::new();
    C.get(|| {
        let rule = obj([
            ("level", Str),
            ("users", strings()),
            ("userGroups", strings()),
            ("verbs", strings()),
            (
                "resources",
                list(obj([
                    ("group", Str),
                    ("resources", strings()),
                    ("resourceNames", strings()),
                ])),
            ),
            ("namespaces", strings()),
            ("nonResourceURLs", strings()),
            ("omitStages", strings()),
            ("omitManagedFields", Bool),
        ]);
        resource([
            ("rules", list(rule)),
            ("omitStages", strings()),
            ("omitManagedFields", Bool),
        ])
    })
}

// ---------------------------------------------------------------- built-in kinds

/// The schema of a kind netfence reads (`name` tells the workload kinds apart).
pub(crate) fn of(kind: crate::kinds::Kind, name: &str) -> &'static Shape {
    use crate::kinds::Kind;
    use k8s_openapi::api::networking::v1 as net;
    use k8s_openapi::api::{apps::v1 as apps, batch::v1 as batch, core::v1 as core};
    macro_rules! builtin_shape {
        ($t:ty) => {{
            static C: Cache = Cache::new();
            C.get(crate::schema::builtin_kind::<$t>)
        }};
    }
    match kind {
        Kind::Namespace => builtin_shape!(core::Namespace),
        Kind::Node => builtin_shape!(core::Node),
        Kind::ConfigMap => builtin_shape!(core::ConfigMap),
        Kind::Secret => builtin_shape!(core::Secret),
        Kind::Certificate => certificate(),
        Kind::Pod => builtin_shape!(core::Pod),
        Kind::Service => builtin_shape!(core::Service),
        Kind::NetworkPolicy => builtin_shape!(net::NetworkPolicy),
        Kind::StagedNetworkPolicy => {
            static C: Cache = Cache::new();
            C.get(|| {
                // a NetworkPolicy whose spec also holds `stagedAction`
                let base = crate::schema::builtin_kind::<net::NetworkPolicy>();
                match &base {
                    Shape::Obj(o) => Shape::Obj(std::sync::Arc::new(crate::schema::Obj {
                        fields: o
                            .fields
                            .iter()
                            .map(|(n, f)| match n.as_str() {
                                "spec" => (n.clone(), extend(f, [("stagedAction", Str)])),
                                _ => (n.clone(), f.clone()),
                            })
                            .collect(),
                    })),
                    _ => base,
                }
            })
        }
        Kind::Ingress => builtin_shape!(net::Ingress),
        Kind::CronJob => builtin_shape!(batch::CronJob),
        Kind::Workload => match name {
            "Deployment" => builtin_shape!(apps::Deployment),
            "ReplicaSet" => builtin_shape!(apps::ReplicaSet),
            "StatefulSet" => builtin_shape!(apps::StatefulSet),
            "DaemonSet" => builtin_shape!(apps::DaemonSet),
            "Job" => builtin_shape!(batch::Job),
            "ReplicationController" => builtin_shape!(core::ReplicationController),
            _ => &Shape::Any,
        },
        Kind::Route => route(),
        Kind::AdminPolicy { baseline } => admin_policy(baseline),
        Kind::ClusterNetworkPolicy => cluster_network_policy(),
        Kind::CalicoPolicy { global, staged } => calico_policy(global, staged),
        Kind::CalicoTier => calico_tier(),
        Kind::CalicoNetworkSet { .. } => calico_network_set(),
        Kind::CiliumPolicy { .. } => cilium_policy(),
        Kind::CiliumCidrGroup => cilium_cidr_group(),
        Kind::PeerAuthentication => istio_peer_authentication(),
        Kind::AuthorizationPolicy => istio_authorization_policy(),
        Kind::AuditPolicy => audit_policy(),
    }
}
