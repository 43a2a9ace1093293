//! A deliberately naive evaluator, written from the specification's wording one flow at a time
//! (one pod pair, one protocol, one port), with no classes, no symbolic sets and no caching. It
//! exists only to test the fast engine against it: [`allowed`] for NetworkPolicy and the admin
//! tiers, [`cilium_allowed`] for Cilium's repository, [`calico_allowed`] for Calico's tiers,
//! [`mesh_allowed`] for Istio's proxy.

use netfence_model::{
    AdminAction, AdminPeer, AdminPolicy, AdminPort, AdminSubject, Cluster, Direction, Endpoint,
    IpRange, NetworkPolicy, NpPeer, NpRule, PortRef, Protocol,
};

use crate::datapath::DataPath;
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

/// Which admin tiers a data path enforces: (AdminNetworkPolicy and
/// BaselineAdminNetworkPolicy, ClusterNetworkPolicy), as `docs/dialects/versions.md` tabulates
/// them (written out here, not asked of [`DataPath`]).
fn admin_tiers(dp: DataPath) -> (bool, bool) {
    let release = dp.version.or(DataPath::newest(dp.cni));
    let at_least = |major, minor| release.is_some_and(|r| (r.major, r.minor) >= (major, minor));
    match dp.cni {
        Profile::Generic => (true, true),
        Profile::Calico => (!at_least(3, 32), at_least(3, 32)),
        Profile::Cilium => (
            false,
            at_least(1, 20) && dp.settings.cilium_cluster_network_policy,
        ),
        Profile::Antrea => (true, dp.settings.antrea_cluster_network_policy),
        Profile::Flannel | Profile::Weave => (false, false),
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "one argument per element of the flow, spelled out"
)]
fn direction(
    c: &Cluster,
    dp: DataPath,
    pod: &Endpoint,
    other: End<'_>,
    receiver: End<'_>,
    dir: Direction,
    proto: Protocol,
    port: u16,
) -> bool {
    let p = dp.cni;
    // a data path that does not enforce the admin tiers leaves them out
    let (admin, cnp) = admin_tiers(dp);
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
    p: impl Into<DataPath>,
    src: End<'_>,
    dst: End<'_>,
    proto: Protocol,
    port: u16,
) -> bool {
    let dp: DataPath = p.into();
    both_sides(src, dst, |pod, other, dir| {
        direction(c, dp, pod, other, dst, dir, proto, port)
    })
}

/// Egress at the source AND ingress at the destination, each pod side judged by `side(pod,
/// far end, direction)`; an external end has no policy of its own.
fn both_sides<'a>(
    src: End<'a>,
    dst: End<'a>,
    side: impl Fn(&Endpoint, End<'a>, Direction) -> bool,
) -> bool {
    let egress = match src {
        End::Pod(s) => side(s, dst, Direction::Egress),
        End::External(_) => true,
    };
    let ingress = match dst {
        End::Pod(d) => side(d, src, Direction::Ingress),
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
/// destination, each read from the repository as `cilium_direction` does.
pub fn cilium_allowed(c: &Cluster, src: End<'_>, dst: End<'_>, proto: Protocol, port: u16) -> bool {
    both_sides(src, dst, |pod, other, dir| {
        cilium_direction(c, pod, other, dst, dir, proto, port)
    })
}

/// Calico's order of tiers and policies: order ascending, a missing order last, then name.
type SortKey = (bool, f64, String);

/// What a policy's first matching rule says.
#[derive(Debug, Clone, Copy)]
enum Said {
    Allow,
    Deny,
    Pass,
}

/// The labels Calico's selectors see on a pod: its labels, its namespace, the orchestrator and
/// its service account (docs.tigera.io, "Selectors").
fn calico_pod_labels(pod: &Endpoint) -> netfence_model::Labels {
    use netfence_model::calico::{
        CALICO_NAMESPACE_LABEL, CALICO_ORCHESTRATOR_LABEL, CALICO_SERVICE_ACCOUNT_LABEL,
    };
    let mut l = pod.labels.clone();
    l.insert(CALICO_NAMESPACE_LABEL.into(), pod.namespace.clone());
    l.insert(CALICO_ORCHESTRATOR_LABEL.into(), "k8s".into());
    l.insert(
        CALICO_SERVICE_ACCOUNT_LABEL.into(),
        pod.service_account.clone(),
    );
    l
}

/// Whether Calico namespace selector `sel` picks `pod`'s namespace (its labels and
/// `projectcalico.org/name`; `global()` picks network sets, never a pod).
fn calico_namespace_selects(
    c: &Cluster,
    sel: &netfence_model::calico::Selector,
    pod: &Endpoint,
) -> bool {
    let mut l = ns_labels(c, pod).clone();
    l.insert(
        netfence_model::calico::CALICO_NAME_LABEL.into(),
        pod.namespace.clone(),
    );
    !sel.is_global() && sel.matches(&l)
}

/// Whether entity rule `e` (a `source` or `destination`) of a policy in namespace `ns` names
/// `end`, the flow's port included when it is the destination: selectors and
/// `namespaceSelector` see pods (a namespaced policy's selectors stay in its namespace), `nets`
/// addresses, `ports` the destination port.
fn calico_entity(
    c: &Cluster,
    ns: Option<&str>,
    e: &netfence_model::calico::EntityRule,
    end: End<'_>,
    flow: Option<(Protocol, u16)>,
) -> bool {
    use netfence_model::calico::Port;
    let scoped = e.selector.is_some() || e.not_selector.is_some() || e.namespace_selector.is_some();
    let who = match end {
        End::Pod(p) => {
            let ns_ok = match (&e.namespace_selector, ns) {
                (Some(sel), _) => calico_namespace_selects(c, sel, p),
                (None, Some(ns)) => !scoped || p.namespace == ns,
                (None, None) => true,
            };
            let labels = calico_pod_labels(p);
            ns_ok
                && e.selector.as_ref().is_none_or(|s| s.matches(&labels))
                && !e.not_selector.as_ref().is_some_and(|s| s.matches(&labels))
                && e.nets
                    .as_ref()
                    .is_none_or(|n| p.ips.iter().any(|ip| n.contains(*ip)))
                && !e
                    .not_nets
                    .as_ref()
                    .is_some_and(|n| p.ips.iter().any(|ip| n.contains(*ip)))
        }
        // an address is no pod: selectors name only pods (and network sets, none here)
        End::External(r) => {
            !scoped
                && e.nets.as_ref().is_none_or(|n| n.contains(r.first()))
                && !e.not_nets.as_ref().is_some_and(|n| n.contains(r.first()))
        }
    };
    let in_list = |list: &[Port], proto: Protocol, port: u16| {
        list.iter().any(|x| match x {
            Port::Number(n) => *n == port,
            Port::Range(lo, hi) => *lo <= port && port <= *hi,
            Port::Named(name) => match end {
                End::Pod(p) => p
                    .named_ports
                    .iter()
                    .any(|np| &np.name == name && np.protocol == proto && np.port == port),
                End::External(_) => false,
            },
        })
    };
    let ports_ok = match flow {
        None => true,
        Some((proto, port)) => {
            e.ports
                .as_ref()
                .is_none_or(|l| !proto.is_icmp() && in_list(l, proto, port))
                && !e
                    .not_ports
                    .as_ref()
                    .is_some_and(|l| !proto.is_icmp() && in_list(l, proto, port))
        }
    };
    who && ports_ok
}

/// Whether one Calico rule matches the flow seen at `pod` in `dir`.
#[expect(
    clippy::too_many_arguments,
    reason = "one argument per element of the flow, spelled out"
)]
fn calico_rule(
    c: &Cluster,
    ns: Option<&str>,
    r: &netfence_model::calico::Rule,
    pod: &Endpoint,
    other: End<'_>,
    dir: Direction,
    proto: Protocol,
    port: u16,
) -> bool {
    if r.other_protocol.is_some()
        || r.protocol.is_some_and(|x| x != proto)
        || r.not_protocol == Some(proto)
    {
        return false;
    }
    if proto.is_icmp() {
        let ty =
            |m: netfence_model::calico::IcmpMatch| netfence_model::PortSet::icmp_probe(m.icmp_type);
        if r.icmp.is_some_and(|m| ty(m) != port) || r.not_icmp.is_some_and(|m| ty(m) == port) {
            return false;
        }
    }
    let (src, dst) = match dir {
        Direction::Ingress => (other, End::Pod(pod)),
        Direction::Egress => (End::Pod(pod), other),
    };
    calico_entity(c, ns, &r.source, src, None)
        && calico_entity(c, ns, &r.destination, dst, Some((proto, port)))
}

/// One direction at `pod` under Calico: tiers by order; in a tier, the policies that apply to
/// the pod by order then name, their rules in order, the first match deciding (Allow, Deny, or
/// Pass to the next tier; Log goes on); a tier with an applying policy and no match ends in its
/// default action (Deny, or Pass); no tier deciding leaves the namespace profile's allow.
/// Kubernetes NetworkPolicies are the default tier's policies of order 1000. (The admin tiers
/// are the generic reference's.)
fn calico_direction(
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
    let sort_key =
        |order: Option<f64>, name: &str| (order.is_none(), order.unwrap_or(0.0), name.to_string());
    let mut tiers: Vec<(Option<f64>, String, bool)> = c
        .policies
        .calico_tiers()
        .iter()
        .map(|t| (t.order, t.name.clone(), t.default_pass))
        .collect();
    if !tiers.iter().any(|t| t.1 == "default") {
        tiers.push((Some(1_000_000.0), "default".into(), false));
    }
    tiers.sort_by(|a, b| {
        sort_key(a.0, &a.1)
            .partial_cmp(&sort_key(b.0, &b.1))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let labels = calico_pod_labels(pod);
    'tiers: for (_, tier, default_pass) in tiers {
        // (order, name, verdict of its rules: Some(decided) / None)
        let mut members: Vec<(SortKey, Option<Said>)> = Vec::new();
        for p in c.policies.calico_policies() {
            let applies = p.tier == tier
                && !p.staged
                && match dir {
                    Direction::Ingress => p.applies_ingress,
                    Direction::Egress => p.applies_egress,
                }
                && match (&p.namespace, &p.namespace_selector) {
                    (Some(ns), _) => *ns == pod.namespace,
                    (None, Some(sel)) => calico_namespace_selects(c, sel, pod),
                    (None, None) => true,
                }
                && p.selector.matches(&labels);
            if !applies {
                continue;
            }
            let rules = match dir {
                Direction::Ingress => &p.ingress,
                Direction::Egress => &p.egress,
            };
            let mut outcome = None;
            for r in rules {
                if calico_rule(c, p.namespace.as_deref(), r, pod, other, dir, proto, port) {
                    match r.action {
                        netfence_model::calico::Action::Allow => outcome = Some(Said::Allow),
                        netfence_model::calico::Action::Deny => outcome = Some(Said::Deny),
                        netfence_model::calico::Action::Pass => outcome = Some(Said::Pass),
                        netfence_model::calico::Action::Log => continue,
                    }
                    break;
                }
            }
            members.push((sort_key(p.order, &p.qualified_name()), outcome));
        }
        if tier == "default" {
            for np in c.policies.network_policies() {
                if np.namespace != pod.namespace || !np.pod_selector.matches(&pod.labels) {
                    continue;
                }
                let Some(rules) = (match dir {
                    Direction::Ingress => &np.ingress,
                    Direction::Egress => &np.egress,
                }) else {
                    continue;
                };
                let hit = rules.iter().any(|rule| {
                    rule.peers.as_ref().is_none_or(|v| {
                        v.iter()
                            .any(|e| peer_matches(c, Profile::Calico, np, e, other))
                    }) && port_matches(rule, receiver, proto, port)
                });
                members.push((
                    sort_key(Some(1000.0), &format!("knp.default.{}", np.name)),
                    hit.then_some(Said::Allow),
                ));
            }
        }
        if members.is_empty() {
            continue;
        }
        members.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
        for (_, outcome) in members {
            match outcome {
                Some(Said::Allow) => return true,
                Some(Said::Deny) => return false,
                Some(Said::Pass) => continue 'tiers,
                None => {}
            }
        }
        if !default_pass {
            return false;
        }
    }
    true
}

/// Whether one flow is allowed under Calico: egress at the source AND ingress at the
/// destination, each read from the tiers as `calico_direction` does.
pub fn calico_allowed(c: &Cluster, src: End<'_>, dst: End<'_>, proto: Protocol, port: u16) -> bool {
    both_sides(src, dst, |pod, other, dir| {
        calico_direction(c, pod, other, dst, dir, proto, port)
    })
}

/// Whether Istio's sidecar runs beside `pod`: its namespace asks for injection and the pod does
/// not opt out (istio.io, "Installing the sidecar").
fn istio_sidecar(c: &Cluster, pod: &Endpoint) -> bool {
    !pod.host_network
        && ns_labels(c, pod).get("istio-injection").map(String::as_str) == Some("enabled")
        && pod
            .labels
            .get("sidecar.istio.io/inject")
            .map(String::as_str)
            != Some("false")
}

/// The mTLS mode at `pod`'s `port`: a workload PeerAuthentication over the namespace's over the
/// mesh's (root namespace `istio-system`), a port-level setting over its workload policy, and
/// PERMISSIVE when nothing says (istio.io, "PeerAuthentication").
fn istio_mtls(c: &Cluster, pod: &Endpoint, port: u16) -> netfence_model::istio::MtlsMode {
    use netfence_model::istio::MtlsMode;
    let pas = c.policies.peer_authentications();
    fn oldest(
        mut v: Vec<&netfence_model::istio::PeerAuthentication>,
    ) -> Option<&netfence_model::istio::PeerAuthentication> {
        v.sort_by(|a, b| (&a.created, &a.name).cmp(&(&b.created, &b.name)));
        v.first().copied()
    }
    let whole = |p: &&netfence_model::istio::PeerAuthentication| {
        p.selector.as_ref().is_none_or(|s| s.is_empty())
    };
    let mesh = oldest(
        pas.iter()
            .filter(|p| p.namespace == "istio-system" && whole(p))
            .collect(),
    );
    let ns = oldest(
        pas.iter()
            .filter(|p| p.namespace == pod.namespace && whole(p))
            .collect(),
    );
    let wl = oldest(
        pas.iter()
            .filter(|p| {
                p.namespace == pod.namespace
                    && p.selector.as_ref().is_some_and(|s| {
                        !s.is_empty() && s.iter().all(|(k, v)| pod.labels.get(k) == Some(v))
                    })
            })
            .collect(),
    );
    let mut mode = MtlsMode::Permissive;
    for p in [mesh, ns, wl].into_iter().flatten() {
        if p.mode != MtlsMode::Unset {
            mode = p.mode;
        }
    }
    if let Some(m) = wl.and_then(|w| w.port_level.get(&port)) {
        if *m != MtlsMode::Unset {
            mode = *m;
        }
    }
    mode
}

/// Whether a port of `pod` carries plain TCP for Istio: its container port's name says a
/// non-HTTP protocol (`tcp`, `tls`, `mongo`, `mysql`, `redis`, `https`, `postgres`, alone or
/// before `-`), as Istio selects protocols by port name.
fn istio_plain_tcp(pod: &Endpoint, port: u16) -> bool {
    const TCP: [&str; 7] = ["tcp", "tls", "mongo", "mysql", "redis", "https", "postgres"];
    pod.named_ports.iter().filter(|n| n.port == port).any(|n| {
        TCP.iter()
            .any(|t| n.name == *t || n.name.starts_with(&format!("{t}-")))
    })
}

/// Whether the mesh at `dst`'s proxy lets some request on TCP `port` from `src` through:
/// STRICT mTLS refuses callers without a sidecar; a matching DENY policy refuses; where ALLOW
/// policies apply, one must match. Principals and namespaces are known with mTLS only. On a
/// plain-TCP port a DENY rule's HTTP-only fields are dropped (it matches more) and an ALLOW
/// rule with HTTP-only fields never matches; on an HTTP port "some request" passes unless a
/// DENY rule without HTTP fields matches (istio.io, "Authorization on TCP traffic"). Covers
/// the source's principals and namespaces and the operation's ports and methods.
pub fn mesh_allowed(c: &Cluster, src: End<'_>, dst: &Endpoint, port: u16) -> bool {
    use netfence_model::istio::{AuthzAction, MtlsMode};
    if !istio_sidecar(c, dst) {
        return true;
    }
    let mode = istio_mtls(c, dst, port);
    let src_sidecar = match src {
        End::Pod(p) => istio_sidecar(c, p),
        End::External(_) => false,
    };
    if mode == MtlsMode::Strict && !src_sidecar {
        return false;
    }
    let mtls = src_sidecar && mode != MtlsMode::Disable;
    let (principal, namespace) = match src {
        End::Pod(p) if mtls => (
            Some(format!(
                "cluster.local/ns/{}/sa/{}",
                p.namespace, p.service_account
            )),
            Some(p.namespace.clone()),
        ),
        _ => (None, None),
    };
    let tcp = istio_plain_tcp(dst, port);
    let source_ok = |s: &netfence_model::istio::Source| {
        let any = |vals: &[String], v: &Option<String>| {
            v.as_ref()
                .is_some_and(|v| vals.iter().any(|x| x == "*" || x == v))
        };
        (s.principals.is_empty() || any(&s.principals, &principal))
            && !any(&s.not_principals, &principal)
            && (s.namespaces.is_empty() || any(&s.namespaces, &namespace))
            && !any(&s.not_namespaces, &namespace)
    };
    let port_ok = |o: &netfence_model::istio::Operation| {
        let p = port.to_string();
        (o.ports.is_empty() || o.ports.contains(&p)) && !o.not_ports.contains(&p)
    };
    // does `rule` match the flow (`for_deny`: HTTP fields are what a DENY can drop)?
    let matches = |rule: &netfence_model::istio::AuthzRule, for_deny: bool| {
        let http = rule
            .to
            .iter()
            .flatten()
            .any(|o| !o.methods.is_empty() || !o.not_methods.is_empty());
        if !for_deny && tcp && http {
            return false; // an ALLOW rule with HTTP fields never matches TCP
        }
        if for_deny && !tcp && http {
            return false; // some request (another method) escapes an HTTP-field DENY
        }
        rule.from.as_ref().is_none_or(|v| v.iter().any(source_ok))
            && rule.to.as_ref().is_none_or(|v| v.iter().any(port_ok))
    };
    let applies = |p: &&netfence_model::istio::AuthorizationPolicy| {
        !p.target_refs
            && (p.namespace == dst.namespace || p.namespace == "istio-system")
            && p.selector
                .as_ref()
                .is_none_or(|s| s.iter().all(|(k, v)| dst.labels.get(k) == Some(v)))
    };
    let aps: Vec<_> = c
        .policies
        .authorization_policies()
        .iter()
        .filter(applies)
        .collect();
    if aps
        .iter()
        .filter(|p| p.action == AuthzAction::Deny)
        .any(|p| p.rules.iter().any(|r| matches(r, true)))
    {
        return false;
    }
    let allows: Vec<_> = aps
        .iter()
        .filter(|p| p.action == AuthzAction::Allow)
        .collect();
    allows.is_empty()
        || allows
            .iter()
            .any(|p| p.rules.iter().any(|r| matches(r, false)))
}
