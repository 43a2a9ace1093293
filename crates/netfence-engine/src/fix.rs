//! The smallest change that would allow a denied flow, checked by re-evaluating the flow with
//! the change applied.
//!
//! For a NetworkPolicy denial the change is one rule added to a policy that already selects the
//! pod, naming exactly the peer and port; an AdminNetworkPolicy denial cannot be overridden by a
//! NetworkPolicy, so the change is to the admin policy itself.

use netfence_model::cluster::NAMESPACE_NAME_LABEL;
use netfence_model::{
    Cluster, Endpoint, IpRange, LabelSelector, NpPeer, NpPort, NpRule, PortRef, Protocol,
};

use crate::eval::{Direction, Evaluator, LayerVerdict, Peer};

/// A proposed change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix {
    /// What to change, in one sentence.
    pub summary: String,
    /// The YAML to add, when the change is a rule.
    pub yaml: Option<String>,
    /// Whether re-evaluating the flow with the change applied allows it.
    pub verified: bool,
}

/// The far end of the flow, for writing a peer.
#[derive(Debug, Clone, Copy)]
pub enum FarEnd<'a> {
    /// A pod or workload.
    Endpoint(&'a Endpoint),
    /// An external range (the queried address's range).
    Ip(&'a IpRange, std::net::IpAddr),
}

fn peer_selector(policy_ns: &str, far: FarEnd<'_>) -> (NpPeer, String) {
    match far {
        FarEnd::Endpoint(ep) => {
            // The most specific stable label: `app` when present, else every label.
            let labels: LabelSelector = match ep.labels.get("app") {
                Some(v) => LabelSelector::from_labels([("app", v.as_str())]),
                None => LabelSelector::from_labels(ep.labels.clone()),
            };
            let pods_yaml = if labels.is_empty() {
                "podSelector: {}".to_string()
            } else {
                format!(
                    "podSelector:\n        matchLabels: {{{}}}",
                    labels
                        .match_labels
                        .iter()
                        .map(|(k, v)| format!("{k}: {v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            if ep.namespace == policy_ns {
                (
                    NpPeer::Pods {
                        namespaces: None,
                        pods: Some(labels),
                    },
                    format!("    - {pods_yaml}"),
                )
            } else {
                (
                    NpPeer::Pods {
                        namespaces: Some(LabelSelector::from_labels([(
                            NAMESPACE_NAME_LABEL,
                            ep.namespace.as_str(),
                        )])),
                        pods: Some(labels),
                    },
                    format!(
                        "    - namespaceSelector:\n        matchLabels: {{{NAMESPACE_NAME_LABEL}: {}}}\n      {pods_yaml}",
                        ep.namespace
                    ),
                )
            }
        }
        FarEnd::Ip(_, ip) => {
            let cidr = match ip {
                std::net::IpAddr::V4(_) => format!("{ip}/32"),
                std::net::IpAddr::V6(_) => format!("{ip}/128"),
            };
            let set = netfence_model::IpSet::from_ip(ip);
            (
                NpPeer::IpBlock {
                    set,
                    cidr: cidr.clone(),
                    except: Vec::new(),
                },
                format!("    - ipBlock:\n        cidr: {cidr}"),
            )
        }
    }
}

/// Proposes the smallest change to `ep`'s policies in `dir` that lets `far` use `protocol`/`port`.
pub fn propose(
    cluster: &Cluster,
    profile: impl Into<crate::DataPath>,
    ep: &Endpoint,
    far: FarEnd<'_>,
    dir: Direction,
    protocol: Protocol,
    port: u16,
) -> Option<Fix> {
    let profile: crate::DataPath = profile.into();
    let ev = Evaluator::new(cluster, profile);
    let peer = match far {
        FarEnd::Endpoint(e) => Peer::Endpoint(e),
        FarEnd::Ip(r, _) => Peer::Ip(r),
    };
    let (ok, steps) = ev.explain(ep, peer, dir, protocol, port);
    if ok {
        return None;
    }
    let last = steps.last()?;
    match last.layer {
        "NetworkPolicy" => {
            // Prefer a policy written for this workload (a non-empty pod selector); otherwise
            // a new policy of its own, rather than widening a namespace-wide one.
            let policies = ev.selecting_policies(ep, dir);
            let specific = policies.iter().find(|p| !p.pod_selector.is_empty());
            let key = match dir {
                Direction::Ingress => ("ingress", "from", "Ingress"),
                Direction::Egress => ("egress", "to", "Egress"),
            };
            let (np_peer, peer_yaml) = peer_selector(&ep.namespace, far);
            let rule_yaml = format!(
                "  {}:\n  - {}:\n{}\n    ports:\n    - protocol: {}\n      port: {}\n",
                key.0, key.1, peer_yaml, protocol, port
            );
            let new_rule = NpRule {
                peers: Some(vec![np_peer]),
                ports: Some(vec![NpPort {
                    protocol,
                    port: Some(PortRef::Number(port)),
                    end_port: None,
                }]),
                line: None,
            };
            let mut changed = cluster.clone();
            let (summary, yaml) = match specific {
                Some(target) => {
                    let idx = changed
                        .policies.network_policies()
                        .iter()
                        .position(|p| p.namespace == target.namespace && p.name == target.name)?;
                    let p = changed.policies.network_policies_mut().get_mut(idx)?;
                    match dir {
                        Direction::Ingress => p.ingress.get_or_insert_with(Vec::new).push(new_rule),
                        Direction::Egress => p.egress.get_or_insert_with(Vec::new).push(new_rule),
                    }
                    (
                        format!("add this {} rule to NetworkPolicy {}", key.0, target.qualified_name()),
                        rule_yaml,
                    )
                }
                None => {
                    let selector = match ep.labels.get("app") {
                        Some(v) => LabelSelector::from_labels([("app", v.as_str())]),
                        None => LabelSelector::from_labels(ep.labels.clone()),
                    };
                    let name = format!("allow-{}-{}-{}", ep.name, key.0, port);
                    let sel_yaml = selector
                        .match_labels
                        .iter()
                        .map(|(k, v)| format!("{k}: {v}"))
                        .collect::<Vec<_>>()
                        .join(", ");
                    let yaml = format!(
                        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: {name}\n  namespace: {}\nspec:\n  podSelector:\n    matchLabels: {{{sel_yaml}}}\n  policyTypes: [{}]\n{rule_yaml}",
                        ep.namespace, key.2
                    );
                    let (ingress, egress) = match dir {
                        Direction::Ingress => (Some(vec![new_rule]), None),
                        Direction::Egress => (None, Some(vec![new_rule])),
                    };
                    changed.policies.network_policies_mut().push(netfence_model::NetworkPolicy {
                        namespace: ep.namespace.clone(),
                        name: name.clone(),
                        pod_selector: selector,
                        ingress,
                        egress,
                        annotations: Default::default(),
                        origin: Default::default(),
                    });
                    (format!("add NetworkPolicy {}/{name}", ep.namespace), yaml)
                }
            };
            let ev2 = Evaluator::new(&changed, profile);
            let ep2 = changed
                .endpoints
                .iter()
                .find(|e| e.display_name() == ep.display_name())?;
            let verified = ev2.explain(ep2, peer, dir, protocol, port).0;
            Some(Fix {
                summary,
                yaml: Some(yaml),
                verified,
            })
        }
        layer @ ("AdminNetworkPolicy" | "ClusterNetworkPolicy (Admin)")
            if last.verdict == LayerVerdict::Deny =>
        {
            Some(Fix {
                summary: format!(
                    "{layer} {} rule `{}` denies this and no NetworkPolicy can override it: \
                     narrow that rule, or add an {} (or Pass) rule for this peer and port to an \
                     admin-tier policy with a lower priority number",
                    last.policy.as_deref().unwrap_or("?"),
                    last.rule.as_deref().unwrap_or("?"),
                    if layer == "AdminNetworkPolicy" { "Allow" } else { "Accept" }
                ),
                yaml: None,
                verified: false,
            })
        }
        layer @ ("BaselineAdminNetworkPolicy" | "ClusterNetworkPolicy (Baseline)") => Some(Fix {
            summary: format!(
                "{layer} {} rule `{}` denies this: a NetworkPolicy selecting {} and allowing this peer and port takes precedence",
                last.policy.as_deref().unwrap_or("?"),
                last.rule.as_deref().unwrap_or("?"),
                ep.display_name()
            ),
            yaml: None,
            verified: false,
        }),
        _ => None,
    }
}
