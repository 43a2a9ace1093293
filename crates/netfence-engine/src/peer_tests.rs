//! What each layer asks of the far end of a flow.
//!
//! Every enforcing layer decides a direction of a flow from two things: which of its rules
//! apply to the endpoint (fixed per endpoint) and which of those rules' peer parts match the far
//! end. [`Evaluator::peer_tests`] lists the peer parts of every rule the profile's layers would
//! consult for one endpoint and direction; [`Evaluator::test_matches`] runs one. The verdict of a
//! direction depends on the far end only through which of these tests it passes (and, for
//! egress, the named ports of the receiving pod), which is what lets the connectivity map decide
//! a whole class of peers with one evaluation (see `class_map`). A layer that reads another fact
//! of the peer must add a test for it here, or the map and the one-flow answer diverge; the
//! property tests in `tests/dialects.rs` and `tests/differential.rs` check they do not.

use netfence_model::calico::{CalicoPolicy, EntityRule};
use netfence_model::cilium::{POD_NAMESPACE_LABEL, RESERVED_PREFIX};
use netfence_model::{
    AdminPeer, AdminRule, CiliumPeer, CiliumPeerRule, Endpoint, LabelSelector, NetworkPolicy,
    NpPeer, NpRule,
};

use crate::eval::{admin_rules, rules_of, Direction, Evaluator, Peer};

/// The peer part of one rule.
#[derive(Debug, Clone)]
pub(crate) enum PeerTest<'a> {
    /// A NetworkPolicy rule's `from`/`to` (absent: every peer).
    Np(&'a NetworkPolicy, &'a NpRule),
    /// An admin-tier rule's peers.
    Admin(&'a AdminRule),
    /// A Cilium peer rule, with the `fromRequires`/`toRequires` of the subject's rules, for
    /// the subject (whose DNS rules decide what `toFQDNs` learns).
    Cilium {
        rule: &'a CiliumPeerRule,
        requires: Vec<&'a LabelSelector>,
        subject: &'a Endpoint,
    },
    /// A Calico rule's entity on the peer's side (`source` for ingress, `destination` for
    /// egress).
    Calico(&'a CalicoPolicy, &'a EntityRule),
}

/// Identity of a test by content: equal keys, equal answers for every endpoint peer (so rules
/// that write the same peers share one member set).
pub(crate) type TestKey = (u8, String);

impl PeerTest<'_> {
    /// The test's content key (a Cilium test's subject only matters for addresses, through the
    /// DNS cache; a Calico entity's policy only through its namespace).
    pub(crate) fn key(&self) -> TestKey {
        match self {
            PeerTest::Np(np, r) => (0, format!("{}{:?}", np.namespace, r.peers)),
            PeerTest::Admin(r) => (1, format!("{:?}", r.peers)),
            PeerTest::Cilium { rule, requires, .. } => (
                2,
                format!("{:?}{:?}{:?}", rule.peers, rule.ports.is_some(), requires),
            ),
            PeerTest::Calico(p, e) => (3, format!("{:?}{:?}", p.namespace, e)),
        }
    }

    /// Whether the answer for an external address may depend on the subject (a Cilium
    /// `toFQDNs` with a DNS cache: what the subject's DNS rules let it learn).
    pub(crate) fn subject_bound(&self, ev: &Evaluator<'_>) -> bool {
        match self {
            PeerTest::Cilium { rule, .. } => {
                !ev.cilium.dns_cache.is_empty()
                    && rule
                        .peers
                        .iter()
                        .flatten()
                        .any(|p| matches!(p, CiliumPeer::Fqdn(_)))
            }
            _ => false,
        }
    }
}

impl<'a> Evaluator<'a> {
    /// The peer parts of every rule the profile's layers consult for `ep` in `dir`.
    pub(crate) fn peer_tests(&self, ep: &'a Endpoint, dir: Direction) -> Vec<PeerTest<'a>> {
        let mut out = Vec::new();
        for layer in self.layers() {
            layer.peer_tests(self, ep, dir, &mut out);
        }
        out
    }

    /// The rules of the admin tier (`baseline: false`) or the baseline tier whose subject
    /// selects `ep`.
    pub(crate) fn admin_peer_tests(
        &self,
        baseline: bool,
        ep: &Endpoint,
        dir: Direction,
        out: &mut Vec<PeerTest<'a>>,
    ) {
        for p in self.admin_tier(baseline) {
            if self.subject_selects(&p.subject, ep) {
                out.extend(admin_rules(p, dir).iter().map(PeerTest::Admin));
            }
        }
    }

    /// The rules of the NetworkPolicies selecting `ep` in `dir`.
    pub(crate) fn np_peer_tests(&self, ep: &Endpoint, dir: Direction, out: &mut Vec<PeerTest<'a>>) {
        for np in self.selecting_policies(ep, dir) {
            for rule in rules_of(np, dir).into_iter().flatten() {
                out.push(PeerTest::Np(np, rule));
            }
        }
    }

    /// Whether `peer` passes `test`.
    pub(crate) fn test_matches(&self, test: &PeerTest<'_>, peer: Peer<'_>, dir: Direction) -> bool {
        match test {
            PeerTest::Np(np, rule) => self.np_rule_matches_peer(np, rule, peer),
            PeerTest::Admin(rule) => rule.peers.iter().any(|p| self.admin_peer_matches(p, peer)),
            PeerTest::Cilium {
                rule,
                requires,
                subject,
            } => self.cilium_test_matches(subject, rule, requires, peer, dir),
            PeerTest::Calico(p, e) => self.calico_test_matches(p, e, peer),
        }
    }

    /// The namespaces whose pods can pass `test`, when the test names them (`None`: any
    /// namespace). Pods of namespaces without a Namespace object, and host-network pods (which
    /// some layers see as addresses), are the caller's to add.
    pub(crate) fn test_namespaces(&self, test: &PeerTest<'a>) -> Option<Vec<&'a str>> {
        let matching = |sel: &LabelSelector| -> Vec<&'a str> {
            self.cluster
                .namespaces
                .values()
                .filter(|ns| sel.matches(&ns.labels))
                .map(|ns| ns.name.as_str())
                .collect()
        };
        let mut out: Vec<&'a str> = Vec::new();
        match test {
            PeerTest::Np(np, rule) => {
                for elem in rule.peers.as_ref()? {
                    match elem {
                        NpPeer::Pods {
                            namespaces: None, ..
                        } => out.push(np.namespace.as_str()),
                        NpPeer::Pods {
                            namespaces: Some(sel),
                            ..
                        } => out.extend(matching(sel)),
                        NpPeer::IpBlock { .. } if self.profile.ipblock_matches_pod_ips() => {
                            return None
                        }
                        NpPeer::IpBlock { .. } => {}
                    }
                }
            }
            PeerTest::Admin(rule) => {
                for elem in &rule.peers {
                    match elem {
                        AdminPeer::Namespaces(sel)
                        | AdminPeer::Pods {
                            namespaces: sel, ..
                        } => out.extend(matching(sel)),
                        _ => return None,
                    }
                }
            }
            PeerTest::Cilium { rule, .. } => {
                for elem in rule.peers.as_ref()? {
                    match elem {
                        CiliumPeer::Endpoints(sel)
                            if !sel.keys().any(|k| k.starts_with(RESERVED_PREFIX)) =>
                        {
                            out.push(sel.match_labels.get(POD_NAMESPACE_LABEL)?.as_str());
                        }
                        // Only addresses or names, never a pod.
                        CiliumPeer::Cidr(_) | CiliumPeer::Fqdn(_) | CiliumPeer::CidrGroup(_) => {}
                        _ => return None,
                    }
                }
            }
            PeerTest::Calico(p, e) => {
                let scoped = e.selector.is_some()
                    || e.not_selector.is_some()
                    || e.service_accounts.is_some()
                    || e.namespace_selector.is_some();
                if !scoped {
                    return None;
                }
                match (&e.namespace_selector, &p.namespace) {
                    (Some(sel), _) if sel.is_global() => {}
                    (Some(sel), _) => out.extend(
                        self.cluster
                            .namespaces
                            .values()
                            .filter(|ns| sel.matches(&self.calico_namespace_labels(&ns.name)))
                            .map(|ns| ns.name.as_str()),
                    ),
                    (None, Some(ns)) => out.push(ns.as_str()),
                    (None, None) => return None,
                }
            }
        }
        Some(out)
    }
}
