//! The vocabulary of verdicts, shared by every layer and dialect: the peer a flow comes from
//! or goes to, what one layer says about it (`LayerStep`), and what one direction decides
//! (`Outcome`).

use std::net::IpAddr;

use netfence_model::cluster::NAMESPACE_NAME_LABEL;
use netfence_model::{Endpoint, Entity, IpRange, LabelSelector, Origin};

/// The namespace part of a representative peer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RepNamespace {
    /// A namespace known by name (a podSelector-only rule, or a selector on the name label).
    Named(String),
    /// Any namespace matching this selector.
    Selector(LabelSelector),
}

/// A hypothetical peer inferred from a policy rule: "any pod matching these selectors", used by
/// exposure analysis to show what a workload is open to beyond the pods in the inventory.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RepPeer {
    /// The namespace part.
    pub namespace: RepNamespace,
    /// The pod selector (empty: every pod).
    pub pods: LabelSelector,
}

impl RepPeer {
    /// The namespace selector this peer stands for.
    pub fn namespace_selector(&self) -> LabelSelector {
        match &self.namespace {
            RepNamespace::Named(n) => {
                LabelSelector::from_labels([(NAMESPACE_NAME_LABEL, n.as_str())])
            }
            RepNamespace::Selector(s) => s.clone(),
        }
    }
}

/// The other end of a flow, from the point of view of the endpoint being evaluated.
#[derive(Debug, Clone, Copy)]
pub enum Peer<'a> {
    /// A workload or pod of the inventory.
    Endpoint(&'a Endpoint),
    /// A range of cluster-external addresses that no policy splits.
    Ip(&'a IpRange),
    /// A representative peer (exposure analysis).
    Rep(&'a RepPeer),
    /// A Cilium reserved entity (`host`, `remote-node`, `kube-apiserver`, `world`, ...).
    Entity(Entity),
    /// A cluster-external destination known by its DNS name (and address, when known).
    Fqdn {
        /// The name the client resolved.
        name: &'a str,
        /// The address it connected to, when known.
        ip: Option<IpAddr>,
    },
}

/// The verdict a layer reached for one (protocol, port).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerVerdict {
    /// The layer allowed the flow.
    Allow,
    /// The layer denied the flow.
    Deny,
    /// ANP `Pass`: delegated to the next layer.
    Pass,
    /// No rule of this layer applied.
    NoMatch,
    /// The connection is allowed, the request is refused by an L7 proxy (HTTP 403).
    L7Deny,
}

/// One layer's say about a flow in one direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerStep {
    /// `AdminNetworkPolicy`, `NetworkPolicy`, `BaselineAdminNetworkPolicy` or `default`.
    pub layer: &'static str,
    /// What it decided.
    pub verdict: LayerVerdict,
    /// The deciding policy (`ns/name` or name).
    pub policy: Option<String>,
    /// The deciding rule (0-based index within the direction), or the rule's name.
    pub rule: Option<String>,
    /// Where the policy is declared (line of the rule when known).
    pub origin: Option<Origin>,
    /// A human explanation.
    pub detail: String,
}

impl LayerStep {
    /// A step no single policy decides (a default, a tier's end, a note).
    pub fn note(layer: &'static str, verdict: LayerVerdict, detail: impl Into<String>) -> Self {
        Self {
            layer,
            verdict,
            policy: None,
            rule: None,
            origin: None,
            detail: detail.into(),
        }
    }
}

/// What one direction decides for one (protocol, port) and request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Allowed (the request too, when there is one).
    Allow,
    /// Dropped at L3/L4.
    Deny,
    /// Connection allowed, request refused by the L7 proxy (HTTP 403, DNS REFUSED, Kafka error).
    L7Deny,
}
