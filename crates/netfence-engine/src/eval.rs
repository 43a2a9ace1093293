//! Per-direction evaluation of one peer against one endpoint, layer by layer:
//! AdminNetworkPolicy → NetworkPolicy → BaselineAdminNetworkPolicy → default allow.

use std::collections::HashMap;
use std::net::IpAddr;

use netfence_model::{
    AdminAction, AdminPeer, AdminPolicy, AdminPort, AdminRule, AdminSubject, Cluster, ConnSet,
    Endpoint, Entity, IpSet, L7Request, LabelSelector, NetworkPolicy, NpPeer, NpPort, NpRule,
    PortRef, PortSet, Protocol,
};

use crate::cilium::CiliumOptions;
use crate::datapath::DataPath;
use crate::layers::Explained;
use crate::profile::Profile;
use crate::verdict::Outcome;

pub use crate::verdict::{LayerStep, LayerVerdict, Peer, RepNamespace, RepPeer};
pub use netfence_model::Direction;

/// Who receives the traffic, for resolving named ports.
#[derive(Debug, Clone, Copy)]
pub(crate) enum PortOwner<'a> {
    Endpoint(&'a Endpoint),
    /// An external address: named ports never match.
    External,
    /// Unknown pod: keep the name symbolic.
    Unknown,
}

impl<'a> From<Peer<'a>> for PortOwner<'a> {
    fn from(p: Peer<'a>) -> Self {
        match p {
            Peer::Endpoint(e) => PortOwner::Endpoint(e),
            Peer::Ip(_) | Peer::Entity(_) | Peer::Fqdn { .. } => PortOwner::External,
            Peer::Rep(_) => PortOwner::Unknown,
        }
    }
}

/// Whether selector `rule` fully matches representative selector `rep` (same requirements, or
/// `rule` selects everything).
fn full_match(rule: &LabelSelector, rep: &LabelSelector) -> bool {
    rule.is_empty() || rule.same_requirements(rep)
}

/// Shared, precomputed state for evaluating many flows on one cluster.
pub struct Evaluator<'a> {
    /// The inventory.
    pub cluster: &'a Cluster,
    /// The CNI profile.
    pub profile: Profile,
    /// The data path: the CNI, its release and settings.
    pub data_path: DataPath,
    /// Cilium agent settings (used by the cilium profile).
    pub cilium: CiliumOptions,
    /// Per endpoint id: its Cilium identity and the Cilium rules selecting it.
    pub(crate) cilium_subjects: Vec<crate::cilium::SubjectCache<'a>>,
    pub(crate) calico_plan: Vec<crate::calico::TierPlan<'a>>,
    pub(crate) calico_labels: crate::calico::LabelCache,
    /// Per endpoint, tier and direction: the tier members that apply (Calico profile).
    pub(crate) calico_applicable: Vec<Vec<[Vec<u32>; 2]>>,
    /// The admin tier the profile enforces (AdminNetworkPolicies, Admin ClusterNetworkPolicies),
    /// by priority (none when it does not).
    anps: Vec<&'a AdminPolicy>,
    /// The baseline tier the profile enforces, in order: Baseline ClusterNetworkPolicies by
    /// priority, then the BaselineAdminNetworkPolicy.
    baselines: Vec<&'a AdminPolicy>,
    np_by_ns: HashMap<&'a str, Vec<&'a NetworkPolicy>>,
    /// Per endpoint and direction, the NetworkPolicies of its namespace that select it.
    np_selecting: Vec<[Vec<u32>; 2]>,
    /// The layers the profile enforces, in data-path order (empty: it enforces none).
    layers: Vec<Box<dyn crate::layers::Layer>>,
}

impl<'a> Evaluator<'a> {
    /// Prepares an evaluator.
    pub fn new(cluster: &'a Cluster, data_path: impl Into<DataPath>) -> Self {
        let data_path: DataPath = data_path.into();
        let profile = data_path.cni;
        // What the data path does not enforce is out of every verdict, decided here once.
        let admin = data_path.enforces_admin_policies();
        let cnp = data_path.enforces_cluster_network_policies();
        let mut anps: Vec<&AdminPolicy> = Vec::new();
        let mut baselines: Vec<&AdminPolicy> = Vec::new();
        if admin {
            anps.extend(cluster.policies.admin_policies());
        }
        if cnp {
            for p in cluster.policies.cluster_network_policies() {
                if p.kind.is_baseline() {
                    baselines.push(p);
                } else {
                    anps.push(p);
                }
            }
        }
        // By priority; at equal priority the API leaves the order to the implementation
        // (audit rule AP001 reports such ties): netfence takes v1alpha1 before v1alpha2, then
        // names in order.
        anps.sort_by_key(|a| (a.priority.unwrap_or(i32::MAX), a.kind, a.name.clone()));
        baselines.sort_by_key(|a| (a.priority.unwrap_or(i32::MAX), a.name.clone()));
        // The BaselineAdminNetworkPolicy has no priority: after the Baseline ClusterNetworkPolicies.
        if admin {
            baselines.extend(cluster.policies.baseline_policy());
        }
        let mut np_by_ns: HashMap<&str, Vec<&NetworkPolicy>> = HashMap::new();
        for np in cluster.policies.network_policies() {
            np_by_ns.entry(np.namespace.as_str()).or_default().push(np);
        }
        let mut ev = Self {
            cluster,
            profile,
            data_path,
            cilium: CiliumOptions {
                fqdn_multilabel: data_path.cilium_fqdn_multilabel(),
                ..CiliumOptions::default()
            },
            cilium_subjects: Vec::new(),
            calico_plan: Vec::new(),
            calico_labels: Default::default(),
            calico_applicable: Vec::new(),
            anps,
            baselines,
            np_by_ns,
            np_selecting: Vec::new(),
            layers: crate::layers::pipeline(&data_path),
        };
        // identities first: under Cilium, NetworkPolicies select by them
        if ev.uses_cilium() {
            ev.cilium_subjects = crate::cilium::subject_caches(&ev);
        }
        ev.np_selecting = ev.np_selecting_table();
        if ev.uses_calico() {
            ev.calico_plan = crate::calico::plan(cluster, &data_path);
            ev.calico_labels = crate::calico::LabelCache::new(cluster);
            ev.calico_applicable = ev.calico_applicable_table();
        }
        ev
    }

    /// The same evaluator with these Cilium agent settings.
    pub fn with_cilium(mut self, options: CiliumOptions) -> Self {
        self.cilium = options;
        self
    }

    /// Whether the profile evaluates through Calico's tiers.
    pub fn uses_calico(&self) -> bool {
        self.profile == Profile::Calico
    }

    /// Whether the profile evaluates through the Cilium rule repository.
    pub fn uses_cilium(&self) -> bool {
        self.profile == Profile::Cilium
    }

    /// Whether any admin policy (ANP or BANP) exists and the profile enforces it.
    pub fn has_admin_policies(&self) -> bool {
        !self.anps.is_empty() || !self.baselines.is_empty()
    }

    /// The endpoint facts the profile's layers read beyond namespace, labels, named ports,
    /// IPs and host networking, each layer declaring its own, and the mesh's: the class key of
    /// the map.
    pub fn facts(&self) -> crate::classes::Facts {
        use crate::classes::Facts;
        // Istio: principals are service accounts; a pod may opt out of its sidecar.
        let mesh = if self.has_mesh_policies() {
            Facts {
                service_account: true,
                inject: true,
                ..Facts::default()
            }
        } else {
            Facts::default()
        };
        self.layers
            .iter()
            .fold(mesh, |facts, layer| facts.union(layer.facts(self)))
    }

    /// The layers the profile enforces, in data-path order.
    pub(crate) fn layers(&self) -> &[Box<dyn crate::layers::Layer>] {
        &self.layers
    }

    /// The admin tier (`baseline: false`) or the baseline tier the profile enforces, in order.
    pub(crate) fn admin_tier(&self, baseline: bool) -> &[&'a AdminPolicy] {
        if baseline {
            &self.baselines
        } else {
            &self.anps
        }
    }

    /// The NetworkPolicies that select `ep` in `dir` (and so isolate it).
    pub fn selecting_policies(&self, ep: &Endpoint, dir: Direction) -> Vec<&'a NetworkPolicy> {
        let in_ns = self
            .np_by_ns
            .get(ep.namespace.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default();
        // an endpoint of the cluster: from the table made once
        if let Some(ids) = self
            .cluster
            .endpoint_id(ep)
            .and_then(|i| self.np_selecting.get(i))
            .and_then(|per_dir| per_dir.get(usize::from(dir == Direction::Egress)))
        {
            return ids
                .iter()
                .filter_map(|&i| in_ns.get(i as usize).copied())
                .collect();
        }
        let labels = self.np_labels(ep);
        in_ns
            .iter()
            .copied()
            .filter(|np| rules_of(np, dir).is_some() && np.pod_selector.matches(&labels))
            .collect()
    }

    /// The labels a NetworkPolicy's pod selectors see on `ep`: its own, and under Cilium its
    /// identity labels (Cilium translates a NetworkPolicy into endpoint selectors, so
    /// `io.cilium.k8s.policy.cluster`, `io.kubernetes.pod.namespace`,
    /// `io.cilium.k8s.policy.serviceaccount` and `io.cilium.k8s.namespace.labels.*` match).
    pub(crate) fn np_labels<'e>(
        &'e self,
        ep: &'e Endpoint,
    ) -> std::borrow::Cow<'e, netfence_model::Labels> {
        if self.uses_cilium() {
            self.identity_of(ep)
        } else {
            std::borrow::Cow::Borrowed(&ep.labels)
        }
    }

    /// For every endpoint and direction (ingress, egress), the indexes into its namespace's
    /// NetworkPolicies of those that select it: what each flow would otherwise recompute.
    fn np_selecting_table(&self) -> Vec<[Vec<u32>; 2]> {
        use rayon::prelude::*;
        self.cluster
            .endpoints
            .par_iter()
            .map(|ep| {
                let in_ns = self
                    .np_by_ns
                    .get(ep.namespace.as_str())
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                let labels = self.np_labels(ep);
                [Direction::Ingress, Direction::Egress].map(|dir| {
                    in_ns
                        .iter()
                        .enumerate()
                        .filter(|(_, np)| {
                            rules_of(np, dir).is_some() && np.pod_selector.matches(&labels)
                        })
                        .map(|(i, _)| i as u32)
                        .collect()
                })
            })
            .collect()
    }

    /// Whether an ANP or the BANP selects `ep` and has rules in `dir`.
    pub fn admin_subject_has_rules(&self, ep: &Endpoint, dir: Direction) -> bool {
        self.anps
            .iter()
            .chain(&self.baselines)
            .copied()
            .any(|p| !admin_rules(p, dir).is_empty() && self.subject_selects(&p.subject, ep))
    }

    /// The policies that isolate `ep` in `dir` under the profile (`ns/name`, with the kind for
    /// Calico and Cilium policies).
    pub fn isolating_policy_names(&self, ep: &'a Endpoint, dir: Direction) -> Vec<String> {
        if self.uses_calico() {
            return self.calico_isolating_names(ep, dir);
        }
        if self.uses_cilium() {
            return self.cilium_isolating_names(ep, dir);
        }
        self.selecting_policies(ep, dir)
            .iter()
            .map(|p| p.qualified_name())
            .collect()
    }

    /// Whether some policy isolates `ep` in `dir`: a NetworkPolicy, or under the cilium
    /// profile a Cilium rule that puts it in default deny.
    pub fn is_isolated(&self, ep: &'a Endpoint, dir: Direction) -> bool {
        !self.selecting_policies(ep, dir).is_empty()
            || (self.uses_cilium() && {
                let d = self.cilium_direction(ep, Peer::Entity(Entity::None), dir);
                d.enforced && d.default_deny
            })
            || (self.uses_calico() && self.calico_isolates(ep, dir))
    }

    /// Where two admin-tier policies of equal priority (`a` before `b` in netfence's order)
    /// could both match one connection with different actions: the first such subject,
    /// direction, rules and peer. Which applies is then up to the implementation.
    pub fn admin_overlap(&self, a: &AdminPolicy, b: &AdminPolicy) -> Option<AdminOverlap> {
        let peers: Vec<Peer<'_>> = self.cluster.endpoints.iter().map(Peer::Endpoint).collect();
        for (id, ep) in self.cluster.endpoints.iter().enumerate() {
            if ep.host_network
                || !self.subject_selects(&a.subject, ep)
                || !self.subject_selects(&b.subject, ep)
            {
                continue;
            }
            for dir in Direction::BOTH {
                for ra in admin_rules(a, dir) {
                    for rb in admin_rules(b, dir) {
                        if ra.action == rb.action {
                            continue;
                        }
                        // networks of both rules meet: an address both match
                        let nets = |r: &AdminRule| {
                            r.peers.iter().fold(IpSet::empty(), |acc, p| match p {
                                AdminPeer::Networks(s) => acc.union(s),
                                _ => acc,
                            })
                        };
                        let shared_net = !nets(ra).intersect(&nets(rb)).is_empty();
                        let peer = peers.iter().copied().find(|&p| {
                            let both = |r: &AdminRule| {
                                r.peers.iter().any(|x| self.admin_peer_matches(x, p))
                            };
                            let owner = port_owner(ep, p, dir);
                            both(ra)
                                && both(rb)
                                && !self
                                    .admin_rule_conn(ra, owner)
                                    .intersect(&self.admin_rule_conn(rb, owner))
                                    .is_empty()
                        });
                        let peer_name = match peer {
                            Some(Peer::Endpoint(e)) => Some(e.display_name()),
                            _ if shared_net
                                && !self
                                    .admin_rule_conn(ra, PortOwner::External)
                                    .intersect(&self.admin_rule_conn(rb, PortOwner::External))
                                    .is_empty() =>
                            {
                                Some("an address both rules' networks hold".to_string())
                            }
                            _ => None,
                        };
                        if let Some(peer) = peer_name {
                            return Some(AdminOverlap {
                                subject: id,
                                direction: dir,
                                rule_a: ra.name.clone(),
                                rule_b: rb.name.clone(),
                                peer,
                            });
                        }
                    }
                }
            }
        }
        None
    }

    /// Whether `ep` is in default deny for `dir` against `peer`: some layer isolates it
    /// (NetworkPolicy, a Cilium rule, a Calico tier), or an admin-tier or baseline rule that
    /// selects it denies `peer` on every port.
    pub fn default_denies(&self, ep: &'a Endpoint, peer: Peer<'_>, dir: Direction) -> bool {
        if !self.profile.enforces_network_policy() {
            return false;
        }
        self.is_isolated(ep, dir)
            || self.anps.iter().chain(&self.baselines).any(|p| {
                self.subject_selects(&p.subject, ep)
                    && admin_rules(p, dir).iter().any(|r| {
                        r.action == AdminAction::Deny
                            && r.ports.is_none()
                            && r.peers.iter().any(|x| self.admin_peer_matches(x, peer))
                    })
            })
    }

    pub(crate) fn ns_labels(&self, ep: &Endpoint) -> &netfence_model::Labels {
        self.cluster.namespace_labels(&ep.namespace)
    }

    /// Whether one `from`/`to` element of policy `np` matches `peer`.
    pub fn np_peer_matches(&self, np: &NetworkPolicy, elem: &NpPeer, peer: Peer<'_>) -> bool {
        match (elem, peer) {
            (NpPeer::Pods { namespaces, pods }, Peer::Endpoint(ep)) => {
                let ns_ok = match namespaces {
                    None => ep.namespace == np.namespace,
                    Some(sel) => sel.matches(self.ns_labels(ep)),
                };
                ns_ok && pods.as_ref().is_none_or(|s| s.matches(&self.np_labels(ep)))
            }
            (NpPeer::Pods { namespaces, pods }, Peer::Rep(rep)) => {
                let ns_ok = match namespaces {
                    None => rep.namespace == RepNamespace::Named(np.namespace.clone()),
                    Some(sel) => full_match(sel, &rep.namespace_selector()),
                };
                ns_ok && pods.as_ref().is_none_or(|s| full_match(s, &rep.pods))
            }
            (NpPeer::Pods { .. }, _) => false,
            (NpPeer::IpBlock { set, .. }, Peer::Ip(r)) => set.contains_range(r),
            (NpPeer::IpBlock { set, .. }, Peer::Endpoint(ep)) => {
                self.profile.ipblock_matches_pod_ips() && ep.ips.iter().any(|ip| set.contains(*ip))
            }
            (NpPeer::IpBlock { set, .. }, Peer::Fqdn { ip: Some(ip), .. }) => set.contains(ip),
            // An external address not known: only a block covering every address matches.
            (NpPeer::IpBlock { set, .. }, Peer::Fqdn { ip: None, .. })
            | (NpPeer::IpBlock { set, .. }, Peer::Entity(Entity::World)) => {
                IpSet::all_v4().is_subset(set)
            }
            (NpPeer::IpBlock { .. }, Peer::Rep(_) | Peer::Entity(_)) => false,
        }
    }

    pub(crate) fn np_rule_matches_peer(
        &self,
        np: &NetworkPolicy,
        rule: &NpRule,
        peer: Peer<'_>,
    ) -> bool {
        match &rule.peers {
            None => true,
            Some(elems) => elems.iter().any(|e| self.np_peer_matches(np, e, peer)),
        }
    }

    /// The union of what `ep`'s NetworkPolicies allow with `peer` in `dir`, and whether any
    /// NetworkPolicy selects `ep` in that direction.
    pub fn np_allowed(&self, ep: &'a Endpoint, peer: Peer<'_>, dir: Direction) -> (bool, ConnSet) {
        self.np_allowed_without(ep, peer, dir, None)
    }

    /// [`Self::np_allowed`] as if policy `skip` (compared by address) did not exist: what
    /// removing it would change.
    pub fn np_allowed_without(
        &self,
        ep: &'a Endpoint,
        peer: Peer<'_>,
        dir: Direction,
        skip: Option<&NetworkPolicy>,
    ) -> (bool, ConnSet) {
        let owner = port_owner(ep, peer, dir);
        let mut isolated = false;
        let mut allowed = ConnSet::none();
        for np in self.selecting_policies(ep, dir) {
            if skip.is_some_and(|s| std::ptr::eq(s, np)) {
                continue;
            }
            isolated = true;
            for rule in rules_of(np, dir).into_iter().flatten() {
                if self.np_rule_matches_peer(np, rule, peer) {
                    allowed.add(&np_rule_ports(&rule.ports, owner));
                    if allowed.is_all() {
                        return (true, allowed);
                    }
                }
            }
        }
        (isolated, allowed)
    }

    pub(crate) fn subject_selects(&self, subject: &AdminSubject, ep: &Endpoint) -> bool {
        match subject {
            AdminSubject::Namespaces(ns) => ns.matches(self.ns_labels(ep)),
            AdminSubject::Pods { namespaces, pods } => {
                namespaces.matches(self.ns_labels(ep)) && pods.matches(&ep.labels)
            }
        }
    }

    pub(crate) fn admin_peer_matches(&self, elem: &AdminPeer, peer: Peer<'_>) -> bool {
        match (elem, peer) {
            (AdminPeer::Namespaces(ns), Peer::Endpoint(ep)) => ns.matches(self.ns_labels(ep)),
            (AdminPeer::Pods { namespaces, pods }, Peer::Endpoint(ep)) => {
                namespaces.matches(self.ns_labels(ep)) && pods.matches(&ep.labels)
            }
            (AdminPeer::Namespaces(ns), Peer::Rep(rep)) => {
                full_match(ns, &rep.namespace_selector())
            }
            (AdminPeer::Pods { namespaces, pods }, Peer::Rep(rep)) => {
                full_match(namespaces, &rep.namespace_selector()) && full_match(pods, &rep.pods)
            }
            (AdminPeer::DomainNames(names), Peer::Fqdn { name, .. }) => {
                names.iter().any(|p| p.matches(name, true))
            }
            (AdminPeer::Nodes(sel), Peer::Endpoint(ep)) if ep.host_network => {
                self.node_matches(sel, ep.host_ip.iter().chain(&ep.ips).copied())
            }
            (AdminPeer::Nodes(sel), Peer::Ip(r)) if r.first() == r.last() => {
                self.node_matches(sel, std::iter::once(r.first()))
            }
            (AdminPeer::Networks(set), Peer::Ip(r)) => set.contains_range(r),
            (AdminPeer::Networks(set), Peer::Fqdn { ip: Some(ip), .. }) => set.contains(ip),
            // a name whose address is not known: only networks covering every address match
            (AdminPeer::Networks(set), Peer::Fqdn { ip: None, .. }) => {
                IpSet::all_v4().is_subset(set)
            }
            // `networks` covers cluster addresses too: a pod whose IP is known matches.
            (AdminPeer::Networks(set), Peer::Endpoint(ep)) => {
                ep.ips.iter().any(|ip| set.contains(*ip))
            }
            _ => false,
        }
    }

    /// Whether a Node matching `sel` has one of `addresses`.
    fn node_matches(&self, sel: &LabelSelector, addresses: impl Iterator<Item = IpAddr>) -> bool {
        let addresses: Vec<IpAddr> = addresses.collect();
        self.cluster
            .nodes
            .iter()
            .any(|n| sel.matches(&n.labels) && n.addresses.iter().any(|a| addresses.contains(a)))
    }

    pub(crate) fn admin_rule_conn(&self, rule: &AdminRule, owner: PortOwner<'_>) -> ConnSet {
        let Some(ports) = &rule.ports else {
            return ConnSet::all();
        };
        let mut c = ConnSet::none();
        for p in ports {
            match p {
                AdminPort::Number { protocol, port } => {
                    c.add(&ConnSet::single(*protocol, PortSet::range(*port, *port)))
                }
                AdminPort::Range {
                    protocol,
                    start,
                    end,
                } => c.add(&ConnSet::single(*protocol, PortSet::range(*start, *end))),
                AdminPort::Named(name) => match owner {
                    PortOwner::Endpoint(ep) => {
                        if let Some(np) = ep.named_ports.iter().find(|np| &np.name == name) {
                            c.add(&ConnSet::single(
                                np.protocol,
                                PortSet::range(np.port, np.port),
                            ));
                        }
                    }
                    PortOwner::External => {}
                    PortOwner::Unknown => c.add(&ConnSet::named_any_protocol(name)),
                },
            }
        }
        c
    }

    /// What `ep` allows with `peer` in `dir`, through every layer.
    pub fn direction_allowed(&self, ep: &'a Endpoint, peer: Peer<'_>, dir: Direction) -> ConnSet {
        self.direction_detail(ep, peer, dir).allowed
    }

    /// The layered evaluation with the sets each layer decided.
    pub fn direction_detail(
        &self,
        ep: &'a Endpoint,
        peer: Peer<'_>,
        dir: Direction,
    ) -> DirectionDetail {
        if self.layers.is_empty() {
            return DirectionDetail {
                allowed: ConnSet::all(),
                np_isolated: false,
            };
        }
        let mut allowed = ConnSet::none();
        let mut open = ConnSet::all();
        for layer in &self.layers {
            let d = layer.decide(self, ep, peer, dir, open);
            allowed.add(&d.allowed);
            open = d.passed;
            if open.is_empty() {
                break;
            }
        }
        // what every layer passed on: the default allow
        allowed.add(&open);
        DirectionDetail {
            allowed,
            np_isolated: self.is_isolated(ep, dir),
        }
    }

    /// One admin-style tier (policies by priority, rules in order, first match) over the
    /// connections still `undecided`: what it allows, what it passes, what it leaves.
    pub(crate) fn first_match_tier(
        &self,
        policies: &[&AdminPolicy],
        ep: &Endpoint,
        peer: Peer<'_>,
        dir: Direction,
        owner: PortOwner<'_>,
        mut undecided: ConnSet,
    ) -> TierResult {
        let mut allowed = ConnSet::none();
        let mut passed = ConnSet::none();
        for p in policies {
            if undecided.is_empty() {
                break;
            }
            if !self.subject_selects(&p.subject, ep) {
                continue;
            }
            for rule in admin_rules(p, dir) {
                if !rule.peers.iter().any(|x| self.admin_peer_matches(x, peer)) {
                    continue;
                }
                let c = self.admin_rule_conn(rule, owner).intersect(&undecided);
                if c.is_empty() {
                    continue;
                }
                match rule.action {
                    AdminAction::Allow => allowed.add(&c),
                    AdminAction::Deny => {}
                    AdminAction::Pass => passed.add(&c),
                }
                undecided = undecided.subtract(&c);
            }
        }
        TierResult {
            allowed,
            passed,
            undecided,
        }
    }

    /// Connections from `src` to `dst`: egress at the source AND ingress at the destination.
    /// External ends have no policy of their own.
    pub fn pair_allowed(&self, src: Peer<'a>, dst: Peer<'a>) -> ConnSet {
        let egress = match src {
            Peer::Endpoint(s) => self.direction_allowed(s, dst, Direction::Egress),
            _ => ConnSet::all(),
        };
        if egress.is_empty() {
            return egress;
        }
        let ingress = match dst {
            Peer::Endpoint(d) => self.direction_allowed(d, src, Direction::Ingress),
            _ => ConnSet::all(),
        };
        let both = egress.intersect(&ingress);
        match dst {
            Peer::Endpoint(d) if !both.is_empty() => crate::mesh::MeshAtDestination::new(self, d)
                .map_or(both.clone(), |mut mesh| mesh.filter(src, &both)),
            _ => both,
        }
    }

    /// One flow end to end, every side explained: egress at the source and ingress at the
    /// destination (each that is an endpoint; external ends have no policy of their own), then
    /// the mesh at the destination's proxy when the CNI lets the connection through. What
    /// `query` shows; [`Self::flow`] is the same evaluation, stopping at the first denial.
    pub fn explain_flow(
        &self,
        src: Peer<'a>,
        dst: Peer<'a>,
        protocol: Protocol,
        port: u16,
        request: Option<&L7Request>,
    ) -> FlowExplanation {
        let mut sides = Vec::new();
        for (subject, far, dir) in [
            (src, dst, Direction::Egress),
            (dst, src, Direction::Ingress),
        ] {
            let Peer::Endpoint(ep) = subject else {
                continue;
            };
            let (outcome, steps) = self.explain_request(ep, far, dir, protocol, port, request);
            sides.push(SideVerdict {
                direction: dir,
                outcome,
                steps,
            });
        }
        let cni_denies = sides.iter().any(|s| s.outcome == Outcome::Deny);
        let mesh = match dst {
            Peer::Endpoint(d) if !cni_denies => {
                Some(self.mesh_explain_flow(d, src, protocol, port, request))
            }
            _ => None,
        };
        let outcomes = sides
            .iter()
            .map(|s| s.outcome)
            .chain(mesh.as_ref().map(|(o, _)| *o));
        let mut outcome = Outcome::Allow;
        for o in outcomes {
            match o {
                Outcome::Deny => outcome = Outcome::Deny,
                Outcome::L7Deny if outcome == Outcome::Allow => outcome = Outcome::L7Deny,
                _ => {}
            }
        }
        FlowExplanation {
            outcome,
            sides,
            mesh,
        }
    }

    /// One flow end to end: egress at the source, then ingress at the destination, then the
    /// mesh, each with its layers' say, stopping at the first side that denies.
    pub fn flow(
        &self,
        src: Peer<'a>,
        dst: Peer<'a>,
        protocol: Protocol,
        port: u16,
        request: Option<&L7Request>,
    ) -> FlowVerdict {
        let e = self.explain_flow(src, dst, protocol, port, request);
        let mut steps = Vec::new();
        for side in e.sides {
            let denied = side.outcome == Outcome::Deny;
            steps.extend(side.steps.into_iter().map(|s| (side.direction, s)));
            if denied {
                return FlowVerdict {
                    outcome: Outcome::Deny,
                    steps,
                };
            }
        }
        if let Some((_, mesh)) = e.mesh {
            steps.extend(mesh.into_iter().map(|s| (Direction::Ingress, s)));
        }
        FlowVerdict {
            outcome: e.outcome,
            steps,
        }
    }

    /// Whether `port` of `ep` is declared as a non-HTTP protocol (Istio protocol selection by
    /// port name: `tcp`, `tls`, `mongo`, `mysql`, `redis`, ... on the container or Service port).
    pub fn plain_tcp_port(&self, ep: &Endpoint, port: u16) -> bool {
        const TCP: [&str; 7] = ["tcp", "tls", "mongo", "mysql", "redis", "https", "postgres"];
        let named = ep
            .named_ports
            .iter()
            .filter(|n| n.port == port)
            .map(|n| n.name.as_str());
        let svc = self
            .cluster
            .services
            .iter()
            .filter(|s| s.selects(ep))
            .flat_map(|s| &s.ports)
            .filter(|p| match &p.target {
                PortRef::Number(n) => *n == port,
                PortRef::Name(n) => ep
                    .named_ports
                    .iter()
                    .any(|x| &x.name == n && x.port == port),
            })
            .filter_map(|p| p.name.as_deref());
        named.chain(svc).any(|n| {
            TCP.iter()
                .any(|t| n == *t || n.starts_with(&format!("{t}-")))
        })
    }

    /// Every layer's say about one (protocol, port) from `peer` in `dir` at `ep`, in the order
    /// the data path applies them, ending with the decisive one.
    pub fn explain(
        &self,
        ep: &'a Endpoint,
        peer: Peer<'_>,
        dir: Direction,
        protocol: Protocol,
        port: u16,
    ) -> (bool, Vec<LayerStep>) {
        let (outcome, steps) = self.explain_request(ep, peer, dir, protocol, port, None);
        (outcome == Outcome::Allow, steps)
    }

    /// [`Self::explain`] for a flow that may carry an application-layer request: L7 rules
    /// can refuse the request on an allowed connection.
    pub fn explain_request(
        &self,
        ep: &'a Endpoint,
        peer: Peer<'_>,
        dir: Direction,
        protocol: Protocol,
        port: u16,
        request: Option<&L7Request>,
    ) -> (Outcome, Vec<LayerStep>) {
        if self.layers.is_empty() {
            let step = LayerStep::note("default", LayerVerdict::Allow, format!(
                    "--cni {} enforces no NetworkPolicy: every policy is left unenforced (see `netfence cni`)",
                    self.profile
                ));
            return (Outcome::Allow, vec![step]);
        }
        let mut steps = Vec::new();
        let mut default_note = None;
        for layer in &self.layers {
            match layer.explain(self, ep, peer, dir, protocol, port, request) {
                Explained::Decided(outcome, said) => {
                    steps.extend(said);
                    return (outcome, steps);
                }
                Explained::Passed(said, note) => {
                    steps.extend(said);
                    default_note = note.or(default_note);
                }
            }
        }
        steps.push(LayerStep::note(
            "default",
            LayerVerdict::Allow,
            default_note.unwrap_or_else(|| {
                format!("no policy selects this pod for {dir}: allowed by default")
            }),
        ));
        (Outcome::Allow, steps)
    }

    /// The admin tier's (`baseline: false`) or the baseline tier's say about one probe: the
    /// first rule matching it, by priority; Pass goes on.
    pub(crate) fn explain_admin_tier(
        &self,
        baseline: bool,
        ep: &'a Endpoint,
        peer: Peer<'_>,
        dir: Direction,
        protocol: Protocol,
        port: u16,
    ) -> Explained {
        let owner = port_owner(ep, peer, dir);
        let probe = ConnSet::single(protocol, PortSet::range(port, port));
        for p in self.admin_tier(baseline) {
            if !self.subject_selects(&p.subject, ep) {
                continue;
            }
            for rule in admin_rules(p, dir) {
                if !rule.peers.iter().any(|x| self.admin_peer_matches(x, peer))
                    || self
                        .admin_rule_conn(rule, owner)
                        .intersect(&probe)
                        .is_empty()
                {
                    continue;
                }
                let verdict = match rule.action {
                    AdminAction::Allow => LayerVerdict::Allow,
                    AdminAction::Deny => LayerVerdict::Deny,
                    AdminAction::Pass => LayerVerdict::Pass,
                };
                let detail = if baseline {
                    let priority = p
                        .priority
                        .map(|p| format!("priority {p} "))
                        .unwrap_or_default();
                    format!("{priority}rule `{}` ({:?}) matches", rule.name, rule.action)
                } else {
                    format!(
                        "priority {} rule `{}` ({}) matches{}",
                        p.priority.unwrap_or_default(),
                        rule.name,
                        p.kind.action_word(rule.action),
                        if matches!(peer, Peer::Fqdn { .. })
                            && rule
                                .peers
                                .iter()
                                .any(|x| matches!(x, AdminPeer::DomainNames(_)))
                        {
                            " by domain name (the implementation must see the DNS answers to learn its addresses)"
                        } else {
                            ""
                        }
                    )
                };
                let step = LayerStep {
                    layer: p.kind.label(),
                    verdict,
                    policy: Some(p.name.clone()),
                    rule: Some(rule.name.clone()),
                    origin: Some(p.origin.clone()),
                    detail,
                };
                return match verdict {
                    LayerVerdict::Pass => Explained::Passed(
                        vec![step],
                        baseline.then(|| {
                            format!("passed by the baseline tier for {dir}: allowed by default")
                        }),
                    ),
                    LayerVerdict::Allow => Explained::Decided(Outcome::Allow, vec![step]),
                    _ => Explained::Decided(Outcome::Deny, vec![step]),
                };
            }
        }
        Explained::Passed(Vec::new(), None)
    }

    /// The NetworkPolicies' say about one probe: a rule allowing it, or the isolation that
    /// denies it; passed on when no policy selects the pod.
    pub(crate) fn explain_network_policies(
        &self,
        ep: &'a Endpoint,
        peer: Peer<'_>,
        dir: Direction,
        protocol: Protocol,
        port: u16,
    ) -> Explained {
        let owner = port_owner(ep, peer, dir);
        let probe = ConnSet::single(protocol, PortSet::range(port, port));
        let selecting = self.selecting_policies(ep, dir);
        if selecting.is_empty() {
            return Explained::Passed(Vec::new(), None);
        }
        for np in &selecting {
            for (i, rule) in rules_of(np, dir).into_iter().flatten().enumerate() {
                if self.np_rule_matches_peer(np, rule, peer)
                    && !np_rule_ports(&rule.ports, owner)
                        .intersect(&probe)
                        .is_empty()
                {
                    let mut origin = np.origin.clone();
                    if rule.line.is_some() {
                        origin.line = rule.line;
                    }
                    let step = LayerStep {
                        layer: "NetworkPolicy",
                        verdict: LayerVerdict::Allow,
                        policy: Some(np.qualified_name()),
                        rule: Some(format!("{}[{}]", dir_key(dir), i)),
                        origin: Some(origin),
                        detail: format!("{} rule {} allows it", dir, i),
                    };
                    return Explained::Decided(Outcome::Allow, vec![step]);
                }
            }
        }
        let names: Vec<String> = selecting.iter().map(|n| n.qualified_name()).collect();
        let step = LayerStep {
            layer: "NetworkPolicy",
            verdict: LayerVerdict::Deny,
            policy: selecting.first().map(|n| n.qualified_name()),
            rule: None,
            origin: selecting.first().map(|n| n.origin.clone()),
            detail: format!(
                "isolated for {} by {}; no rule allows this peer and port",
                dir,
                names.join(", ")
            ),
        };
        Explained::Decided(Outcome::Deny, vec![step])
    }
}

/// What a first-match tier decides.
pub(crate) struct TierResult {
    /// Allowed by an Allow rule.
    pub(crate) allowed: ConnSet,
    /// Passed by a Pass rule.
    pub(crate) passed: ConnSet,
    /// Matched by no rule.
    pub(crate) undecided: ConnSet,
}

/// Where two admin-tier policies of equal priority overlap with different actions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminOverlap {
    /// An endpoint both select.
    pub subject: netfence_model::EndpointId,
    /// The direction of the rules.
    pub direction: Direction,
    /// The rule of the first policy.
    pub rule_a: String,
    /// The rule of the second policy.
    pub rule_b: String,
    /// A peer both rules match (an endpoint's name, or an address).
    pub peer: String,
}

/// One side of a flow: the direction its endpoint's policies decide, and their say.
#[derive(Debug, Clone)]
pub struct SideVerdict {
    /// Egress at the source or ingress at the destination.
    pub direction: Direction,
    /// What this side decides.
    pub outcome: Outcome,
    /// Each layer's say, ending with the decisive one.
    pub steps: Vec<LayerStep>,
}

/// A flow with every side explained (see [`Evaluator::explain_flow`]).
#[derive(Debug, Clone)]
pub struct FlowExplanation {
    /// The final outcome.
    pub outcome: Outcome,
    /// The sides that are endpoints, egress first.
    pub sides: Vec<SideVerdict>,
    /// The mesh's say at the destination's proxy, when the CNI lets the connection through.
    pub mesh: Option<(Outcome, Vec<LayerStep>)>,
}

/// One flow's verdict with every step of both directions.
#[derive(Debug, Clone)]
pub struct FlowVerdict {
    /// The final outcome.
    pub outcome: Outcome,
    /// Each direction's steps, egress first.
    pub steps: Vec<(Direction, LayerStep)>,
}

impl FlowVerdict {
    /// The step that decided a denial (the last deny or L7 deny).
    pub fn decisive(&self) -> Option<&(Direction, LayerStep)> {
        self.steps
            .iter()
            .rev()
            .find(|(_, s)| matches!(s.verdict, LayerVerdict::Deny | LayerVerdict::L7Deny))
            .or(self.steps.last())
    }
}

/// The result of one direction's layered evaluation.
#[derive(Debug, Clone)]
pub struct DirectionDetail {
    /// What is allowed.
    pub allowed: ConnSet,
    /// Whether a NetworkPolicy selects the endpoint in this direction.
    pub np_isolated: bool,
}

fn dir_key(dir: Direction) -> &'static str {
    match dir {
        Direction::Ingress => "ingress",
        Direction::Egress => "egress",
    }
}

/// The rules of `np` in `dir`, `None` when the direction is not an effective policy type.
pub fn rules_of(np: &NetworkPolicy, dir: Direction) -> Option<&Vec<NpRule>> {
    match dir {
        Direction::Ingress => np.ingress.as_ref(),
        Direction::Egress => np.egress.as_ref(),
    }
}

pub(crate) fn admin_rules(p: &AdminPolicy, dir: Direction) -> &[AdminRule] {
    match dir {
        Direction::Ingress => &p.ingress,
        Direction::Egress => &p.egress,
    }
}

/// Named ports resolve on the pod that receives the traffic: `ep` itself for ingress, the
/// peer for egress.
pub(crate) fn port_owner<'b>(ep: &'b Endpoint, peer: Peer<'b>, dir: Direction) -> PortOwner<'b> {
    match dir {
        Direction::Ingress => PortOwner::Endpoint(ep),
        Direction::Egress => PortOwner::from(peer),
    }
}

/// The connections a rule's `ports` allow towards `owner`.
fn np_rule_ports(ports: &Option<Vec<NpPort>>, owner: PortOwner<'_>) -> ConnSet {
    let Some(ports) = ports else {
        return ConnSet::all();
    };
    let mut c = ConnSet::none();
    for p in ports {
        let set = match &p.port {
            None => PortSet::all(),
            Some(PortRef::Number(n)) => PortSet::range(*n, p.end_port.unwrap_or(*n)),
            Some(PortRef::Name(name)) => match owner {
                PortOwner::Endpoint(ep) => match ep.resolve_named_port(name, p.protocol) {
                    Some(n) => PortSet::range(n, n),
                    None => PortSet::empty(),
                },
                PortOwner::External => PortSet::empty(),
                PortOwner::Unknown => PortSet::named(name),
            },
        };
        c.add(&ConnSet::single(p.protocol, set));
    }
    c
}

/// The connections rule `ports` allow towards `owner`.
pub(crate) fn np_rule_ports_owner(ports: &Option<Vec<NpPort>>, owner: PortOwner<'_>) -> ConnSet {
    np_rule_ports(ports, owner)
}
