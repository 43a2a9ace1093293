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

impl Peer {
    /// How many of the peer fields are set (the API allows exactly one).
    fn fields_set(&self) -> usize {
        [
            self.namespaces.is_some(),
            self.pods.is_some(),
            self.networks.is_some(),
            self.nodes.is_some(),
            self.domain_names.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count()
    }

    /// A `namespaces` or `pods` peer, when it is one.
    fn pod_peer(&self) -> Result<Option<AdminPeer>, String> {
        Ok(match (&self.namespaces, &self.pods) {
            (Some(ns), _) => Some(AdminPeer::Namespaces(selector::convert(ns)?)),
            (None, Some(pods)) => Some(AdminPeer::Pods {
                namespaces: selector::convert(&pods.namespace_selector)?,
                pods: selector::convert(&pods.pod_selector)?,
            }),
            (None, None) => None,
        })
    }
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

/// The union of `nets` (CIDRs), warning about IPv6 ones at `at`; the first that is not a CIDR
/// is the error.
fn networks(nets: &[String], at: &str, warnings: &mut Vec<String>) -> Result<IpSet, String> {
    let mut s = IpSet::empty();
    for n in nets {
        let set = n
            .contains('/')
            .then(|| IpSet::parse_cidr(n).ok())
            .flatten()
            .ok_or_else(|| n.clone())?;
        if set.has_v6() {
            warnings.push(format!(
                "{at}: IPv6 network `{n}` is not modelled (external ranges are IPv4); the rule applies to its IPv4 networks only"
            ));
        }
        s = s.union(&set);
    }
    Ok(s)
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
        if p.fields_set() != 1 {
            return Err(format!(
                "{here}.peers[{pi}]: exactly one peer field must be set"
            ));
        }
        if let Some(peer) = p.pod_peer()? {
            peers.push(peer);
        } else if let Some(nets) = &p.networks {
            if ingress {
                return Err(format!("{here}: `networks` peers are egress only"));
            }
            has_network_like = true;
            let s = networks(nets, &here, warnings)
                .map_err(|n| format!("{here}: network `{n}` must be a CIDR"))?;
            peers.push(AdminPeer::Networks(s));
        } else if let Some(nodes) = &p.nodes {
            has_network_like = true;
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

// ---------------------------------------------------------------- v1alpha2

/// `ClusterNetworkPolicy.spec` (policy.networking.k8s.io/v1alpha2).
#[derive(CustomResource, Debug, Clone, Deserialize, Serialize)]
#[kube(
    group = "policy.networking.k8s.io",
    version = "v1alpha2",
    kind = "ClusterNetworkPolicy",
    schema = "disabled"
)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ClusterNetworkPolicySpec {
    pub tier: String,
    pub priority: i64,
    pub subject: Subject,
    #[serde(default)]
    pub ingress: Vec<CnpRule>,
    #[serde(default)]
    pub egress: Vec<CnpRule>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CnpRule {
    #[serde(default)]
    pub name: String,
    pub action: String,
    pub from: Option<Vec<Peer>>,
    pub to: Option<Vec<Peer>>,
    pub protocols: Option<Vec<CnpProtocol>>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CnpProtocol {
    pub tcp: Option<CnpProtocolPorts>,
    pub udp: Option<CnpProtocolPorts>,
    pub sctp: Option<CnpProtocolPorts>,
    pub destination_named_port: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CnpProtocolPorts {
    pub destination_port: Option<CnpPort>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub(crate) struct CnpPort {
    pub number: Option<i64>,
    pub range: Option<CnpPortRange>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub(crate) struct CnpPortRange {
    pub start: i64,
    pub end: i64,
}

/// The most rules, peers, protocols, networks or domain names a list may hold (the CRD's
/// `MaxItems`).
const MAX_ITEMS: usize = 25;

/// The kind and priority of a ClusterNetworkPolicy, with the CRD's checks.
pub(crate) fn cnp_tier(
    spec: &ClusterNetworkPolicySpec,
) -> Result<(netfence_model::AdminKind, i32), String> {
    let kind = match spec.tier.as_str() {
        "Admin" => netfence_model::AdminKind::ClusterAdmin,
        "Baseline" => netfence_model::AdminKind::ClusterBaseline,
        other => {
            return Err(format!(
                "tier: unknown tier `{other}` (expected Admin or Baseline)"
            ))
        }
    };
    let priority = i32::try_from(spec.priority)
        .ok()
        .filter(|p| (0..=1000).contains(p))
        .ok_or_else(|| format!("priority: {} is outside 0-1000", spec.priority))?;
    for (dir, rules) in [("ingress", &spec.ingress), ("egress", &spec.egress)] {
        if rules.len() > MAX_ITEMS {
            return Err(format!(
                "{dir}: {} rules; at most {MAX_ITEMS} are allowed",
                rules.len()
            ));
        }
    }
    Ok((kind, priority))
}

/// A ClusterNetworkPolicy rule, with every validation of the CRD (schema and CEL) as an error
/// naming the field.
pub(crate) fn cnp_rule(
    r: &CnpRule,
    dir: Direction,
    idx: usize,
    warnings: &mut Vec<String>,
) -> Result<AdminRule, String> {
    let ingress = dir == Direction::Ingress;
    let here = format!("{}[{}]", dir.key(), idx);
    if r.name.chars().count() > 100 {
        return Err(format!("{here}.name: at most 100 characters"));
    }
    let action = match r.action.as_str() {
        "Accept" => AdminAction::Allow,
        "Deny" => AdminAction::Deny,
        "Pass" => AdminAction::Pass,
        other => {
            return Err(format!(
                "{here}.action: unknown action `{other}` (expected Accept, Deny or Pass)"
            ))
        }
    };
    let key = if ingress { "from" } else { "to" };
    let peers_in = if ingress { &r.from } else { &r.to };
    let Some(peers_in) = peers_in.as_deref() else {
        return Err(format!("{here}.{key}: required"));
    };
    if peers_in.is_empty() || peers_in.len() > MAX_ITEMS {
        return Err(format!(
            "{here}.{key}: 1 to {MAX_ITEMS} peers are required, not {}",
            peers_in.len()
        ));
    }
    let mut peers = Vec::new();
    let mut not_pods = false;
    for (pi, p) in peers_in.iter().enumerate() {
        let at = format!("{here}.{key}[{pi}]");
        if p.fields_set() != 1 {
            return Err(format!("{at}: exactly one peer field must be set"));
        }
        if let Some(peer) = p.pod_peer()? {
            peers.push(peer);
        } else if let Some(nets) = &p.networks {
            not_pods = true;
            if nets.is_empty() || nets.len() > MAX_ITEMS {
                return Err(format!(
                    "{at}.networks: 1 to {MAX_ITEMS} CIDRs are required"
                ));
            }
            if let Some(n) = nets.iter().find(|n| n.len() > 43) {
                return Err(format!(
                    "{at}.networks: Invalid CIDR format provided: `{n}`"
                ));
            }
            let s = networks(nets, &format!("{at}.networks"), warnings)
                .map_err(|n| format!("{at}.networks: Invalid CIDR format provided: `{n}`"))?;
            // v0.2.1's CEL rule: `cidr(self) == cidr(self).masked()`
            for (i, n) in nets.iter().enumerate() {
                if let Some(problem) = netfence_model::ip::cidr_not_canonical(n) {
                    return Err(format!(
                        "{at}.networks[{i}]: `{n}` is not a canonical CIDR ({problem}); the ClusterNetworkPolicy CRD refuses it (network-policy-api v0.2.1)"
                    ));
                }
            }
            peers.push(AdminPeer::Networks(s));
        } else if let Some(nodes) = &p.nodes {
            not_pods = true;
            peers.push(AdminPeer::Nodes(selector::convert(nodes)?));
        } else if let Some(names) = &p.domain_names {
            not_pods = true;
            if action != AdminAction::Allow {
                return Err(format!(
                    "{at}.domainNames: DomainNames is only supported for Accept rules"
                ));
            }
            if names.is_empty() || names.len() > MAX_ITEMS {
                return Err(format!(
                    "{at}.domainNames: 1 to {MAX_ITEMS} names are required"
                ));
            }
            let mut patterns = Vec::new();
            for n in names {
                patterns.push(domain_name(n).map_err(|e| format!("{at}.domainNames: {e}"))?);
            }
            peers.push(AdminPeer::DomainNames(patterns));
        }
    }
    let ports = match &r.protocols {
        None => None,
        Some(ps) => {
            if ps.is_empty() || ps.len() > MAX_ITEMS {
                return Err(format!(
                    "{here}.protocols: 1 to {MAX_ITEMS} entries are required"
                ));
            }
            let mut out = Vec::new();
            for (i, p) in ps.iter().enumerate() {
                let at = format!("{here}.protocols[{i}]");
                let set = [
                    p.tcp.is_some(),
                    p.udp.is_some(),
                    p.sctp.is_some(),
                    p.destination_named_port.is_some(),
                ]
                .iter()
                .filter(|b| **b)
                .count();
                if set != 1 {
                    return Err(format!(
                        "{at}: exactly one of tcp, udp, sctp or destinationNamedPort must be set"
                    ));
                }
                if let Some(name) = &p.destination_named_port {
                    if not_pods {
                        return Err(format!(
                            "{here}: networks/nodes/domainNames peer cannot be set with namedPorts since there are no namedPorts for networks/nodes/domainNames"
                        ));
                    }
                    out.push(AdminPort::Named(name.clone()));
                    continue;
                }
                let (protocol, ports, key) = match (&p.tcp, &p.udp, &p.sctp) {
                    (Some(x), _, _) => (Protocol::Tcp, x, "tcp"),
                    (_, Some(x), _) => (Protocol::Udp, x, "udp"),
                    (_, _, Some(x)) => (Protocol::Sctp, x, "sctp"),
                    _ => continue,
                };
                let Some(port) = &ports.destination_port else {
                    return Err(format!("{at}.{key}: destinationPort is required"));
                };
                let at = format!("{at}.{key}.destinationPort");
                match (port.number, &port.range) {
                    (Some(n), None) => out.push(AdminPort::Number {
                        protocol,
                        port: port16(n, &format!("{at}.number"))?,
                    }),
                    (None, Some(r)) => {
                        let start = port16(r.start, &format!("{at}.range.start"))?;
                        let end = port16(r.end, &format!("{at}.range.end"))?;
                        if start >= end {
                            return Err(format!(
                                "{at}.range: Start port must be less than End port ({start} >= {end})"
                            ));
                        }
                        out.push(AdminPort::Range {
                            protocol,
                            start,
                            end,
                        });
                    }
                    _ => return Err(format!("{at}: exactly one of number or range must be set")),
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

/// A `domainNames` entry: an exact name, or `*.` and a name (one or more leading labels).
fn domain_name(n: &str) -> Result<netfence_model::FqdnPattern, String> {
    let (wild, rest) = match n.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, n),
    };
    let rest = rest.strip_suffix('.').unwrap_or(rest);
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            && !l.starts_with(['-', '_'])
            && !l.ends_with(['-', '_'])
    };
    let labels: Vec<&str> = rest.split('.').collect();
    if labels.len() < 2 || !labels.iter().all(|l| label_ok(l)) {
        return Err(format!(
            "`{n}` is not a domain name (`name.tld`, or `*.` and one; `*` only as the first label)"
        ));
    }
    Ok(if wild {
        netfence_model::FqdnPattern::new(&format!("**.{rest}"), false)
    } else {
        netfence_model::FqdnPattern::new(rest, true)
    })
}
