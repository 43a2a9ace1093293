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
