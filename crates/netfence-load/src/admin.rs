//! AdminNetworkPolicy and BaselineAdminNetworkPolicy (policy.networking.k8s.io/v1alpha1).
//!
//! Typed with kube's `CustomResource` derive, kept to the fields netfence models (the schemas
//! are upstream's CRDs, so none is generated here). Unknown peer kinds fail closed as the API
//! documents: an Allow rule with only unknown peers matches nothing; a Deny or Pass rule is
//! reported as an error so nothing is silently widened.

use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use kube::CustomResource;
use netfence_model::{
    AdminAction, AdminPeer, AdminPort, AdminRule, AdminSubject, Direction, IpSet, Protocol,
};
use serde::{Deserialize, Serialize};

use crate::selector;

/// `AdminNetworkPolicy.spec`.
#[derive(CustomResource, Debug, Clone, Deserialize, Serialize)]
#[kube(
    group = "policy.networking.k8s.io",
    version = "v1alpha1",
    kind = "AdminNetworkPolicy",
    schema = "disabled"
)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AdminNetworkPolicySpec {
    pub priority: i32,
    pub subject: Subject,
    #[serde(default)]
    pub ingress: Vec<Rule>,
    #[serde(default)]
    pub egress: Vec<Rule>,
}

/// `BaselineAdminNetworkPolicy.spec`.
#[derive(CustomResource, Debug, Clone, Deserialize, Serialize)]
#[kube(
    group = "policy.networking.k8s.io",
    version = "v1alpha1",
    kind = "BaselineAdminNetworkPolicy",
    schema = "disabled"
)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BaselineAdminNetworkPolicySpec {
    pub subject: Subject,
    #[serde(default)]
    pub ingress: Vec<Rule>,
    #[serde(default)]
    pub egress: Vec<Rule>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Subject {
    pub namespaces: Option<meta::LabelSelector>,
    pub pods: Option<PodsPeer>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PodsPeer {
    #[serde(default)]
    pub namespace_selector: meta::LabelSelector,
    #[serde(default)]
    pub pod_selector: meta::LabelSelector,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Rule {
    #[serde(default)]
    pub name: String,
    pub action: String,
    pub from: Option<Vec<Peer>>,
    pub to: Option<Vec<Peer>>,
    pub ports: Option<Vec<Port>>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Peer {
    pub namespaces: Option<meta::LabelSelector>,
    pub pods: Option<PodsPeer>,
    pub networks: Option<Vec<String>>,
    pub nodes: Option<meta::LabelSelector>,
    pub domain_names: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Port {
    pub port_number: Option<PortNumber>,
    pub named_port: Option<String>,
    pub port_range: Option<PortRange>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub(crate) struct PortNumber {
    pub protocol: Option<String>,
    pub port: i64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub(crate) struct PortRange {
    pub protocol: Option<String>,
    pub start: i64,
    pub end: i64,
}

fn protocol(p: &Option<String>) -> Result<Protocol, String> {
    match p {
        None => Ok(Protocol::Tcp),
        Some(s) => Protocol::parse(s).ok_or_else(|| format!("unknown protocol `{s}`")),
    }
}

fn port16(v: i64, what: &str) -> Result<u16, String> {
    u16::try_from(v)
        .ok()
        .filter(|p| *p >= 1)
        .ok_or_else(|| format!("{what} `{v}` is outside 1-65535"))
}

pub(crate) fn subject(s: &Subject) -> Result<AdminSubject, String> {
    match (&s.namespaces, &s.pods) {
        (Some(ns), None) => Ok(AdminSubject::Namespaces(selector::convert(ns)?)),
        (None, Some(p)) => Ok(AdminSubject::Pods {
            namespaces: selector::convert(&p.namespace_selector)?,
            pods: selector::convert(&p.pod_selector)?,
        }),
        _ => Err("subject: exactly one of `namespaces` or `pods` must be set".into()),
    }
}

pub(crate) fn rule(
    r: &Rule,
    dir: Direction,
    baseline: bool,
    idx: usize,
    warnings: &mut Vec<String>,
) -> Result<AdminRule, String> {
    let ingress = dir == Direction::Ingress;
    let here = format!("{}[{}]", dir.key(), idx);
    let action = match r.action.as_str() {
        "Allow" => AdminAction::Allow,
        "Deny" => AdminAction::Deny,
        "Pass" if !baseline => AdminAction::Pass,
        other => {
            return Err(format!(
                "{here}.action: unknown action `{other}` (expected Allow, Deny{})",
                if baseline { "" } else { " or Pass" }
            ))
        }
    };
    let peers_in = if ingress { &r.from } else { &r.to };
    let peers_in = peers_in.as_deref().unwrap_or_default();
    if peers_in.is_empty() {
        return Err(format!(
            "{here}.{}: at least one peer is required",
            if ingress { "from" } else { "to" }
        ));
    }
    let mut peers = Vec::new();
    let mut unsupported = Vec::new();
    let mut has_network_like = false;
    for (pi, p) in peers_in.iter().enumerate() {
        let set = [
            p.namespaces.is_some(),
            p.pods.is_some(),
            p.networks.is_some(),
            p.nodes.is_some(),
            p.domain_names.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if set != 1 {
            return Err(format!(
                "{here}.peers[{pi}]: exactly one peer field must be set"
            ));
        }
        if let Some(ns) = &p.namespaces {
            peers.push(AdminPeer::Namespaces(selector::convert(ns)?));
        } else if let Some(pods) = &p.pods {
            peers.push(AdminPeer::Pods {
                namespaces: selector::convert(&pods.namespace_selector)?,
                pods: selector::convert(&pods.pod_selector)?,
            });
        } else if let Some(nets) = &p.networks {
            if ingress {
                return Err(format!("{here}: `networks` peers are egress only"));
            }
            has_network_like = true;
            let mut s = IpSet::empty();
            for n in nets {
                if !n.contains('/') {
                    return Err(format!("{here}: network `{n}` must be a CIDR"));
                }
                let set = IpSet::parse_cidr(n).map_err(|e| format!("{here}: {e}"))?;
                if set.has_v6() {
                    warnings.push(format!(
                        "{here}: IPv6 network `{n}` is not modelled (external ranges are IPv4); the rule applies to its IPv4 networks only"
                    ));
                }
                s = s.union(&set);
            }
            peers.push(AdminPeer::Networks(s));
        } else if let Some(nodes) = &p.nodes {
            has_network_like = true;
            warnings.push(format!(
                "{here}.{}[{pi}]: `nodes` peers are not modelled (node addresses are not in the input); this peer matches nothing{}",
                if ingress { "from" } else { "to" },
                if action == AdminAction::Allow { "" } else { ", so traffic to nodes it should deny is reported as allowed" }
            ));
            peers.push(AdminPeer::Nodes(selector::convert(nodes)?));
        } else {
            has_network_like = true;
            unsupported.push("domainNames");
        }
    }
    if !unsupported.is_empty() && action != AdminAction::Allow {
        return Err(format!(
            "{here}: peer kind `{}` is not modelled and this is a {:?} rule; netfence will not guess",
            unsupported.join(","),
            action
        ));
    }
    let ports = match &r.ports {
        None => None,
        Some(ps) => {
            let mut out = Vec::new();
            for p in ps {
                match (&p.port_number, &p.named_port, &p.port_range) {
                    (Some(n), None, None) => out.push(AdminPort::Number {
                        protocol: protocol(&n.protocol)?,
                        port: port16(n.port, "port")?,
                    }),
                    (None, Some(n), None) => {
                        if has_network_like {
                            return Err(format!(
                                "{here}: a named port cannot be combined with networks, nodes or domainNames peers"
                            ));
                        }
                        out.push(AdminPort::Named(n.clone()))
                    }
                    (None, None, Some(r)) => {
                        let (start, end) = (port16(r.start, "start")?, port16(r.end, "end")?);
                        if start > end {
                            return Err(format!(
                                "{here}: portRange start {start} is after end {end}"
                            ));
                        }
                        out.push(AdminPort::Range {
                            protocol: protocol(&r.protocol)?,
                            start,
                            end,
                        })
                    }
                    _ => {
                        return Err(format!(
                            "{here}.ports: exactly one of portNumber, namedPort or portRange"
                        ))
                    }
                }
            }
            Some(out)
        }
    };
    Ok(AdminRule {
        name: if r.name.is_empty() {
            here
        } else {
            r.name.clone()
        },
        action,
        peers,
        ports,
    })
}
