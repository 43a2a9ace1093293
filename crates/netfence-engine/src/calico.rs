//! The Calico layer: tiers in order, policies in order inside a tier, first terminal rule
//! (Allow, Deny, Pass) decides, an implicit deny at the end of a tier that has a policy for the
//! endpoint, then the namespace profile (allow). Kubernetes NetworkPolicies sit in tier
//! `default` at order 1000, AdminNetworkPolicies in `kube-admin`, the BaselineAdminNetworkPolicy
//! in `kube-baseline`.

use std::net::IpAddr;

use crate::datapath::DataPath;
use netfence_model::calico::{
    Action, CalicoPolicy, EntityRule, Port, Rule, CALICO_NAMESPACE_LABEL, CALICO_NAME_LABEL,
    CALICO_ORCHESTRATOR_LABEL, CALICO_SERVICE_ACCOUNT_LABEL,
};
use netfence_model::{
    AdminAction, AdminPolicy, Cluster, ConnSet, Endpoint, Labels, NetworkPolicy, PortSet, Protocol,
};

use crate::eval::{
    admin_rules, port_owner, rules_of, Direction, Evaluator, LayerStep, LayerVerdict, Peer,
    PortOwner,
};

/// A member of a tier.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Member<'a> {
    Calico(&'a CalicoPolicy),
    Np(&'a NetworkPolicy),
    Anp(&'a AdminPolicy),
    Banp(&'a AdminPolicy),
}

impl Member<'_> {
    fn layer(&self) -> &'static str {
        match self {
            Member::Calico(p) => p.kind(),
            Member::Np(_) => "NetworkPolicy",
            Member::Anp(a) | Member::Banp(a) => a.kind.label(),
        }
    }
    fn name(&self) -> String {
        match self {
            Member::Calico(p) => p.qualified_name(),
            Member::Np(p) => p.qualified_name(),
            Member::Anp(p) | Member::Banp(p) => p.name.clone(),
        }
    }
    fn origin(&self) -> netfence_model::Origin {
        match self {
            Member::Calico(p) => p.origin.clone(),
            Member::Np(p) => p.origin.clone(),
            Member::Anp(p) | Member::Banp(p) => p.origin.clone(),
        }
    }
}

/// A tier with its members sorted.
#[derive(Debug, Clone)]
pub(crate) struct TierPlan<'a> {
    pub name: String,
    pub default_pass: bool,
    pub members: Vec<Member<'a>>,
    /// Indexes into `members` of the namespaced ones, by namespace.
    by_namespace: std::collections::HashMap<&'a str, Vec<u32>>,
    /// Indexes into `members` of the cluster-wide ones.
    cluster_wide: Vec<u32>,
}

impl<'a> TierPlan<'a> {
    fn new(name: String, default_pass: bool, members: Vec<Member<'a>>) -> Self {
        let mut by_namespace: std::collections::HashMap<&'a str, Vec<u32>> = Default::default();
        let mut cluster_wide = Vec::new();
        for (i, m) in members.iter().enumerate() {
            let ns = match m {
                Member::Calico(p) => p.namespace.as_deref(),
                Member::Np(np) => Some(np.namespace.as_str()),
                Member::Anp(_) | Member::Banp(_) => None,
            };
            match ns {
                Some(ns) => by_namespace.entry(ns).or_default().push(i as u32),
                None => cluster_wide.push(i as u32),
            }
        }
        Self {
            name,
            default_pass,
            members,
            by_namespace,
            cluster_wide,
        }
    }

    /// The members that can apply to a pod of namespace `ns`, in order: the cluster-wide ones
    /// and those of `ns` (a tier of a large cluster holds every namespace's policies).
    fn candidates(&self, ns: &str) -> impl Iterator<Item = Member<'a>> + '_ {
        self.candidate_ids(ns)
            .into_iter()
            .filter_map(|i| self.members.get(i as usize).copied())
    }

    /// The indexes of [`TierPlan::candidates`].
    fn candidate_ids(&self, ns: &str) -> Vec<u32> {
        let own = self
            .by_namespace
            .get(ns)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut ids: Vec<u32> = Vec::with_capacity(own.len() + self.cluster_wide.len());
        ids.extend_from_slice(own);
        ids.extend_from_slice(&self.cluster_wide);
        ids.sort_unstable();
        ids
    }
}

/// Calico's sort key: order ascending, missing order last, then name.
fn key(order: Option<f64>, name: &str) -> (bool, f64, String) {
    (order.is_none(), order.unwrap_or(0.0), name.to_string())
}

/// The tiers of `cluster` on data path `dp`, in evaluation order, with their members.
///
/// Up to 3.31 AdminNetworkPolicies sit in tier `adminnetworkpolicy` (order 1,000) and the
/// BaselineAdminNetworkPolicy in `baselineadminnetworkpolicy` (order 10,000,000); from 3.32
/// the same places hold the two tiers of ClusterNetworkPolicy, `kube-admin` and
/// `kube-baseline`, and ANP/BANP are no longer enforced (calico#11144).
pub(crate) fn plan<'c>(cluster: &'c Cluster, dp: &DataPath) -> Vec<TierPlan<'c>> {
    let (admin_tier, baseline_tier) = calico_admin_tiers(dp);
    let mut tiers: Vec<(Option<f64>, String, bool)> = cluster
        .policies
        .calico_tiers()
        .iter()
        .map(|t| (t.order, t.name.clone(), t.default_pass))
        .collect();
    for (name, order, pass) in [
        (admin_tier, 1_000.0, true),
        ("default", 1_000_000.0, false),
        (baseline_tier, 10_000_000.0, true),
    ] {
        if !tiers.iter().any(|t| t.1 == name) {
            tiers.push((Some(order), name.to_string(), pass));
        }
    }
    for p in cluster.policies.calico_policies() {
        if !tiers.iter().any(|t| t.1 == p.tier) {
            // A tier the input does not declare: Calico would refuse the policy; keep it last.
            tiers.push((None, p.tier.clone(), false));
        }
    }
    tiers.sort_by(|a, b| {
        key(a.0, &a.1)
            .partial_cmp(&key(b.0, &b.1))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let anp = dp.enforces_admin_policies();
    let cnp = dp.enforces_cluster_network_policies();
    tiers
        .into_iter()
        .map(|(_, name, default_pass)| {
            let mut members: Vec<((bool, f64, String), Member<'_>)> = Vec::new();
            for p in cluster
                .policies
                .calico_policies()
                .iter()
                .filter(|p| p.tier == name && !p.staged)
            {
                members.push((key(p.order, &p.qualified_name()), Member::Calico(p)));
            }
            if name == "default" {
                for np in cluster.policies.network_policies() {
                    members.push((
                        key(Some(1000.0), &format!("knp.default.{}", np.name)),
                        Member::Np(np),
                    ));
                }
            }
            // ClusterNetworkPolicies: `order = spec.priority` in their tier
            let cnps = |baseline: bool| {
                cluster
                    .policies
                    .cluster_network_policies()
                    .iter()
                    .filter(move |p| cnp && p.kind.is_baseline() == baseline)
            };
            let anps = cluster.policies.admin_policies().iter().filter(|_| anp);
            if name == admin_tier {
                for a in anps.chain(cnps(false)) {
                    members.push((key(a.priority.map(f64::from), &a.name), Member::Anp(a)));
                }
            }
            if name == baseline_tier {
                for b in cnps(true) {
                    members.push((key(b.priority.map(f64::from), &b.name), Member::Banp(b)));
                }
                if let Some(b) = cluster.policies.baseline_policy().filter(|_| anp) {
                    members.push((key(Some(1000.0), &b.name), Member::Banp(b)));
                }
            }
            members.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
            TierPlan::new(
                name,
                default_pass,
                members.into_iter().map(|(_, m)| m).collect(),
            )
        })
        .collect()
}

/// The names of Calico's admin and baseline tiers on `dp`.
pub fn calico_admin_tiers(dp: &DataPath) -> (&'static str, &'static str) {
    if dp.enforces_cluster_network_policies() {
        ("kube-admin", "kube-baseline")
    } else {
        ("adminnetworkpolicy", "baselineadminnetworkpolicy")
    }
}

/// The labels Calico's selectors see on a pod.
pub fn calico_labels(ep: &Endpoint) -> Labels {
    let mut l = ep.labels.clone();
    l.insert(CALICO_NAMESPACE_LABEL.into(), ep.namespace.clone());
    l.insert(CALICO_ORCHESTRATOR_LABEL.into(), "k8s".into());
    l.insert(
        CALICO_SERVICE_ACCOUNT_LABEL.into(),
        ep.service_account.clone(),
    );
    l
}

/// The namespace labels Calico's `namespaceSelector` sees.
fn namespace_labels(cluster: &Cluster, ns: &str) -> Labels {
    let mut l = cluster.namespace_labels(ns).clone();
    l.insert(CALICO_NAME_LABEL.into(), ns.to_string());
    l
}

/// Calico labels of every endpoint and namespace, computed once per evaluator.
#[derive(Debug, Clone, Default)]
pub(crate) struct LabelCache {
    /// By endpoint id.
    endpoints: Vec<Labels>,
    namespaces: std::collections::HashMap<String, Labels>,
}

impl LabelCache {
    /// The cache for `cluster`.
    pub(crate) fn new(cluster: &Cluster) -> Self {
        Self {
            endpoints: cluster.endpoints.iter().map(calico_labels).collect(),
            namespaces: cluster
                .namespaces
                .keys()
                .map(|ns| (ns.clone(), namespace_labels(cluster, ns)))
                .collect(),
        }
    }
}

/// One rule's say about a peer.
struct Hit<'a> {
    action: Action,
    conn: ConnSet,
    /// Which rule: formatted only when a verdict is explained.
    rule: HitRule<'a>,
    detail: Option<&'static str>,
}

/// A rule of a tier member: `ingress[2]`, or an admin rule's name.
#[derive(Clone, Copy)]
enum HitRule<'a> {
    Index(Direction, usize),
    Name(&'a str),
}

impl std::fmt::Display for HitRule<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HitRule::Index(dir, i) => write!(f, "{}[{i}]", dir_key(*dir)),
            HitRule::Name(n) => f.write_str(n),
        }
    }
}

fn port_set(ports: &[Port], protocol: Protocol, owner: PortOwner<'_>) -> PortSet {
    let mut s = PortSet::empty();
    for p in ports {
        s = s.union(&match p {
            Port::Number(n) => PortSet::range(*n, *n),
            Port::Range(lo, hi) => PortSet::range(*lo, *hi),
            Port::Named(name) => match owner {
                PortOwner::Endpoint(e) => e
                    .resolve_named_port(name, protocol)
                    .map_or_else(PortSet::empty, |n| PortSet::range(n, n)),
                PortOwner::External => PortSet::empty(),
                PortOwner::Unknown => PortSet::named(name),
            },
        });
    }
    s
}

/// Who an entity rule is matched against.
#[derive(Clone, Copy)]
enum Who<'p> {
    Pod(&'p Endpoint),
    /// An address outside the pod network (or a host-network pod's node address).
    Address(Option<AddressRef<'p>>),
}

#[derive(Clone, Copy)]
enum AddressRef<'p> {
    Range(&'p netfence_model::IpRange),
    Ip(IpAddr),
}

impl<'a> Evaluator<'a> {
    fn who<'p>(&self, peer: Peer<'p>) -> Option<Who<'p>> {
        match peer {
            Peer::Endpoint(e) if e.host_network => Some(Who::Address(
                e.host_ip.or(e.ips.first().copied()).map(AddressRef::Ip),
            )),
            Peer::Endpoint(e) => Some(Who::Pod(e)),
            Peer::Ip(r) => Some(Who::Address(Some(AddressRef::Range(r)))),
            Peer::Fqdn { ip, .. } => Some(Who::Address(ip.map(AddressRef::Ip))),
            Peer::Entity(_) => Some(Who::Address(None)),
            Peer::Rep(_) => None,
        }
    }

    fn ns_labels_calico(&self, ns: &str) -> std::borrow::Cow<'_, Labels> {
        match self.calico_labels.namespaces.get(ns) {
            Some(l) => std::borrow::Cow::Borrowed(l),
            None => std::borrow::Cow::Owned(namespace_labels(self.cluster, ns)),
        }
    }

    /// The labels Calico's selectors see on `ep` (cached per endpoint).
    fn endpoint_labels(&self, ep: &Endpoint) -> std::borrow::Cow<'_, Labels> {
        match self
            .calico_labels
            .endpoints
            .get(self.cluster.endpoint_id(ep).unwrap_or(usize::MAX))
        {
            Some(l) => std::borrow::Cow::Borrowed(l),
            None => std::borrow::Cow::Owned(calico_labels(ep)),
        }
    }

    /// Whether a Calico policy applies to `ep` in `dir`.
    fn calico_applies(&self, p: &CalicoPolicy, ep: &Endpoint, dir: Direction) -> bool {
        let types = match dir {
            Direction::Ingress => p.applies_ingress,
            Direction::Egress => p.applies_egress,
        };
        if !types || ep.host_network {
            return false;
        }
        let ns_ok = match (&p.namespace, &p.namespace_selector) {
            (Some(ns), _) => *ns == ep.namespace,
            (None, Some(sel)) => {
                !sel.is_global() && sel.matches(&self.ns_labels_calico(&ep.namespace))
            }
            (None, None) => true,
        };
        ns_ok
            && p.selector.matches(&self.endpoint_labels(ep))
            && p.service_account_selector.as_ref().is_none_or(|s| {
                s.matches(&Labels::from([(
                    CALICO_NAME_LABEL.to_string(),
                    ep.service_account.clone(),
                )]))
            })
    }

    fn member_applies(&self, m: Member<'_>, ep: &Endpoint, dir: Direction) -> bool {
        match m {
            Member::Calico(p) => self.calico_applies(p, ep, dir),
            Member::Np(np) => {
                !ep.host_network
                    && np.namespace == ep.namespace
                    && rules_of(np, dir).is_some()
                    && np.pod_selector.matches(&ep.labels)
            }
            Member::Anp(a) | Member::Banp(a) => {
                !ep.host_network && self.subject_selects(&a.subject, ep)
            }
        }
    }

    /// Whether entity rule `e` of policy `p` matches `who`.
    fn entity_matches(&self, p: &CalicoPolicy, e: &EntityRule, who: Who<'_>) -> bool {
        if !e.domains.is_empty() {
            // Calico Enterprise DNS policy: not enforced by Calico OSS.
            return false;
        }
        let scoped = e.selector.is_some()
            || e.not_selector.is_some()
            || e.service_accounts.is_some()
            || e.namespace_selector.is_some();
        match who {
            Who::Pod(x) => {
                let ips_ok = |set: &netfence_model::IpSet| x.ips.iter().any(|ip| set.contains(*ip));
                if e.nets.as_ref().is_some_and(|n| !ips_ok(n)) {
                    return false;
                }
                if e.not_nets.as_ref().is_some_and(ips_ok) {
                    return false;
                }
                if scoped {
                    let ns_ok = match (&e.namespace_selector, &p.namespace) {
                        (Some(sel), _) => {
                            !sel.is_global() && sel.matches(&self.ns_labels_calico(&x.namespace))
                        }
                        (None, Some(ns)) => *ns == x.namespace,
                        (None, None) => true,
                    };
                    if !ns_ok {
                        return false;
                    }
                }
                let labels = self.endpoint_labels(x);
                if e.selector.as_ref().is_some_and(|s| !s.matches(&labels)) {
                    return false;
                }
                if e.not_selector.as_ref().is_some_and(|s| s.matches(&labels)) {
                    return false;
                }
                if let Some(sa) = &e.service_accounts {
                    let sa_labels =
                        Labels::from([(CALICO_NAME_LABEL.to_string(), x.service_account.clone())]);
                    if !(sa.names.is_empty() || sa.names.contains(&x.service_account))
                        || sa.selector.as_ref().is_some_and(|s| !s.matches(&sa_labels))
                    {
                        return false;
                    }
                }
                if let Some((name, ns)) = &e.services {
                    let ns = ns.as_deref().or(p.namespace.as_deref()).unwrap_or_default();
                    let backs = self
                        .cluster
                        .services
                        .iter()
                        .any(|s| s.name == *name && s.namespace == ns && s.selects(x));
                    if !backs {
                        return false;
                    }
                }
                true
            }
            Who::Address(addr) => {
                // Service accounts and services only know endpoints.
                if e.service_accounts.is_some() || e.services.is_some() {
                    return false;
                }
                // Selectors know addresses through the NetworkSets they select.
                if (e.selector.is_some() || e.namespace_selector.is_some())
                    && !self.in_selected_network_set(p, e, addr)
                {
                    return false;
                }
                // In a namespaced policy `notSelector` still carries the own-namespace scope.
                if e.not_selector.is_some() && p.namespace.is_some() {
                    return false;
                }
                let inside = |set: &netfence_model::IpSet| match addr {
                    Some(AddressRef::Range(r)) => set.contains_range(r),
                    Some(AddressRef::Ip(ip)) => set.contains(ip),
                    None => false,
                };
                if e.nets.as_ref().is_some_and(|n| !inside(n)) {
                    return false;
                }
                let overlaps = |set: &netfence_model::IpSet| match addr {
                    Some(AddressRef::Range(r)) => !set.intersect(&r.to_set()).is_empty(),
                    Some(AddressRef::Ip(ip)) => set.contains(ip),
                    None => false,
                };
                !e.not_nets.as_ref().is_some_and(overlaps)
            }
        }
    }

    /// Whether `addr` lies in the networks of the NetworkSets that entity rule `e` of `p`
    /// selects: a namespaced policy's selector sees its namespace's sets, a `namespaceSelector`
    /// those of the namespaces it matches (`global()`: the GlobalNetworkSets), a global policy's
    /// selector every set.
    fn in_selected_network_set(
        &self,
        p: &CalicoPolicy,
        e: &EntityRule,
        addr: Option<AddressRef<'_>>,
    ) -> bool {
        let Some(addr) = addr else { return false };
        let mut nets = netfence_model::IpSet::empty();
        for set in self.cluster.policies.calico_network_sets() {
            let in_scope = match (&e.namespace_selector, &p.namespace, &set.namespace) {
                (Some(sel), _, Some(ns)) => {
                    !sel.is_global() && sel.matches(&self.ns_labels_calico(ns))
                }
                (Some(sel), _, None) => sel.is_global(),
                (None, Some(own), Some(ns)) => own == ns,
                (None, Some(_), None) => false,
                (None, None, _) => true,
            };
            if !in_scope {
                continue;
            }
            let mut labels = set.labels.clone();
            if let Some(ns) = &set.namespace {
                labels.insert(CALICO_NAMESPACE_LABEL.to_string(), ns.clone());
            }
            if e.selector.as_ref().is_some_and(|s| !s.matches(&labels)) {
                continue;
            }
            nets = nets.union(&set.nets);
        }
        match addr {
            AddressRef::Range(r) => nets.contains_range(r),
            AddressRef::Ip(ip) => nets.contains(ip),
        }
    }

    /// The connections rule `r` of policy `p` covers for `peer` seen from `ep` in `dir`.
    fn calico_rule_conn(
        &self,
        p: &CalicoPolicy,
        r: &Rule,
        ep: &'a Endpoint,
        peer: Peer<'_>,
        dir: Direction,
    ) -> ConnSet {
        let Some(peer_who) = self.who(peer) else {
            return ConnSet::none();
        };
        let (src, dst) = match dir {
            Direction::Ingress => (peer_who, Who::Pod(ep)),
            Direction::Egress => (Who::Pod(ep), peer_who),
        };
        if r.other_protocol.is_some()
            || !self.entity_matches(p, &r.source, src)
            || !self.entity_matches(p, &r.destination, dst)
        {
            return ConnSet::none();
        }
        let owner = port_owner(ep, peer, dir);
        let protocols: Vec<Protocol> = match r.protocol {
            Some(pr) => vec![pr],
            None => Protocol::ALL.to_vec(),
        };
        let mut c = ConnSet::none();
        for pr in protocols {
            if r.not_protocol == Some(pr) {
                continue;
            }
            let mut ports = match &r.destination.ports {
                None => PortSet::all(),
                Some(ps) => port_set(ps, pr, owner),
            };
            if let Some(np) = &r.destination.not_ports {
                ports = ports.subtract(&port_set(np, pr, owner));
            }
            if pr.is_icmp() {
                // ICMP has types, not ports: `icmp`/`notICMP` (codes are not modelled)
                if let Some(m) = r.icmp {
                    ports = ports.intersect(&PortSet::icmp_types(m.icmp_type, m.icmp_type));
                }
                if let Some(m) = r.not_icmp {
                    ports = ports.subtract(&PortSet::icmp_types(m.icmp_type, m.icmp_type));
                }
            }
            c.add(&ConnSet::single(pr, ports));
        }
        c
    }

    fn hits(
        &self,
        m: Member<'a>,
        ep: &'a Endpoint,
        peer: Peer<'_>,
        dir: Direction,
    ) -> Vec<Hit<'a>> {
        let owner = port_owner(ep, peer, dir);
        match m {
            Member::Calico(p) => {
                let rules = rules_in(p, dir);
                rules
                    .iter()
                    .enumerate()
                    .map(|(i, r)| Hit {
                        action: r.action,
                        conn: self.calico_rule_conn(p, r, ep, peer, dir),
                        rule: HitRule::Index(dir, i),
                        detail: r.http.as_ref().map(|_| {
                            "its `http` match needs application layer policy (Istio + Dikastes); without it Calico checks only L3/L4"
                        }),
                    })
                    .collect()
            }
            Member::Np(np) => rules_of(np, dir)
                .into_iter()
                .flatten()
                .enumerate()
                .map(|(i, rule)| Hit {
                    action: Action::Allow,
                    conn: if self.np_rule_matches_peer(np, rule, peer) {
                        crate::eval::np_rule_ports_owner(&rule.ports, owner)
                    } else {
                        ConnSet::none()
                    },
                    rule: HitRule::Index(dir, i),
                    detail: None,
                })
                .collect(),
            Member::Anp(a) | Member::Banp(a) => admin_rules(a, dir)
                .iter()
                .filter_map(|rule| {
                    // Calico converts no `nodes` or `domainNames` peer of a
                    // ClusterNetworkPolicy: such an Accept rule is dropped, a Deny or Pass
                    // rule becomes a deny of everything
                    let unconverted = a.kind.is_cluster_network_policy()
                        && rule
                            .peers
                            .iter()
                            .any(|x| matches!(x, netfence_model::AdminPeer::Nodes(_) | netfence_model::AdminPeer::DomainNames(_)));
                    if unconverted {
                        return (rule.action != AdminAction::Allow).then(|| Hit {
                            action: Action::Deny,
                            conn: ConnSet::all(),
                            rule: HitRule::Name(&rule.name),
                            detail: Some(
                                "Calico converts no nodes or domainNames peer: the rule denies everything",
                            ),
                        });
                    }
                    Some(Hit {
                        action: match rule.action {
                            AdminAction::Allow => Action::Allow,
                            AdminAction::Deny => Action::Deny,
                            AdminAction::Pass => Action::Pass,
                        },
                        conn: if rule.peers.iter().any(|x| self.admin_peer_matches(x, peer)) {
                            self.admin_rule_conn(rule, owner)
                        } else {
                            ConnSet::none()
                        },
                        rule: HitRule::Name(&rule.name),
                        detail: None,
                    })
                })
                .collect(),
        }
    }

    /// Whether a tier without a Pass default has a policy for `ep` in `dir`: its end-of-tier
    /// deny then isolates the pod.
    pub(crate) fn calico_isolates(&self, ep: &Endpoint, dir: Direction) -> bool {
        self.calico_plan
            .iter()
            .enumerate()
            .any(|(i, t)| !t.default_pass && self.tier_applies(i, t, ep, dir))
    }

    /// The Calico policies (and translated Kubernetes ones) whose tier isolates `ep` in `dir`.
    pub(crate) fn calico_isolating_names(&self, ep: &Endpoint, dir: Direction) -> Vec<String> {
        self.calico_plan
            .iter()
            .filter(|t| !t.default_pass)
            .flat_map(|t| {
                t.candidates(&ep.namespace)
                    .filter(|m| self.member_applies(*m, ep, dir))
                    .map(|m| format!("{} {}", m.layer(), m.name()))
            })
            .collect()
    }

    /// The members of `tier` (the `t`-th of the plan) that apply to `ep` in `dir`, by index in
    /// the tier, when `ep` is one of the cluster's endpoints (tabled once per evaluator).
    fn tabled(&self, t: usize, ep: &Endpoint, dir: Direction) -> Option<&[u32]> {
        self.calico_applicable
            .get(self.cluster.endpoint_id(ep)?)?
            .get(t)?
            .get(usize::from(dir == Direction::Egress))
            .map(Vec::as_slice)
    }

    /// Whether a member of the `t`-th tier applies to `ep` in `dir`.
    fn tier_applies(&self, t: usize, tier: &TierPlan<'a>, ep: &Endpoint, dir: Direction) -> bool {
        match self.tabled(t, ep, dir) {
            Some(ids) => !ids.is_empty(),
            None => tier
                .candidates(&ep.namespace)
                .any(|m| self.member_applies(m, ep, dir)),
        }
    }

    /// The members of `tier` that apply to `ep` in `dir`, in order.
    fn applicable(&self, tier: &TierPlan<'a>, ep: &Endpoint, dir: Direction) -> Vec<Member<'a>> {
        let t = self.calico_plan.iter().position(|x| std::ptr::eq(x, tier));
        match t.and_then(|t| self.tabled(t, ep, dir)) {
            Some(ids) => ids
                .iter()
                .filter_map(|&i| tier.members.get(i as usize).copied())
                .collect(),
            None => tier
                .candidates(&ep.namespace)
                .filter(|m| self.member_applies(*m, ep, dir))
                .collect(),
        }
    }

    /// For every endpoint, tier and direction (ingress, egress), the indexes of the members
    /// that apply: what each flow would otherwise recompute per peer.
    pub(crate) fn calico_applicable_table(&self) -> Vec<Vec<[Vec<u32>; 2]>> {
        use rayon::prelude::*;
        self.cluster
            .endpoints
            .par_iter()
            .map(|ep| {
                self.calico_plan
                    .iter()
                    .map(|tier| {
                        let ids = tier.candidate_ids(&ep.namespace);
                        [Direction::Ingress, Direction::Egress].map(|dir| {
                            ids.iter()
                                .copied()
                                .filter(|&i| {
                                    tier.members
                                        .get(i as usize)
                                        .is_some_and(|m| self.member_applies(*m, ep, dir))
                                })
                                .collect()
                        })
                    })
                    .collect()
            })
            .collect()
    }

    /// The peer parts of every rule the Calico pipeline consults for `ep` in `dir`: the
    /// rules of every applicable member of every tier.
    pub(crate) fn calico_peer_tests(
        &self,
        ep: &'a Endpoint,
        dir: Direction,
        out: &mut Vec<crate::peer_tests::PeerTest<'a>>,
    ) {
        use crate::peer_tests::PeerTest;
        for tier in &self.calico_plan {
            for m in self.applicable(tier, ep, dir) {
                match m {
                    Member::Calico(p) => out.extend(rules_in(p, dir).iter().map(|r| {
                        PeerTest::Calico(
                            p,
                            match dir {
                                Direction::Ingress => &r.source,
                                Direction::Egress => &r.destination,
                            },
                        )
                    })),
                    Member::Np(np) => out.extend(
                        rules_of(np, dir)
                            .into_iter()
                            .flatten()
                            .map(|r| PeerTest::Np(np, r)),
                    ),
                    Member::Anp(a) | Member::Banp(a) => {
                        out.extend(admin_rules(a, dir).iter().map(PeerTest::Admin))
                    }
                }
            }
        }
    }

    /// Whether `peer` passes entity rule `e` of policy `p` (the peer's side of a rule).
    pub(crate) fn calico_test_matches(
        &self,
        p: &CalicoPolicy,
        e: &EntityRule,
        peer: Peer<'_>,
    ) -> bool {
        self.who(peer).is_some_and(|w| self.entity_matches(p, e, w))
    }

    /// The labels Calico's namespace selectors see on namespace `ns`.
    pub(crate) fn calico_namespace_labels(&self, ns: &str) -> std::borrow::Cow<'_, Labels> {
        self.ns_labels_calico(ns)
    }

    /// What the Calico pipeline allows for `ep` with `peer` in `dir`.
    pub(crate) fn calico_allowed(
        &self,
        ep: &'a Endpoint,
        peer: Peer<'_>,
        dir: Direction,
    ) -> ConnSet {
        let mut undecided = ConnSet::all();
        let mut allowed = ConnSet::none();
        for tier in &self.calico_plan {
            if undecided.is_empty() {
                break;
            }
            let members = self.applicable(tier, ep, dir);
            if members.is_empty() {
                continue;
            }
            let mut passed = ConnSet::none();
            for m in members {
                for h in self.hits(m, ep, peer, dir) {
                    let c = h.conn.intersect(&undecided);
                    if c.is_empty() {
                        continue;
                    }
                    match h.action {
                        Action::Allow => {
                            allowed.add(&c);
                            undecided = undecided.subtract(&c);
                        }
                        Action::Deny => undecided = undecided.subtract(&c),
                        Action::Pass => {
                            passed.add(&c);
                            undecided = undecided.subtract(&c);
                        }
                        Action::Log => {}
                    }
                }
            }
            undecided = if tier.default_pass {
                undecided.union(&passed)
            } else {
                passed
            };
        }
        allowed.union(&undecided)
    }

    /// The Calico pipeline's say about one (protocol, port): every tier that has a policy for
    /// the endpoint, with the deciding rule.
    pub(crate) fn calico_explain(
        &self,
        ep: &'a Endpoint,
        peer: Peer<'_>,
        dir: Direction,
        protocol: Protocol,
        port: u16,
    ) -> (bool, Vec<LayerStep>) {
        let mut steps = Vec::new();
        'tiers: for tier in &self.calico_plan {
            let members = self.applicable(tier, ep, dir);
            if members.is_empty() {
                continue;
            }
            for m in &members {
                for h in self.hits(*m, ep, peer, dir) {
                    if !h.conn.contains(protocol, port) {
                        continue;
                    }
                    let verdict = match h.action {
                        Action::Allow => LayerVerdict::Allow,
                        Action::Deny => LayerVerdict::Deny,
                        Action::Pass => LayerVerdict::Pass,
                        Action::Log => continue,
                    };
                    let mut detail =
                        format!("tier `{}`: {} rule {} matches", tier.name, h.action, h.rule);
                    if let Some(d) = &h.detail {
                        detail.push_str("; ");
                        detail.push_str(d);
                    }
                    steps.push(LayerStep {
                        layer: m.layer(),
                        verdict,
                        policy: Some(m.name()),
                        rule: Some(h.rule.to_string()),
                        origin: Some(m.origin()),
                        detail,
                    });
                    match verdict {
                        LayerVerdict::Pass => continue 'tiers,
                        v => return (v == LayerVerdict::Allow, steps),
                    }
                }
            }
            if tier.default_pass {
                steps.push(LayerStep::note(
                    "Calico tier",
                    LayerVerdict::Pass,
                    format!(
                        "no rule of tier `{}` matches; its defaultAction is Pass",
                        tier.name
                    ),
                ));
                continue;
            }
            let names: Vec<String> = members.iter().map(Member::name).collect();
            steps.push(LayerStep {
                layer: "Calico tier",
                verdict: LayerVerdict::Deny,
                policy: members.first().map(Member::name),
                rule: None,
                origin: members.first().map(Member::origin),
                detail: format!(
                    "end of tier `{}`: {} select this pod for {} and no rule matches, so the tier denies",
                    tier.name,
                    names.join(", "),
                    dir
                ),
            });
            return (false, steps);
        }
        steps.push(LayerStep::note(
            "default",
            LayerVerdict::Allow,
            format!("no tier decides for {dir}: the namespace profile allows it"),
        ));
        (true, steps)
    }
}

/// The rules of Calico policy `p` for `dir`.
fn rules_in(p: &CalicoPolicy, dir: Direction) -> &[Rule] {
    match dir {
        Direction::Ingress => &p.ingress,
        Direction::Egress => &p.egress,
    }
}

fn dir_key(dir: Direction) -> &'static str {
    match dir {
        Direction::Ingress => "ingress",
        Direction::Egress => "egress",
    }
}

/// A Calico Deny rule that an earlier Allow takes over for some traffic (the Deny was meant to win).
#[derive(Debug, Clone)]
pub struct ShadowedDeny {
    /// The policy's object key (for its annotations).
    pub key: netfence_model::cluster::ObjectKey,
    /// The policy holding the Deny rule.
    pub policy: String,
    /// Where it is declared.
    pub origin: netfence_model::Origin,
    /// The rule (`ingress[0]`).
    pub rule: String,
    /// One flow the Deny was meant for: (source, destination, protocol, port), display names.
    pub example: (String, String, Protocol, u16),
    /// The step that decides that flow first.
    pub decided_by: LayerStep,
}

/// A Calico Pass rule with no later tier to pass to: the traffic reaches the namespace profile,
/// which allows it.
#[derive(Debug, Clone)]
pub struct PassToProfile {
    /// The policy's object key (for its annotations).
    pub key: netfence_model::cluster::ObjectKey,
    /// The policy.
    pub policy: String,
    /// Where it is declared.
    pub origin: netfence_model::Origin,
    /// The rule.
    pub rule: String,
    /// A workload it applies to.
    pub workload: String,
}

impl<'a> Evaluator<'a> {
    /// The Calico policies the data path enforces (staged ones only preview).
    fn enforced_calico_policies(&self) -> impl Iterator<Item = &'a CalicoPolicy> {
        let policies: &'a [CalicoPolicy] = self.cluster.policies.calico_policies();
        policies.iter().filter(|p| !p.staged)
    }

    /// Every Calico Deny rule (of the Calico policies) that some earlier Allow (or Pass to an
    /// allowing tier) decides first for traffic the Deny matches, with one example each.
    pub fn calico_shadowed_denies(&self) -> Vec<ShadowedDeny> {
        let mut out = Vec::new();
        let eps = &self.cluster.endpoints;
        for p in self.enforced_calico_policies() {
            for dir in [Direction::Ingress, Direction::Egress] {
                let rules = rules_in(p, dir);
                'rules: for (i, r) in rules.iter().enumerate() {
                    if r.action != Action::Deny {
                        continue;
                    }
                    for e in eps.iter().filter(|e| self.calico_applies(p, e, dir)) {
                        for q in eps.iter().filter(|q| !std::ptr::eq(*q, e)) {
                            let conn = self.calico_rule_conn(p, r, e, Peer::Endpoint(q), dir);
                            let receiver = if dir == Direction::Ingress { e } else { q };
                            let Some((proto, port)) = sample(&conn, receiver) else {
                                continue;
                            };
                            let (ok, steps) =
                                self.calico_explain(e, Peer::Endpoint(q), dir, proto, port);
                            if !ok {
                                continue;
                            }
                            let (src, dst) = match dir {
                                Direction::Ingress => (q, e),
                                Direction::Egress => (e, q),
                            };
                            if let Some(step) = steps.into_iter().last() {
                                out.push(ShadowedDeny {
                                    key: p.object_key(),
                                    policy: p.qualified_name(),
                                    origin: p.origin.clone(),
                                    rule: format!("{}[{i}]", dir_key(dir)),
                                    example: (src.display_name(), dst.display_name(), proto, port),
                                    decided_by: step,
                                });
                            }
                            continue 'rules;
                        }
                    }
                }
            }
        }
        out
    }

    /// Every Calico Pass rule whose policy's tier is the last one with a policy for a workload
    /// it applies to.
    pub fn calico_pass_to_profile(&self) -> Vec<PassToProfile> {
        let mut out = Vec::new();
        let plan = crate::calico::plan(self.cluster, &self.data_path);
        for p in self.enforced_calico_policies() {
            let Some(t) = plan.iter().position(|t| t.name == p.tier) else {
                continue;
            };
            for dir in [Direction::Ingress, Direction::Egress] {
                let rules = rules_in(p, dir);
                for (i, _) in rules
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.action == Action::Pass)
                {
                    let lonely = self.cluster.endpoints.iter().find(|e| {
                        self.calico_applies(p, e, dir)
                            && !plan.iter().skip(t + 1).any(|later| {
                                !later.default_pass
                                    && later
                                        .candidates(&e.namespace)
                                        .any(|m| self.member_applies(m, e, dir))
                            })
                    });
                    if let Some(e) = lonely {
                        out.push(PassToProfile {
                            key: p.object_key(),
                            policy: p.qualified_name(),
                            origin: p.origin.clone(),
                            rule: format!("{}[{i}]", dir_key(dir)),
                            workload: e.display_name(),
                        });
                    }
                }
            }
        }
        out
    }
}

/// A (protocol, port) inside `conn`: a container port of the receiver when there is one,
/// else the lowest, TCP first.
fn sample(conn: &ConnSet, receiver: &Endpoint) -> Option<(Protocol, u16)> {
    receiver
        .container_ports
        .iter()
        .find(|(port, proto)| conn.contains(*proto, *port))
        .map(|(port, proto)| (*proto, *port))
        .or_else(|| {
            [Protocol::Tcp, Protocol::Udp, Protocol::Sctp]
                .into_iter()
                .find_map(|p| conn.ports(p).ranges().first().map(|r| (p, r.0)))
        })
}
