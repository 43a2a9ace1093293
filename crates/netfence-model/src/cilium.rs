//! Cilium policies (cilium.io/v2 CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy), after
//! the loader's namespace scoping: selectors here are over Cilium identity labels.

use std::fmt;

use crate::cluster::Origin;
use crate::conn::Protocol;
use crate::ip::IpSet;
use crate::l7::{FqdnPattern, L7Rules};
use crate::labels::LabelSelector;
use crate::policy::PortRef;

/// The identity label holding a pod's namespace.
pub const POD_NAMESPACE_LABEL: &str = "io.kubernetes.pod.namespace";
/// The identity label holding a pod's service account.
pub const SERVICE_ACCOUNT_LABEL: &str = "io.cilium.k8s.policy.serviceaccount";
/// The identity label naming the pod's cluster (the agent's `cluster-name`).
pub const CLUSTER_LABEL: &str = "io.cilium.k8s.policy.cluster";
/// The cluster name every Cilium agent uses unless `cluster-name` is set.
pub const DEFAULT_CLUSTER_NAME: &str = "default";
/// The identity label prefix of the pod's namespace labels.
pub const NAMESPACE_LABELS_PREFIX: &str = "io.cilium.k8s.namespace.labels.";
/// The prefix of reserved identity labels (`reserved:world`, ...).
pub const RESERVED_PREFIX: &str = "reserved:";

/// A CiliumNetworkPolicy (namespaced) or CiliumClusterwideNetworkPolicy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CiliumPolicy {
    /// The namespace; `None` for a clusterwide policy.
    pub namespace: Option<String>,
    /// The name.
    pub name: String,
    /// Its rules (`spec` and every element of `specs`).
    pub rules: Vec<CiliumRule>,
    /// Where it was declared.
    pub origin: Origin,
}

impl CiliumPolicy {
    /// `CiliumNetworkPolicy` or `CiliumClusterwideNetworkPolicy`.
    pub fn kind(&self) -> &'static str {
        if self.namespace.is_some() {
            "CiliumNetworkPolicy"
        } else {
            "CiliumClusterwideNetworkPolicy"
        }
    }

    /// `ns/name`, or the name of a clusterwide policy.
    pub fn qualified_name(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{ns}/{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// What a Cilium rule applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CiliumSubject {
    /// Pods, by identity labels (namespace already forced for a namespaced policy).
    Endpoints(LabelSelector),
    /// Nodes (host firewall), by node labels.
    Nodes(LabelSelector),
}

/// One Cilium rule: a subject and its four sections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CiliumRule {
    /// The subject.
    pub subject: CiliumSubject,
    /// `ingress` allow rules.
    pub ingress: Vec<CiliumPeerRule>,
    /// `ingressDeny` rules.
    pub ingress_deny: Vec<CiliumPeerRule>,
    /// `egress` allow rules.
    pub egress: Vec<CiliumPeerRule>,
    /// `egressDeny` rules.
    pub egress_deny: Vec<CiliumPeerRule>,
    /// `enableDefaultDeny.ingress` (unset means true).
    pub default_deny_ingress: Option<bool>,
    /// `enableDefaultDeny.egress` (unset means true).
    pub default_deny_egress: Option<bool>,
    /// The path of the rule in the object (`spec` or `specs[i]`).
    pub path: String,
}

/// One element of an `ingress`/`egress`/`ingressDeny`/`egressDeny` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CiliumPeerRule {
    /// The L3 peers: `None` when the rule names no L3 field (every peer); `Some(empty)` when
    /// it names only empty lists (no peer).
    pub peers: Option<Vec<CiliumPeer>>,
    /// `fromRequires`/`toRequires`: requirements added to every endpoint selector that
    /// selects peers of the same subject.
    pub requires: Vec<LabelSelector>,
    /// `toPorts`; `None` means every port (and every ICMP type) when `icmps` is empty too.
    pub ports: Option<Vec<CiliumPortRule>>,
    /// `icmps`: the ICMP types it allows besides its ports, as (`Icmp` or `IcmpV6`, type).
    pub icmps: Vec<(crate::conn::Protocol, u8)>,
    /// `authentication.mode`: what the rule needs besides its peers and ports.
    pub authentication: AuthMode,
    /// The line of the rule, when known.
    pub line: Option<usize>,
}

/// A Cilium rule's `authentication.mode` (`pkg/policy/api/rule.go`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum AuthMode {
    /// `disabled` (or no `authentication`): the rule admits as written.
    #[default]
    Disabled,
    /// `required`: admits only once mutual authentication (SPIFFE/SPIRE) succeeds between
    /// the two identities, which is not known offline.
    Required,
    /// `test-always-fail`: authentication never succeeds, the rule admits nothing.
    TestAlwaysFail,
}

/// A Cilium reserved entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Entity {
    /// Everything outside the cluster.
    World,
    /// Every endpoint of the cluster and the cluster's reserved identities.
    Cluster,
    /// The local node and its hostNetwork pods.
    Host,
    /// Other nodes.
    RemoteNode,
    /// The API server.
    KubeApiserver,
    /// Cilium health endpoints.
    Health,
    /// Endpoints whose identity is not resolved yet.
    Init,
    /// Cilium's Envoy ingress.
    Ingress,
    /// Endpoints not managed by Cilium.
    Unmanaged,
    /// Everything.
    All,
    /// Nothing.
    None,
}

impl Entity {
    /// Parses an entity name as the CRD spells it.
    pub fn parse(s: &str) -> Option<Entity> {
        Some(match s {
            "world" | "world-ipv4" | "world-ipv6" => Entity::World,
            "cluster" => Entity::Cluster,
            "host" => Entity::Host,
            "remote-node" => Entity::RemoteNode,
            "kube-apiserver" => Entity::KubeApiserver,
            "health" => Entity::Health,
            "init" => Entity::Init,
            "ingress" => Entity::Ingress,
            "unmanaged" => Entity::Unmanaged,
            "all" => Entity::All,
            "none" => Entity::None,
            _ => return None,
        })
    }

    /// The name as the CRD spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Entity::World => "world",
            Entity::Cluster => "cluster",
            Entity::Host => "host",
            Entity::RemoteNode => "remote-node",
            Entity::KubeApiserver => "kube-apiserver",
            Entity::Health => "health",
            Entity::Init => "init",
            Entity::Ingress => "ingress",
            Entity::Unmanaged => "unmanaged",
            Entity::All => "all",
            Entity::None => "none",
        }
    }

    /// Whether selecting `self` in a rule selects the peer entity `peer`.
    pub fn covers(self, peer: Entity) -> bool {
        match self {
            Entity::All => peer != Entity::None,
            Entity::None => false,
            Entity::Cluster => !matches!(peer, Entity::World | Entity::All | Entity::None),
            e => e == peer,
        }
    }
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One L3 peer of a Cilium rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CiliumPeer {
    /// `fromEndpoints`/`toEndpoints`: identity labels (namespace scoping applied).
    Endpoints(LabelSelector),
    /// `fromEntities`/`toEntities`.
    Entity(Entity),
    /// `fromCIDR(Set)`/`toCIDR(Set)`, `except` applied: peers without a Cilium identity only.
    Cidr(IpSet),
    /// `toFQDNs`: addresses learned from DNS answers for matching names.
    Fqdn(FqdnPattern),
    /// `toServices`: backends of a selector-less Service.
    Service {
        /// The service namespace (`None`: the policy's, or any for a label selector).
        namespace: Option<String>,
        /// The service name, or `None` with a label selector.
        name: Option<String>,
        /// A selector over service labels.
        selector: Option<LabelSelector>,
    },
    /// `fromNodes`/`toNodes`: node labels.
    Nodes(LabelSelector),
    /// A `fromCIDRSet`/`toCIDRSet` entry naming CiliumCIDRGroups (`cidrGroupRef` or
    /// `cidrGroupSelector`): the loader resolves it into [`CiliumPeer::Cidr`] once every group
    /// is read; unresolved, it matches nothing.
    CidrGroup(CidrGroupRef),
}

/// A reference to CiliumCIDRGroups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CidrGroupRef {
    /// `cidrGroupRef`: one group by name.
    pub name: Option<String>,
    /// `cidrGroupSelector`: the groups whose labels it matches.
    pub selector: Option<LabelSelector>,
    /// `except`.
    pub except: IpSet,
}

/// A CiliumCIDRGroup: labelled CIDRs that policies name as a set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CidrGroup {
    /// The name (cluster-scoped).
    pub name: String,
    /// `metadata.labels`.
    pub labels: crate::labels::Labels,
    /// `spec.externalCIDRs`.
    pub cidrs: IpSet,
    /// Where it was declared.
    pub origin: Origin,
}

/// One `toPorts` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CiliumPortRule {
    /// The ports; empty means every port.
    pub ports: Vec<CiliumPort>,
    /// L7 rules on these ports.
    pub l7: Option<L7Rules>,
}

/// One port of a `toPorts` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CiliumPort {
    /// The port: `None` for every port (`"0"` or unset).
    pub port: Option<PortRef>,
    /// The end of a range.
    pub end_port: Option<u16>,
    /// The protocol; `None` is `ANY`.
    pub protocol: Option<Protocol>,
}
