//! The layers a CNI profile enforces, in the order its data path applies them.
//!
//! [`pipeline`] builds the list once from the profile; what is not in it is out of every
//! verdict. Each layer declares the endpoint facts it reads (the class key of the map), lists
//! the peer parts of the rules it consults (what the map tests classes against), and decides:
//! symbolically over a set of connections for the map, and for one probe, step by step, for an
//! explanation. [`Evaluator::direction_detail`] and [`Evaluator::explain_request`] walk the same
//! list the same way: a layer allows some connections, passes some on to the next layer, and
//! denies the rest; what every layer passes is allowed by default.

use netfence_model::{ConnSet, Endpoint, L7Request, Protocol};

use crate::classes::Facts;
use crate::datapath::DataPath;
use crate::eval::{port_owner, Direction, Evaluator, LayerStep, Peer};
use crate::peer_tests::PeerTest;
use crate::profile::Profile;
use crate::verdict::Outcome;

/// What a layer decides over the connections still open.
pub(crate) struct Decision {
    /// Allowed here.
    pub allowed: ConnSet,
    /// Passed on to the next layer (the rest is denied).
    pub passed: ConnSet,
}

/// What a layer says about one probe.
pub(crate) enum Explained {
    /// It decides, with its steps.
    Decided(Outcome, Vec<LayerStep>),
    /// It passes the probe on (its steps, possibly none), with what the default allow at the
    /// end of the pipeline should say when nothing after it decides.
    Passed(Vec<LayerStep>, Option<String>),
}

/// One enforcing layer.
pub(crate) trait Layer: Send + Sync {
    /// The endpoint facts it reads beyond namespace, labels, named ports, IPs and host
    /// networking.
    fn facts(&self, ev: &Evaluator<'_>) -> Facts;

    /// The peer parts of the rules it consults for `ep` in `dir`.
    fn peer_tests<'a>(
        &self,
        ev: &Evaluator<'a>,
        ep: &'a Endpoint,
        dir: Direction,
        out: &mut Vec<PeerTest<'a>>,
    );

    /// Its decision over `open`, the connections no earlier layer decided.
    fn decide<'a>(
        &self,
        ev: &Evaluator<'a>,
        ep: &'a Endpoint,
        peer: Peer<'_>,
        dir: Direction,
        open: ConnSet,
    ) -> Decision;

    /// Its say about one probe.
    #[allow(clippy::too_many_arguments, reason = "one flow's facts")]
    fn explain<'a>(
        &self,
        ev: &Evaluator<'a>,
        ep: &'a Endpoint,
        peer: Peer<'_>,
        dir: Direction,
        protocol: Protocol,
        port: u16,
        request: Option<&L7Request>,
    ) -> Explained;
}

/// The layers `dp` enforces, in data-path order.
pub(crate) fn pipeline(dp: &DataPath) -> Vec<Box<dyn Layer>> {
    if !dp.enforces_network_policy() {
        return Vec::new();
    }
    match dp.cni {
        // Cilium's repository holds NetworkPolicies and Cilium policies alike; from 1.20 the
        // ClusterNetworkPolicy tiers sit before it (tier 100) and after it (250)
        Profile::Cilium if dp.enforces_cluster_network_policies() => vec![
            Box::new(AdminTier { baseline: false }),
            Box::new(CiliumBeforeBaseline),
            Box::new(AdminTier { baseline: true }),
        ],
        Profile::Cilium => vec![Box::new(CILIUM)],
        // Calico's tiers, NetworkPolicies in the default tier, then the profiles
        Profile::Calico => vec![Box::new(CALICO)],
        _ => vec![
            Box::new(AdminTier { baseline: false }),
            Box::new(KubernetesNetworkPolicy),
            Box::new(AdminTier { baseline: true }),
        ],
    }
}

/// An admin-style tier: AdminNetworkPolicies and Admin ClusterNetworkPolicies by priority
/// (`baseline: false`), or the Baseline ClusterNetworkPolicies then the
/// BaselineAdminNetworkPolicy (`baseline: true`): first match, Pass goes on.
struct AdminTier {
    baseline: bool,
}

impl Layer for AdminTier {
    fn facts(&self, ev: &Evaluator<'_>) -> Facts {
        // `nodes` peers: a host-network pod is its node's address
        Facts {
            host_ip: !ev.cluster.nodes.is_empty() && !ev.admin_tier(self.baseline).is_empty(),
            ..Facts::default()
        }
    }

    fn peer_tests<'a>(
        &self,
        ev: &Evaluator<'a>,
        ep: &'a Endpoint,
        dir: Direction,
        out: &mut Vec<PeerTest<'a>>,
    ) {
        ev.admin_peer_tests(self.baseline, ep, dir, out);
    }

    fn decide<'a>(
        &self,
        ev: &Evaluator<'a>,
        ep: &'a Endpoint,
        peer: Peer<'_>,
        dir: Direction,
        open: ConnSet,
    ) -> Decision {
        let owner = port_owner(ep, peer, dir);
        let tier = ev.first_match_tier(ev.admin_tier(self.baseline), ep, peer, dir, owner, open);
        Decision {
            allowed: tier.allowed,
            passed: tier.undecided.union(&tier.passed),
        }
    }

    fn explain<'a>(
        &self,
        ev: &Evaluator<'a>,
        ep: &'a Endpoint,
        peer: Peer<'_>,
        dir: Direction,
        protocol: Protocol,
        port: u16,
        _: Option<&L7Request>,
    ) -> Explained {
        ev.explain_admin_tier(self.baseline, ep, peer, dir, protocol, port)
    }
}

/// Kubernetes NetworkPolicies: a pod selected for a direction is isolated and allowed the
/// union of the rules; one no policy selects is passed on.
struct KubernetesNetworkPolicy;

impl Layer for KubernetesNetworkPolicy {
    fn facts(&self, _: &Evaluator<'_>) -> Facts {
        Facts::default()
    }

    fn peer_tests<'a>(
        &self,
        ev: &Evaluator<'a>,
        ep: &'a Endpoint,
        dir: Direction,
        out: &mut Vec<PeerTest<'a>>,
    ) {
        ev.np_peer_tests(ep, dir, out);
    }

    fn decide<'a>(
        &self,
        ev: &Evaluator<'a>,
        ep: &'a Endpoint,
        peer: Peer<'_>,
        dir: Direction,
        open: ConnSet,
    ) -> Decision {
        let (isolated, allowed) = ev.np_allowed(ep, peer, dir);
        if isolated {
            Decision {
                allowed: open.intersect(&allowed),
                passed: ConnSet::none(),
            }
        } else {
            Decision {
                allowed: ConnSet::none(),
                passed: open,
            }
        }
    }

    fn explain<'a>(
        &self,
        ev: &Evaluator<'a>,
        ep: &'a Endpoint,
        peer: Peer<'_>,
        dir: Direction,
        protocol: Protocol,
        port: u16,
        _: Option<&L7Request>,
    ) -> Explained {
        ev.explain_network_policies(ep, peer, dir, protocol, port)
    }
}

/// A layer that decides every connection itself, with nothing passed on: Cilium's policy
/// repository (CiliumNetworkPolicies, CiliumClusterwideNetworkPolicies and NetworkPolicies:
/// deny overrides allow, allows are a union, L7 rules on top), or Calico's tiers
/// (GlobalNetworkPolicies, Calico NetworkPolicies, Kubernetes NetworkPolicies in the default
/// tier, then the namespace and service account profiles).
struct Repository {
    facts: fn(&Evaluator<'_>) -> Facts,
    peer_tests: for<'a> fn(&Evaluator<'a>, &'a Endpoint, Direction, &mut Vec<PeerTest<'a>>),
    allowed: for<'a, 'p> fn(&Evaluator<'a>, &'a Endpoint, Peer<'p>, Direction) -> ConnSet,
    #[allow(clippy::type_complexity, reason = "one flow's facts")]
    explain: for<'a, 'p, 'r> fn(
        &Evaluator<'a>,
        &'a Endpoint,
        Peer<'p>,
        Direction,
        Protocol,
        u16,
        Option<&'r L7Request>,
    ) -> (Outcome, Vec<LayerStep>),
}

/// Cilium's repository.
const CILIUM: Repository = Repository {
    // identities carry the service account (NetworkPolicies see it too)
    facts: |_| Facts {
        service_account: true,
        ..Facts::default()
    },
    peer_tests: |ev, ep, dir, out| ev.cilium_peer_tests(ep, dir, out),
    allowed: |ev, ep, peer, dir| ev.cilium_allowed(ep, peer, dir),
    explain: |ev, ep, peer, dir, protocol, port, request| {
        ev.cilium_explain(ep, peer, dir, protocol, port, request)
    },
};

/// Cilium's repository with a tier after it (1.20's Baseline ClusterNetworkPolicies): what
/// no rule of an endpoint outside default deny decides goes on.
struct CiliumBeforeBaseline;

impl Layer for CiliumBeforeBaseline {
    fn facts(&self, ev: &Evaluator<'_>) -> Facts {
        CILIUM.facts(ev)
    }

    fn peer_tests<'a>(
        &self,
        ev: &Evaluator<'a>,
        ep: &'a Endpoint,
        dir: Direction,
        out: &mut Vec<PeerTest<'a>>,
    ) {
        CILIUM.peer_tests(ev, ep, dir, out);
    }

    fn decide<'a>(
        &self,
        ev: &Evaluator<'a>,
        ep: &'a Endpoint,
        peer: Peer<'_>,
        dir: Direction,
        open: ConnSet,
    ) -> Decision {
        let (allowed, passed) = ev.cilium_tiered(ep, peer, dir);
        Decision {
            allowed: open.intersect(&allowed),
            passed: open.intersect(&passed),
        }
    }

    #[allow(clippy::too_many_arguments, reason = "one flow's facts")]
    fn explain<'a>(
        &self,
        ev: &Evaluator<'a>,
        ep: &'a Endpoint,
        peer: Peer<'_>,
        dir: Direction,
        protocol: Protocol,
        port: u16,
        request: Option<&L7Request>,
    ) -> Explained {
        let (_, passed) = ev.cilium_tiered(ep, peer, dir);
        if passed.contains(protocol, port) {
            return Explained::Passed(Vec::new(), None);
        }
        CILIUM.explain(ev, ep, peer, dir, protocol, port, request)
    }
}

/// Calico's tiers.
const CALICO: Repository = Repository {
    // `serviceAccounts` matches; a host-network pod is its node's address
    facts: |ev| Facts {
        service_account: !ev.cluster.policies.calico_policies().is_empty(),
        host_ip: true,
        ..Facts::default()
    },
    peer_tests: |ev, ep, dir, out| ev.calico_peer_tests(ep, dir, out),
    allowed: |ev, ep, peer, dir| ev.calico_allowed(ep, peer, dir),
    explain: |ev, ep, peer, dir, protocol, port, _| {
        let (ok, steps) = ev.calico_explain(ep, peer, dir, protocol, port);
        (if ok { Outcome::Allow } else { Outcome::Deny }, steps)
    },
};

impl Layer for Repository {
    fn facts(&self, ev: &Evaluator<'_>) -> Facts {
        (self.facts)(ev)
    }

    fn peer_tests<'a>(
        &self,
        ev: &Evaluator<'a>,
        ep: &'a Endpoint,
        dir: Direction,
        out: &mut Vec<PeerTest<'a>>,
    ) {
        (self.peer_tests)(ev, ep, dir, out);
    }

    fn decide<'a>(
        &self,
        ev: &Evaluator<'a>,
        ep: &'a Endpoint,
        peer: Peer<'_>,
        dir: Direction,
        open: ConnSet,
    ) -> Decision {
        Decision {
            allowed: open.intersect(&(self.allowed)(ev, ep, peer, dir)),
            passed: ConnSet::none(),
        }
    }

    fn explain<'a>(
        &self,
        ev: &Evaluator<'a>,
        ep: &'a Endpoint,
        peer: Peer<'_>,
        dir: Direction,
        protocol: Protocol,
        port: u16,
        request: Option<&L7Request>,
    ) -> Explained {
        let (outcome, steps) = (self.explain)(ev, ep, peer, dir, protocol, port, request);
        Explained::Decided(outcome, steps)
    }
}
