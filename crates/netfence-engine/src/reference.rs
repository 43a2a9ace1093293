//! A deliberately naive evaluator, written from the specification's wording one flow at a time
//! (one pod pair, one protocol, one port), with no classes, no symbolic sets and no caching. It
//! exists only to test the fast engine against it.

use netfence_model::{
    AdminAction, AdminPeer, AdminPolicy, AdminPort, AdminSubject, Cluster, Direction, Endpoint,
    IpRange, NetworkPolicy, NpPeer, NpRule, PortRef, Protocol,
};

use crate::profile::Profile;

/// One end of a flow.
#[derive(Debug, Clone, Copy)]
pub enum End<'a> {
    /// A pod.
    Pod(&'a Endpoint),
    /// An external address range.
    External(&'a IpRange),
}

fn ns_labels<'a>(c: &'a Cluster, ep: &Endpoint) -> &'a netfence_model::Labels {
    c.namespace_labels(&ep.namespace)
}

fn peer_matches(
    c: &Cluster,
    p: Profile,
    np: &NetworkPolicy,
    elem: &NpPeer,
    other: End<'_>,
) -> bool {
    match (elem, other) {
        (NpPeer::Pods { namespaces, pods }, End::Pod(ep)) => {
            let ns_ok = match namespaces {
                None => ep.namespace == np.namespace,
                Some(s) => s.matches(ns_labels(c, ep)),
            };
            let pod_ok = match pods {
                None => true,
                Some(s) => s.matches(&ep.labels),
            };
            ns_ok && pod_ok
        }
        (NpPeer::IpBlock { set, .. }, End::External(r)) => set.contains(r.first()),
        (NpPeer::IpBlock { set, .. }, End::Pod(ep)) => {
            p.ipblock_matches_pod_ips() && ep.ips.iter().any(|ip| set.contains(*ip))
        }
        _ => false,
    }
}

fn port_matches(rule: &NpRule, receiver: End<'_>, proto: Protocol, port: u16) -> bool {
    let Some(ports) = &rule.ports else {
        return true;
    };
    ports.iter().any(|p| {
        if p.protocol != proto {
            return false;
        }
        match &p.port {
            None => true,
            Some(PortRef::Number(n)) => *n <= port && port <= p.end_port.unwrap_or(*n),
            Some(PortRef::Name(name)) => match receiver {
                End::Pod(ep) => ep
                    .named_ports
                    .iter()
                    .any(|np| &np.name == name && np.protocol == proto && np.port == port),
                End::External(_) => false,
            },
        }
    })
}

/// NetworkPolicy only: `Some(allowed)` when a policy selects `pod` in the direction.
#[expect(
    clippy::too_many_arguments,
    reason = "one argument per element of the flow, spelled out"
)]
fn np_verdict(
    c: &Cluster,
    p: Profile,
    pod: &Endpoint,
    other: End<'_>,
    receiver: End<'_>,
    dir: Direction,
    proto: Protocol,
    port: u16,
) -> Option<bool> {
    let mut selected = false;
    for np in c.policies.network_policies() {
        if np.namespace != pod.namespace || !np.pod_selector.matches(&pod.labels) {
            continue;
        }
        let rules = match dir {
            Direction::Ingress => &np.ingress,
            Direction::Egress => &np.egress,
        };
        let Some(rules) = rules else { continue };
        selected = true;
        for rule in rules {
            let peer_ok = match &rule.peers {
                None => true,
                Some(v) => v.iter().any(|e| peer_matches(c, p, np, e, other)),
            };
            if peer_ok && port_matches(rule, receiver, proto, port) {
                return Some(true);
            }
        }
    }
    selected.then_some(false)
}

fn subject(c: &Cluster, s: &AdminSubject, ep: &Endpoint) -> bool {
    match s {
        AdminSubject::Namespaces(n) => n.matches(ns_labels(c, ep)),
        AdminSubject::Pods { namespaces, pods } => {
            namespaces.matches(ns_labels(c, ep)) && pods.matches(&ep.labels)
        }
    }
}

fn admin_rule_matches(
    c: &Cluster,
    peers: &[AdminPeer],
    ports: &Option<Vec<AdminPort>>,
    other: End<'_>,
    receiver: End<'_>,
    proto: Protocol,
    port: u16,
) -> bool {
    let peer_ok = peers.iter().any(|pe| match (pe, other) {
        (AdminPeer::Namespaces(n), End::Pod(ep)) => n.matches(ns_labels(c, ep)),
        (AdminPeer::Pods { namespaces, pods }, End::Pod(ep)) => {
            namespaces.matches(ns_labels(c, ep)) && pods.matches(&ep.labels)
        }
        (AdminPeer::Nodes(sel), End::Pod(ep)) if ep.host_network => c.nodes.iter().any(|n| {
            sel.matches(&n.labels)
                && n.addresses
                    .iter()
                    .any(|a| ep.host_ip == Some(*a) || ep.ips.contains(a))
        }),
        (AdminPeer::Networks(set), End::External(r)) => set.contains(r.first()),
        (AdminPeer::Networks(set), End::Pod(ep)) => ep.ips.iter().any(|ip| set.contains(*ip)),
        _ => false,
    });
    let port_ok = match ports {
        None => true,
        Some(v) => v.iter().any(|pp| match pp {
            AdminPort::Number { protocol, port: n } => *protocol == proto && *n == port,
            AdminPort::Range {
                protocol,
                start,
                end,
            } => *protocol == proto && *start <= port && port <= *end,
            AdminPort::Named(name) => match receiver {
                End::Pod(ep) => ep
                    .named_ports
                    .iter()
                    .any(|np| &np.name == name && np.protocol == proto && np.port == port),
                End::External(_) => false,
            },
        }),
    };
    peer_ok && port_ok
}

#[expect(
    clippy::too_many_arguments,
    reason = "one argument per element of the flow, spelled out"
)]
fn direction(
    c: &Cluster,
    p: Profile,
    pod: &Endpoint,
    other: End<'_>,
    receiver: End<'_>,
    dir: Direction,
    proto: Protocol,
    port: u16,
) -> bool {
    // a profile that does not enforce the admin tiers leaves them out
    let admin = p.enforces_admin_policies();
    let cnp = p.enforces_cluster_network_policies();
    let (mut anps, mut baselines): (Vec<&AdminPolicy>, Vec<&AdminPolicy>) = c
        .policies
        .admin_policies()
        .iter()
        .filter(|_| admin)
        .chain(c.policies.cluster_network_policies().iter().filter(|_| cnp))
        .partition(|a| !a.kind.is_baseline());
    anps.sort_by_key(|a| (a.priority.unwrap_or(i32::MAX), a.kind, a.name.clone()));
    baselines.sort_by_key(|a| (a.priority.unwrap_or(i32::MAX), a.name.clone()));
    baselines.extend(c.policies.baseline_policy().into_iter().filter(|_| admin));
    'outer: for anp in anps {
        if !subject(c, &anp.subject, pod) {
            continue;
        }
        let rules = match dir {
            Direction::Ingress => &anp.ingress,
            Direction::Egress => &anp.egress,
        };
        for r in rules {
            if admin_rule_matches(c, &r.peers, &r.ports, other, receiver, proto, port) {
                match r.action {
                    AdminAction::Allow => return true,
                    AdminAction::Deny => return false,
                    AdminAction::Pass => break 'outer,
                }
            }
        }
    }
    if let Some(v) = np_verdict(c, p, pod, other, receiver, dir, proto, port) {
        return v;
    }
    for base in baselines {
        if subject(c, &base.subject, pod) {
            let rules = match dir {
                Direction::Ingress => &base.ingress,
                Direction::Egress => &base.egress,
            };
            for r in rules {
                if admin_rule_matches(c, &r.peers, &r.ports, other, receiver, proto, port) {
                    // a baseline Pass leaves the flow to the default allow
                    return r.action != AdminAction::Deny;
                }
            }
        }
    }
    true
}

/// Whether one flow is allowed: egress at the source AND ingress at the destination.
pub fn allowed(
    c: &Cluster,
    p: Profile,
    src: End<'_>,
    dst: End<'_>,
    proto: Protocol,
    port: u16,
) -> bool {
    let egress = match src {
        End::Pod(s) => direction(c, p, s, dst, dst, Direction::Egress, proto, port),
        End::External(_) => true,
    };
    let ingress = match dst {
        End::Pod(d) => direction(c, p, d, src, dst, Direction::Ingress, proto, port),
        End::External(_) => true,
    };
    egress && ingress
}

/// Cilium's identity labels of `pod`: its labels, its namespace, its namespace's labels, its
/// service account and the cluster (docs.cilium.io, "Identity-Relevant Labels"; the `k8s:`
/// source prefix is dropped, as selectors are read without it).
fn cilium_identity(c: &Cluster, pod: &Endpoint) -> netfence_model::Labels {
    use netfence_model::cilium::{
        CLUSTER_LABEL, DEFAULT_CLUSTER_NAME, NAMESPACE_LABELS_PREFIX, POD_NAMESPACE_LABEL,
        SERVICE_ACCOUNT_LABEL,
    };
    let mut ids = pod.labels.clone();
    ids.insert(POD_NAMESPACE_LABEL.into(), pod.namespace.clone());
    for (k, v) in ns_labels(c, pod) {
        ids.insert(format!("{NAMESPACE_LABELS_PREFIX}{k}"), v.clone());
    }
    ids.insert(SERVICE_ACCOUNT_LABEL.into(), pod.service_account.clone());
    ids.insert(CLUSTER_LABEL.into(), DEFAULT_CLUSTER_NAME.into());
    ids
}

/// Whether one element of a Cilium peer list names `other` (endpoints by identity, the `all`,
/// `cluster` and `world` entities, CIDRs for addresses outside the cluster).
fn cilium_peer(c: &Cluster, elem: &netfence_model::CiliumPeer, other: End<'_>) -> bool {
    use netfence_model::{CiliumPeer, Entity};
    match (elem, other) {
        (CiliumPeer::Endpoints(sel), End::Pod(p)) => sel.matches(&cilium_identity(c, p)),
        (CiliumPeer::Entity(e), End::Pod(_)) => matches!(e, Entity::All | Entity::Cluster),
        (CiliumPeer::Entity(e), End::External(_)) => matches!(e, Entity::All | Entity::World),
        (CiliumPeer::Cidr(set), End::External(r)) => set.contains(r.first()),
        _ => false,
    }
}

/// Whether a Cilium rule's L4 part covers the flow: no `toPorts` and no `icmps` is every
/// port and type; otherwise a `toPorts` port (protocol `ANY` is TCP, UDP and SCTP; a port
/// rule without ports is every port) or an `icmps` type.
fn cilium_l4(
    rule: &netfence_model::CiliumPeerRule,
    receiver: End<'_>,
    proto: Protocol,
    port: u16,
) -> bool {
    if rule.ports.is_none() && rule.icmps.is_empty() {
        return true;
    }
    let icmp = rule
        .icmps
        .iter()
        .any(|&(family, t)| family == proto && netfence_model::PortSet::icmp_probe(t) == port);
    let ports = rule.ports.iter().flatten().any(|pr| {
        pr.ports.is_empty() && !proto.is_icmp()
            || pr.ports.iter().any(|p| {
                let proto_ok = match p.protocol {
                    Some(x) => x == proto,
                    None => Protocol::PORTS.contains(&proto),
                };
                proto_ok
                    && match &p.port {
                        None => true,
                        Some(PortRef::Number(n)) => *n <= port && port <= p.end_port.unwrap_or(*n),
                        Some(PortRef::Name(name)) => match receiver {
                            End::Pod(ep) => ep.named_ports.iter().any(|np| {
                                &np.name == name && np.protocol == proto && np.port == port
                            }),
                            End::External(_) => false,
                        },
                    }
            })
    });
    icmp || ports
}

/// One direction at `pod` under Cilium's default enforcement mode: a rule selecting the pod
/// with a section for the direction enforces it (and puts it in default deny unless its
/// `enableDefaultDeny` says otherwise), as does a NetworkPolicy selecting it; a matching deny
/// wins over every allow.
fn cilium_direction(
    c: &Cluster,
    pod: &Endpoint,
    other: End<'_>,
    receiver: End<'_>,
    dir: Direction,
    proto: Protocol,
    port: u16,
) -> bool {
    if pod.host_network {
        return true;
    }
    let ids = cilium_identity(c, pod);
    let (mut enforced, mut default_deny, mut allowed, mut denied) = (false, false, false, false);
    if let Some(v) = np_verdict(c, Profile::Cilium, pod, other, receiver, dir, proto, port) {
        enforced = true;
        default_deny = true;
        allowed |= v;
    }
    for policy in c.policies.cilium_policies() {
        for rule in &policy.rules {
            let netfence_model::CiliumSubject::Endpoints(sel) = &rule.subject else {
                continue;
            };
            if !sel.matches(&ids) {
                continue;
            }
            let (allows, denies, dd) = match dir {
                Direction::Ingress => {
                    (&rule.ingress, &rule.ingress_deny, rule.default_deny_ingress)
                }
                Direction::Egress => (&rule.egress, &rule.egress_deny, rule.default_deny_egress),
            };
            if allows.is_empty() && denies.is_empty() {
                continue;
            }
            enforced = true;
            default_deny |= dd.unwrap_or(true);
            let hits = |pr: &netfence_model::CiliumPeerRule| {
                let peer_ok = match &pr.peers {
                    None => true,
                    Some(elems) => elems.iter().any(|e| cilium_peer(c, e, other)),
                };
                peer_ok && cilium_l4(pr, receiver, proto, port)
            };
            allowed |= allows.iter().any(hits);
            denied |= denies.iter().any(hits);
        }
    }
    if denied {
        return false;
    }
    !enforced || !default_deny || allowed
}

/// Whether one flow is allowed under Cilium: egress at the source AND ingress at the
/// destination, each by [`cilium_direction`]'s reading of the repository.
pub fn cilium_allowed(c: &Cluster, src: End<'_>, dst: End<'_>, proto: Protocol, port: u16) -> bool {
    let egress = match src {
        End::Pod(s) => cilium_direction(c, s, dst, dst, Direction::Egress, proto, port),
        End::External(_) => true,
    };
    let ingress = match dst {
        End::Pod(d) => cilium_direction(c, d, src, dst, Direction::Ingress, proto, port),
        End::External(_) => true,
    };
    egress && ingress
}
