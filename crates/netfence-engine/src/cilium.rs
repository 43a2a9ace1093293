//! The Cilium layer: Kubernetes NetworkPolicies, CiliumNetworkPolicies and
//! CiliumClusterwideNetworkPolicies in one rule repository, per direction: any matching deny
//! wins, allows are unioned, default deny once a rule with a non-empty section selects the
//! endpoint (unless `enableDefaultDeny` says otherwise), and L7 rules on the ports they name.

use std::collections::BTreeMap;
use std::net::IpAddr;

use netfence_model::cilium::{
    CLUSTER_LABEL, DEFAULT_CLUSTER_NAME, NAMESPACE_LABELS_PREFIX, POD_NAMESPACE_LABEL,
    RESERVED_PREFIX, SERVICE_ACCOUNT_LABEL,
};
use netfence_model::{
    CiliumPeer, CiliumPeerRule, CiliumPolicy, CiliumPortRule, CiliumRule, CiliumSubject, ConnSet,
    Endpoint, Entity, HttpRule, L7Request, L7Rules, Labels, NetworkPolicy, Origin, PortRef,
    PortSet, Protocol,
};

use crate::eval::{port_owner, rules_of, Direction, Evaluator, LayerStep, LayerVerdict, Peer};

/// `--policy-enforcement` of the Cilium agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PolicyMode {
    /// Enforce on endpoints some rule selects.
    #[default]
    Default,
    /// Every endpoint is in default deny.
    Always,
    /// No enforcement.
    Never,
}

/// Cilium agent settings that change verdicts (docs.cilium.io, agent configuration); defaults are the current
/// agent's.
#[derive(Debug, Clone)]
pub struct CiliumOptions {
    /// A leading `**.` matches several labels (current agents).
    pub fqdn_multilabel: bool,
    /// The policy enforcement mode.
    pub mode: PolicyMode,
    /// `--allow-localhost=policy`: the local host is subject to policy like any peer.
    pub allow_localhost_policy: bool,
    /// Names each external address was resolved from (the DNS proxy's cache).
    pub dns_cache: BTreeMap<IpAddr, Vec<String>>,
}

impl Default for CiliumOptions {
    fn default() -> Self {
        Self {
            fqdn_multilabel: true,
            mode: PolicyMode::Default,
            allow_localhost_policy: false,
            dns_cache: BTreeMap::new(),
        }
    }
}

/// Where a rule of the repository comes from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum RuleSource<'a> {
    /// A Kubernetes NetworkPolicy rule.
    Np { np: &'a NetworkPolicy, index: usize },
    /// A Cilium rule.
    Cilium {
        policy: &'a CiliumPolicy,
        rule: &'a CiliumRule,
        section: &'static str,
        index: usize,
        line: Option<usize>,
    },
}

impl RuleSource<'_> {
    fn layer(&self) -> &'static str {
        match self {
            RuleSource::Np { .. } => "NetworkPolicy",
            RuleSource::Cilium { policy, .. } => policy.kind(),
        }
    }
    fn policy(&self) -> String {
        match self {
            RuleSource::Np { np, .. } => np.qualified_name(),
            RuleSource::Cilium { policy, .. } => policy.qualified_name(),
        }
    }
    fn rule(&self, dir: Direction) -> String {
        match self {
            RuleSource::Np { index, .. } => format!("{}[{index}]", dir_key(dir)),
            RuleSource::Cilium {
                rule,
                section,
                index,
                ..
            } => format!("{}.{section}[{index}]", rule.path),
        }
    }
    fn origin(&self) -> Origin {
        match self {
            RuleSource::Np { np, index } => {
                let mut o = np.origin.clone();
                if let Some(line) = np
                    .ingress
                    .iter()
                    .chain(np.egress.iter())
                    .flatten()
                    .nth(*index)
                    .and_then(|r| r.line)
                {
                    o.line = Some(line);
                }
                o
            }
            RuleSource::Cilium { policy, line, .. } => {
                let mut o = policy.origin.clone();
                if line.is_some() {
                    o.line = *line;
                }
                o
            }
        }
    }
}

fn dir_key(dir: Direction) -> &'static str {
    match dir {
        Direction::Ingress => "ingress",
        Direction::Egress => "egress",
    }
}

/// One rule of the repository matching the peer: what it allows or denies, and its L7 rules.
#[derive(Debug, Clone)]
pub(crate) struct Entry<'a> {
    pub source: RuleSource<'a>,
    pub deny: bool,
    pub conn: ConnSet,
    pub l7: Option<&'a L7Rules>,
}

/// The Cilium view of one endpoint in one direction against one peer.
#[derive(Debug, Clone, Default)]
pub(crate) struct CiliumDirection<'a> {
    /// Whether some rule with a non-empty section selects the endpoint.
    pub enforced: bool,
    /// Whether that puts it in default deny.
    pub default_deny: bool,
    /// The policies whose rules select the endpoint.
    pub selecting: Vec<Selecting<'a>>,
    /// The entries that match the peer.
    pub entries: Vec<Entry<'a>>,
}

/// A policy that selects an endpoint.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Selecting<'a> {
    Np(&'a NetworkPolicy),
    Cilium(&'a CiliumPolicy),
}

impl Selecting<'_> {
    fn name(&self) -> String {
        match self {
            Selecting::Np(p) => p.qualified_name(),
            Selecting::Cilium(p) => p.qualified_name(),
        }
    }
}

fn names(v: &[Selecting<'_>]) -> Vec<String> {
    let mut out: Vec<String> = v.iter().map(Selecting::name).collect();
    out.dedup();
    out
}

/// Per endpoint, what the Cilium layer needs of it as a subject: its identity labels and the
/// Cilium rules that select it (computed once per evaluator).
#[derive(Debug, Clone)]
pub(crate) struct SubjectCache<'a> {
    pub ids: Labels,
    pub rules: Vec<(&'a CiliumPolicy, &'a CiliumRule)>,
}

/// The subject caches of every endpoint of `ev`'s cluster, by endpoint id.
pub(crate) fn subject_caches<'a>(ev: &Evaluator<'a>) -> Vec<SubjectCache<'a>> {
    use rayon::prelude::*;
    // a namespaced policy selects endpoints of its namespace only (indexes in input order)
    let policies = ev.cluster.policies.cilium_policies();
    let mut by_ns: std::collections::HashMap<&str, Vec<usize>> = Default::default();
    let mut clusterwide: Vec<usize> = Vec::new();
    for (i, p) in policies.iter().enumerate() {
        match &p.namespace {
            Some(ns) => by_ns.entry(ns.as_str()).or_default().push(i),
            None => clusterwide.push(i),
        }
    }
    ev.cluster
        .endpoints
        .par_iter()
        .map(|ep| {
            let ids = identity_labels(ev, ep);
            let mut candidates: Vec<usize> = by_ns
                .get(ep.namespace.as_str())
                .cloned()
                .unwrap_or_default();
            candidates.extend_from_slice(&clusterwide);
            // in input order, as a scan of every policy has them
            candidates.sort_unstable();
            let rules = candidates
                .into_iter()
                .filter_map(|i| policies.get(i))
                .flat_map(|p| p.rules.iter().map(move |r| (p, r)))
                .filter(|(_, r)| ev.cilium_subject_selects(r, ep, &ids))
                .collect();
            SubjectCache { ids, rules }
        })
        .collect()
}

use crate::verdict::Outcome;

/// The identity labels Cilium derives for a pod.
pub fn identity_labels(ev: &Evaluator<'_>, ep: &Endpoint) -> Labels {
    let mut l = ep.labels.clone();
    l.insert(POD_NAMESPACE_LABEL.into(), ep.namespace.clone());
    l.insert(SERVICE_ACCOUNT_LABEL.into(), ep.service_account.clone());
    l.insert(CLUSTER_LABEL.into(), DEFAULT_CLUSTER_NAME.into());
    for (k, v) in ev.cluster.namespace_labels(&ep.namespace) {
        l.insert(format!("{NAMESPACE_LABELS_PREFIX}{k}"), v.clone());
    }
    l
}

fn reserved_labels(e: Entity) -> Labels {
    Labels::from([(format!("{RESERVED_PREFIX}{}", e.as_str()), String::new())])
}

/// The entity a peer is, when it is not a Cilium-managed pod.
fn peer_entity(peer: Peer<'_>) -> Option<Entity> {
    match peer {
        Peer::Endpoint(e) if e.host_network => Some(Entity::Host),
        Peer::Endpoint(_) | Peer::Rep(_) => None,
        Peer::Ip(_) | Peer::Fqdn { .. } => Some(Entity::World),
        Peer::Entity(e) => Some(e),
    }
}

fn peer_ip_in(peer: Peer<'_>, set: &netfence_model::IpSet) -> bool {
    match peer {
        Peer::Ip(r) => set.contains_range(r),
        Peer::Fqdn { ip: Some(ip), .. } => set.contains(ip),
        _ => false,
    }
}

impl<'a> Evaluator<'a> {
    /// The subject cache of `ep`, when it is one of the cluster's endpoints.
    pub(crate) fn cilium_subject(&self, ep: &Endpoint) -> Option<&SubjectCache<'a>> {
        self.cilium_subjects.get(self.cluster.endpoint_id(ep)?)
    }

    pub(crate) fn cilium_subject_selects(
        &self,
        rule: &CiliumRule,
        ep: &Endpoint,
        ids: &Labels,
    ) -> bool {
        match &rule.subject {
            CiliumSubject::Endpoints(s) => !ep.host_network && s.matches(ids),
            // Host policies apply to nodes, which are not endpoints of the inventory.
            CiliumSubject::Nodes(_) => false,
        }
    }

    /// Whether `ep`'s egress rules let the DNS proxy learn `name` (a `dns` L7 rule matching
    /// it on port 53): without one, `toFQDNs` matches nothing.
    pub fn fqdn_learned(&self, ep: &Endpoint, name: &str) -> bool {
        let rules: Vec<&CiliumRule> = match self.cilium_subject(ep) {
            Some(c) => c.rules.iter().map(|(_, r)| *r).collect(),
            None => {
                let ids = identity_labels(self, ep);
                self.cluster
                    .policies
                    .cilium_policies()
                    .iter()
                    .flat_map(|p| &p.rules)
                    .filter(|r| self.cilium_subject_selects(r, ep, &ids))
                    .collect()
            }
        };
        rules
            .into_iter()
            .flat_map(|r| &r.egress)
            .flat_map(|pr| pr.ports.iter().flatten())
            .any(|port_rule| {
                let on_53 = port_rule.ports.is_empty()
                    || port_rule.ports.iter().any(|p| match &p.port {
                        None => true,
                        Some(PortRef::Number(n)) => *n <= 53 && 53 <= p.end_port.unwrap_or(*n),
                        Some(PortRef::Name(_)) => true,
                    });
                on_53
                    && matches!(&port_rule.l7, Some(L7Rules::Dns(pats))
                        if pats.iter().any(|p| p.matches(name, self.cilium.fqdn_multilabel)))
            })
    }

    fn fqdn_names<'p>(&'p self, peer: Peer<'p>) -> Vec<&'p str> {
        match peer {
            Peer::Fqdn { name, ip } => {
                let mut v = vec![name];
                if let Some(names) = ip.and_then(|ip| self.cilium.dns_cache.get(&ip)) {
                    v.extend(names.iter().map(String::as_str));
                }
                v
            }
            Peer::Ip(r) if r.first() == r.last() => self
                .cilium
                .dns_cache
                .get(&r.first())
                .map(|n| n.iter().map(String::as_str).collect())
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    fn cilium_peer_matches(
        &self,
        ep: &Endpoint,
        elem: &CiliumPeer,
        peer: Peer<'_>,
        peer_ids: Option<&Labels>,
        requires: &[&netfence_model::LabelSelector],
        dir: Direction,
    ) -> bool {
        match elem {
            CiliumPeer::Endpoints(sel) => match (peer_ids, peer_entity(peer)) {
                (Some(ids), _) => sel.matches(ids) && requires.iter().all(|r| r.matches(ids)),
                (None, Some(e)) => {
                    sel.keys().any(|k| k.starts_with(RESERVED_PREFIX))
                        && sel.matches(&reserved_labels(e))
                }
                (None, None) => false,
            },
            CiliumPeer::Entity(e) => match (peer_ids, peer_entity(peer)) {
                (Some(_), _) => matches!(e, Entity::Cluster | Entity::All),
                (None, Some(p)) => e.covers(p),
                (None, None) => false,
            },
            CiliumPeer::Cidr(set) => peer_ip_in(peer, set),
            // resolved by the loader; an unresolved reference matches nothing
            CiliumPeer::CidrGroup(_) => false,
            CiliumPeer::Fqdn(pat) => {
                dir == Direction::Egress
                    && self.fqdn_names(peer).iter().any(|n| {
                        pat.matches(n, self.cilium.fqdn_multilabel) && self.fqdn_learned(ep, n)
                    })
            }
            // Backends of selector-less services are Endpoints objects, not modelled.
            CiliumPeer::Service { .. } => false,
            CiliumPeer::Nodes(sel) => {
                sel.is_empty()
                    && matches!(peer_entity(peer), Some(Entity::Host | Entity::RemoteNode))
            }
        }
    }

    fn cilium_rule_matches_peer(
        &self,
        ep: &Endpoint,
        rule: &CiliumPeerRule,
        peer: Peer<'_>,
        peer_ids: Option<&Labels>,
        requires: &[&netfence_model::LabelSelector],
        dir: Direction,
    ) -> bool {
        match &rule.peers {
            // no L3 field: every peer on the rule's ports; the empty rule `{}` (no ports either)
            // selects no peer (Cilium's default-deny idiom)
            None => rule.ports.is_some(),
            Some(elems) => elems
                .iter()
                .any(|e| self.cilium_peer_matches(ep, e, peer, peer_ids, requires, dir)),
        }
    }

    /// `e`'s identity labels: cached for the cluster's endpoints, computed for others.
    pub(crate) fn identity_of<'e>(&'e self, e: &'e Endpoint) -> std::borrow::Cow<'e, Labels> {
        match self.cilium_subject(e) {
            Some(c) => std::borrow::Cow::Borrowed(&c.ids),
            None => std::borrow::Cow::Owned(identity_labels(self, e)),
        }
    }

    /// The Cilium rules whose subject selects `ep` (of identity `ids`): cached for the
    /// cluster's endpoints, found for others.
    fn selecting_rules(
        &self,
        ep: &Endpoint,
        ids: &Labels,
    ) -> std::borrow::Cow<'_, [(&'a CiliumPolicy, &'a CiliumRule)]> {
        match self.cilium_subject(ep) {
            Some(c) => std::borrow::Cow::Borrowed(&c.rules),
            None => std::borrow::Cow::Owned(
                self.cluster
                    .policies
                    .cilium_policies()
                    .iter()
                    .flat_map(|p| p.rules.iter().map(move |r| (p, r)))
                    .filter(|(_, r)| self.cilium_subject_selects(r, ep, ids))
                    .collect(),
            ),
        }
    }

    /// The peer parts of every rule of the repository about `ep` in `dir` (as
    /// [`Evaluator::cilium_direction`] consults them).
    pub(crate) fn cilium_peer_tests(
        &self,
        ep: &'a Endpoint,
        dir: Direction,
        out: &mut Vec<crate::peer_tests::PeerTest<'a>>,
    ) {
        use crate::peer_tests::PeerTest;
        if self.cilium.mode == PolicyMode::Never || ep.host_network {
            return;
        }
        self.np_peer_tests(ep, dir, out);
        let rules = self.selecting_rules(ep, &self.identity_of(ep));
        let sections = |r: &'a CiliumRule| -> [&'a Vec<CiliumPeerRule>; 2] {
            match dir {
                Direction::Ingress => [&r.ingress, &r.ingress_deny],
                Direction::Egress => [&r.egress, &r.egress_deny],
            }
        };
        let requires: Vec<&'a netfence_model::LabelSelector> = rules
            .iter()
            .flat_map(|(_, r)| sections(r)[0].iter().flat_map(|pr| pr.requires.iter()))
            .collect();
        for (_, rule) in rules.iter() {
            for list in sections(rule) {
                for pr in list {
                    out.push(PeerTest::Cilium {
                        rule: pr,
                        requires: requires.clone(),
                        subject: ep,
                    });
                }
            }
        }
    }

    /// Whether `peer` passes Cilium peer rule `rule` of subject `ep` in `dir`.
    pub(crate) fn cilium_test_matches(
        &self,
        ep: &Endpoint,
        rule: &CiliumPeerRule,
        requires: &[&netfence_model::LabelSelector],
        peer: Peer<'_>,
        dir: Direction,
    ) -> bool {
        let peer_ids: Option<std::borrow::Cow<'_, Labels>> = match peer {
            Peer::Endpoint(p) if !p.host_network => Some(match self.cilium_subject(p) {
                Some(c) => std::borrow::Cow::Borrowed(&c.ids),
                None => std::borrow::Cow::Owned(identity_labels(self, p)),
            }),
            _ => None,
        };
        self.cilium_rule_matches_peer(ep, rule, peer, peer_ids.as_deref(), requires, dir)
    }

    /// Every rule of the repository about `ep` in `dir`, and those matching `peer`.
    pub(crate) fn cilium_direction(
        &self,
        ep: &'a Endpoint,
        peer: Peer<'_>,
        dir: Direction,
    ) -> CiliumDirection<'a> {
        let mut out = CiliumDirection::default();
        // A host-network pod is the host's endpoint: pod policies do not apply to it.
        if self.cilium.mode == PolicyMode::Never || ep.host_network {
            return out;
        }
        let owner = port_owner(ep, peer, dir);
        let ids = self.identity_of(ep);
        let peer_ids = match peer {
            Peer::Endpoint(p) if !p.host_network => Some(self.identity_of(p)),
            _ => None,
        };
        // Kubernetes NetworkPolicies, translated: default deny for their direction.
        for np in self.selecting_policies(ep, dir) {
            out.enforced = true;
            out.default_deny = true;
            out.selecting.push(Selecting::Np(np));
            for (index, rule) in rules_of(np, dir).into_iter().flatten().enumerate() {
                let peer_ok = match &rule.peers {
                    None => true,
                    Some(elems) => elems.iter().any(|e| self.np_peer_matches(np, e, peer)),
                };
                if peer_ok {
                    out.entries.push(Entry {
                        source: RuleSource::Np { np, index },
                        deny: false,
                        conn: crate::eval::np_rule_ports_owner(&rule.ports, owner),
                        l7: None,
                    });
                }
            }
        }
        let rules = self.selecting_rules(ep, &ids);
        let sections = |r: &'a CiliumRule| -> [(&'static str, &'a Vec<CiliumPeerRule>, bool); 2] {
            match dir {
                Direction::Ingress => [
                    ("ingress", &r.ingress, false),
                    ("ingressDeny", &r.ingress_deny, true),
                ],
                Direction::Egress => [
                    ("egress", &r.egress, false),
                    ("egressDeny", &r.egress_deny, true),
                ],
            }
        };
        let requires: Vec<&netfence_model::LabelSelector> = rules
            .iter()
            .flat_map(|(_, r)| sections(r)[0].1.iter().flat_map(|pr| pr.requires.iter()))
            .collect();
        for (policy, rule) in rules.iter() {
            let secs = sections(rule);
            if secs.iter().all(|(_, list, _)| list.is_empty()) {
                continue;
            }
            out.enforced = true;
            out.selecting.push(Selecting::Cilium(policy));
            let dd = match dir {
                Direction::Ingress => rule.default_deny_ingress,
                Direction::Egress => rule.default_deny_egress,
            };
            if dd.unwrap_or(true) {
                out.default_deny = true;
            }
            for (section, list, deny) in secs {
                for (index, pr) in list.iter().enumerate() {
                    if !self.cilium_rule_matches_peer(
                        ep,
                        pr,
                        peer,
                        peer_ids.as_deref(),
                        &requires,
                        dir,
                    ) {
                        continue;
                    }
                    // an allow that needs mutual authentication admits nothing here: it never
                    // succeeds for `test-always-fail`, and cannot be known offline for
                    // `required` (the loader says so)
                    if !deny && pr.authentication != netfence_model::cilium::AuthMode::Disabled {
                        continue;
                    }
                    let source = RuleSource::Cilium {
                        policy,
                        rule,
                        section,
                        index,
                        line: pr.line,
                    };
                    if !pr.icmps.is_empty() {
                        // `icmps`: those ICMP types, besides whatever `toPorts` allows
                        let mut conn = ConnSet::none();
                        for &(family, t) in &pr.icmps {
                            conn.add(&ConnSet::single(family, PortSet::icmp_types(t, t)));
                        }
                        out.entries.push(Entry {
                            source,
                            deny,
                            conn,
                            l7: None,
                        });
                    }
                    match &pr.ports {
                        None => out.entries.push(Entry {
                            source,
                            deny,
                            conn: ConnSet::all(),
                            l7: None,
                        }),
                        Some(port_rules) => {
                            for port_rule in port_rules {
                                out.entries.push(Entry {
                                    source,
                                    deny,
                                    conn: cilium_ports(port_rule, owner_endpoint(owner)),
                                    l7: port_rule.l7.as_ref().filter(|l7| {
                                        // 1.20: `kafka` is gone from the CRD; a stored rule
                                        // reads back pruned and allows the whole port
                                        !matches!(l7, L7Rules::Kafka(_))
                                            || self.data_path.cilium_kafka()
                                                == crate::datapath::KafkaRules::Enforced
                                    }),
                                });
                            }
                        }
                    }
                }
            }
        }
        if self.cilium.mode == PolicyMode::Always {
            out.enforced = true;
            out.default_deny = true;
        }
        out
    }

    /// The policies that put `ep` in default deny for `dir` under Cilium.
    pub(crate) fn cilium_isolating_names(&self, ep: &'a Endpoint, dir: Direction) -> Vec<String> {
        let d = self.cilium_direction(ep, Peer::Entity(Entity::None), dir);
        if d.enforced && d.default_deny {
            names(&d.selecting)
        } else {
            Vec::new()
        }
    }

    fn localhost_exempt(&self, peer: Peer<'_>, dir: Direction) -> bool {
        dir == Direction::Ingress
            && !self.cilium.allow_localhost_policy
            && matches!(peer, Peer::Entity(Entity::Host))
    }

    /// What the Cilium layer allows at L3/L4 for `ep` with `peer` in `dir`: what its rules
    /// allow, and without a tier after it what they leave undecided.
    pub(crate) fn cilium_allowed(
        &self,
        ep: &'a Endpoint,
        peer: Peer<'_>,
        dir: Direction,
    ) -> ConnSet {
        let (allowed, passed) = self.cilium_tiered(ep, peer, dir);
        allowed.union(&passed)
    }

    /// What the repository decides when tiers follow it (Cilium 1.20's ClusterNetworkPolicy
    /// baseline tier): `(allowed, passed)`. An endpoint in default deny for `dir` is decided
    /// here whole; otherwise its explicit allows are allowed, its denies denied, and the rest
    /// goes on to the next tier.
    pub(crate) fn cilium_tiered(
        &self,
        ep: &'a Endpoint,
        peer: Peer<'_>,
        dir: Direction,
    ) -> (ConnSet, ConnSet) {
        if self.localhost_exempt(peer, dir) {
            return (ConnSet::all(), ConnSet::none());
        }
        let d = self.cilium_direction(ep, peer, dir);
        let mut denied = ConnSet::none();
        let mut allowed = ConnSet::none();
        for e in &d.entries {
            if e.deny {
                denied.add(&e.conn);
            } else {
                allowed.add(&e.conn);
            }
        }
        let allowed = allowed.subtract(&denied);
        if d.enforced && d.default_deny {
            return (allowed, ConnSet::none());
        }
        let passed = ConnSet::all().subtract(&allowed).subtract(&denied);
        (allowed, passed)
    }

    /// The L7 constraints on what `ep` allows with `peer` in `dir`: for each set of ports where
    /// every matching allow carries L7 rules, those rules.
    pub fn cilium_l7(
        &self,
        ep: &'a Endpoint,
        peer: Peer<'_>,
        dir: Direction,
    ) -> Vec<(ConnSet, L7Rules)> {
        let d = self.cilium_direction(ep, peer, dir);
        let mut l4_only = ConnSet::none();
        let mut denied = ConnSet::none();
        for e in &d.entries {
            if e.deny {
                denied.add(&e.conn);
            } else if e.l7.is_none() {
                l4_only.add(&e.conn);
            }
        }
        let mut out: Vec<(ConnSet, L7Rules)> = Vec::new();
        for e in d.entries.iter().filter(|e| !e.deny) {
            let Some(l7) = e.l7 else { continue };
            let conn = e.conn.subtract(&l4_only).subtract(&denied);
            if conn.is_empty() {
                continue;
            }
            match out
                .iter_mut()
                .find(|(c, r)| *c == conn && r.kind() == l7.kind())
            {
                Some((_, r)) => merge_l7(r, l7),
                None => out.push((conn, l7.clone())),
            }
        }
        out
    }

    /// The Cilium layer's say about one (protocol, port) and optional request, with the
    /// deciding rule.
    pub fn cilium_explain(
        &self,
        ep: &'a Endpoint,
        peer: Peer<'_>,
        dir: Direction,
        protocol: Protocol,
        port: u16,
        request: Option<&L7Request>,
    ) -> (Outcome, Vec<LayerStep>) {
        let mut steps = Vec::new();
        if self.localhost_exempt(peer, dir) {
            steps.push(LayerStep::note(
                "Cilium",
                LayerVerdict::Allow,
                "traffic from the local host is always allowed (allow-localhost=auto)",
            ));
            return (Outcome::Allow, steps);
        }
        let d = self.cilium_direction(ep, peer, dir);
        let hits: Vec<&Entry<'_>> = d
            .entries
            .iter()
            .filter(|e| e.conn.contains(protocol, port))
            .collect();
        let step = |e: &Entry<'_>, verdict: LayerVerdict, detail: String| LayerStep {
            layer: e.source.layer(),
            verdict,
            policy: Some(e.source.policy()),
            rule: Some(e.source.rule(dir)),
            origin: Some(e.source.origin()),
            detail,
        };
        if let Some(e) = hits.iter().find(|e| e.deny) {
            steps.push(step(
                e,
                LayerVerdict::Deny,
                format!("{} deny rule matches: deny beats every allow", dir),
            ));
            return (Outcome::Deny, steps);
        }
        let allows: Vec<&&Entry<'_>> = hits.iter().filter(|e| !e.deny).collect();
        if let Some(e) = allows.iter().find(|e| e.l7.is_none()) {
            steps.push(step(
                e,
                LayerVerdict::Allow,
                format!("{} rule allows this peer and port", dir),
            ));
            return (Outcome::Allow, steps);
        }
        if let Some(first) = allows.first() {
            // Every matching allow carries L7 rules: the proxy decides each request.
            steps.push(step(
                first,
                LayerVerdict::Allow,
                format!(
                    "{} rule allows the port; requests go through the L7 proxy",
                    dir
                ),
            ));
            // A connection to a DNS name presents that name as its TLS server name.
            let sni = match peer {
                Peer::Fqdn { name, .. }
                    if allows.iter().all(|e| matches!(e.l7, Some(L7Rules::Tls(_)))) =>
                {
                    Some(L7Request::Tls {
                        sni: name.to_string(),
                    })
                }
                _ => None,
            };
            let Some(req) = request.or(sni.as_ref()) else {
                let rules: Vec<String> = allows
                    .iter()
                    .filter_map(|e| e.l7.map(ToString::to_string))
                    .collect();
                steps.push(LayerStep::note(
                    "Cilium L7",
                    LayerVerdict::Allow,
                    format!(
                        "connection allowed; only requests matching {} pass",
                        rules.join(" or ")
                    ),
                ));
                return (Outcome::Allow, steps);
            };
            for e in &allows {
                if let Some(l7) = e.l7 {
                    if l7_matches(l7, req, self.cilium.fqdn_multilabel) {
                        steps.push(step(e, LayerVerdict::Allow, format!("{req} matches {l7}")));
                        return (Outcome::Allow, steps);
                    }
                }
            }
            let rules: Vec<String> = allows
                .iter()
                .filter_map(|e| e.l7.map(ToString::to_string))
                .collect();
            steps.push(LayerStep {
                layer: "Cilium L7",
                verdict: LayerVerdict::L7Deny,
                policy: Some(first.source.policy()),
                rule: Some(first.source.rule(dir)),
                origin: Some(first.source.origin()),
                detail: format!(
                    "connection allowed, request denied ({}): {req} matches none of {}",
                    l7_refusal(allows.iter().find_map(|e| e.l7)),
                    rules.join(", ")
                ),
            });
            return (Outcome::L7Deny, steps);
        }
        if d.enforced && d.default_deny {
            steps.push(LayerStep {
                layer: "Cilium",
                verdict: LayerVerdict::Deny,
                policy: d.selecting.first().map(Selecting::name),
                rule: None,
                origin: None,
                detail: format!(
                    "default deny for {} (selected by {}); no rule allows this peer and port",
                    dir,
                    names(&d.selecting).join(", ")
                ),
            });
            return (Outcome::Deny, steps);
        }
        steps.push(LayerStep::note(
            "default",
            LayerVerdict::Allow,
            if d.enforced {
                format!(
                    "enableDefaultDeny.{} is false on every rule selecting it: allowed",
                    dir_key(dir)
                )
            } else {
                format!("no policy selects this pod for {}: allowed by default", dir)
            },
        ));
        (Outcome::Allow, steps)
    }
}

fn l7_refusal(l7: Option<&L7Rules>) -> &'static str {
    match l7 {
        Some(L7Rules::Dns(_)) => "DNS REFUSED",
        Some(L7Rules::Tls(_)) => "TLS server name not allowed",
        Some(L7Rules::Kafka(_)) => "Kafka error response",
        _ => "HTTP 403",
    }
}

fn merge_l7(into: &mut L7Rules, from: &L7Rules) {
    match (into, from) {
        (L7Rules::Http(a), L7Rules::Http(b)) => a.extend(b.iter().cloned()),
        (L7Rules::Kafka(a), L7Rules::Kafka(b)) => a.extend(b.iter().cloned()),
        (L7Rules::Dns(a), L7Rules::Dns(b)) => a.extend(b.iter().cloned()),
        (L7Rules::Tls(a), L7Rules::Tls(b)) => a.extend(b.iter().cloned()),
        _ => {}
    }
}

/// The receiving endpoint for named ports (`None`: external or unknown).
fn owner_endpoint<'b>(owner: crate::eval::PortOwner<'b>) -> Option<&'b Endpoint> {
    match owner {
        crate::eval::PortOwner::Endpoint(e) => Some(e),
        _ => None,
    }
}

/// The connections one `toPorts` element covers (ports only: ICMP is `icmps`'s).
fn cilium_ports(rule: &CiliumPortRule, owner: Option<&Endpoint>) -> ConnSet {
    if rule.ports.is_empty() {
        return ConnSet::all_ports();
    }
    let mut c = ConnSet::none();
    for p in &rule.ports {
        let protocols: Vec<Protocol> = match p.protocol {
            Some(pr) => vec![pr],
            None => vec![Protocol::Tcp, Protocol::Udp, Protocol::Sctp],
        };
        for pr in protocols {
            let set = match &p.port {
                None => PortSet::all(),
                Some(PortRef::Number(n)) => PortSet::range(*n, p.end_port.unwrap_or(*n)),
                Some(PortRef::Name(name)) => {
                    match owner.and_then(|o| o.resolve_named_port(name, pr)) {
                        Some(n) => PortSet::range(n, n),
                        None => PortSet::empty(),
                    }
                }
            };
            c.add(&ConnSet::single(pr, set));
        }
    }
    c
}

fn regex_full(re: &str, value: &str) -> bool {
    regex::Regex::new(&format!("^(?:{re})$")).is_ok_and(|r| r.is_match(value))
}

fn http_matches(rule: &HttpRule, req: &L7Request) -> bool {
    let L7Request::Http {
        method,
        path,
        host,
        headers,
    } = req
    else {
        return false;
    };
    rule.method.as_ref().is_none_or(|m| regex_full(m, method))
        && rule.path.as_ref().is_none_or(|p| regex_full(p, path))
        && rule
            .host
            .as_ref()
            .is_none_or(|h| host.as_ref().is_some_and(|v| regex_full(h, v)))
        && rule.headers.iter().all(|h| {
            let (name, value) = match h.split_once(' ') {
                Some((n, v)) => (n.trim_end_matches(':'), Some(v.trim())),
                None => (h.trim_end_matches(':'), None),
            };
            headers
                .iter()
                .any(|(k, v)| k.eq_ignore_ascii_case(name) && value.is_none_or(|want| v == want))
        })
        && rule.header_matches.iter().all(|m| m.passes(headers))
}

/// Whether `req` passes L7 rules `l7` (a request of another protocol never does).
pub fn l7_matches(l7: &L7Rules, req: &L7Request, multilabel: bool) -> bool {
    match l7 {
        L7Rules::Http(rules) => rules.iter().any(|r| http_matches(r, req)),
        L7Rules::Kafka(rules) => rules.iter().any(|r| r.matches(req)),
        L7Rules::Dns(pats) => match req {
            L7Request::Dns { name } => pats.iter().any(|p| p.matches(name, multilabel)),
            _ => false,
        },
        // from 1.19 (with `**.` in DNS patterns) server names take wildcards: `*` within a
        // label, a leading `**.` for several labels, `"*"` for every name
        L7Rules::Tls(names) => match req {
            L7Request::Tls { sni } => names.iter().any(|n| {
                if multilabel {
                    netfence_model::FqdnPattern::new(n, false).matches(sni, true)
                } else {
                    n.trim_end_matches('.')
                        .eq_ignore_ascii_case(sni.trim_end_matches('.'))
                }
            }),
            _ => false,
        },
    }
}
