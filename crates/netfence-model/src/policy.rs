//! Normalized policy dialects: Kubernetes NetworkPolicy and AdminNetworkPolicy /
//! BaselineAdminNetworkPolicy.

use crate::cluster::Origin;
use crate::conn::Protocol;
use crate::ip::IpSet;
use crate::labels::LabelSelector;

/// A port named by number or by container-port name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PortRef {
    /// A port number.
    Number(u16),
    /// A named port, resolved on the pod that receives the traffic.
    Name(String),
}

/// A `networking.k8s.io/v1` NetworkPolicy after defaulting.
///
/// `ingress`/`egress` are `None` when the direction is not in the effective `policyTypes`
/// (so the policy does not isolate that direction), and `Some(rules)` when it is — an empty
/// list then denies everything. See
/// <https://kubernetes.io/docs/concepts/services-networking/network-policies/>.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkPolicy {
    /// The namespace.
    pub namespace: String,
    /// The name.
    pub name: String,
    /// `spec.podSelector` (absent means all pods of the namespace).
    pub pod_selector: LabelSelector,
    /// Ingress rules when Ingress is an effective policy type.
    pub ingress: Option<Vec<NpRule>>,
    /// Egress rules when Egress is an effective policy type.
    pub egress: Option<Vec<NpRule>>,
    /// The object's annotations (for intent such as "deny").
    pub annotations: std::collections::BTreeMap<String, String>,
    /// Where it was declared.
    pub origin: Origin,
}

impl NetworkPolicy {
    /// `namespace/name`.
    pub fn qualified_name(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// One ingress or egress rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpRule {
    /// The peers; `None` when `from`/`to` is absent or empty (every peer, external included).
    pub peers: Option<Vec<NpPeer>>,
    /// The ports; `None` when absent or empty (every port and protocol).
    pub ports: Option<Vec<NpPort>>,
    /// The line of the rule, when known.
    pub line: Option<usize>,
}

/// A `from`/`to` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NpPeer {
    /// Pods chosen by selectors: `namespace` `None` means the policy's own namespace; `pods`
    /// `None` means every pod of the chosen namespaces.
    Pods {
        /// `namespaceSelector`.
        namespaces: Option<LabelSelector>,
        /// `podSelector`.
        pods: Option<LabelSelector>,
    },
    /// `ipBlock`: the CIDR minus its exceptions.
    IpBlock {
        /// The resulting addresses.
        set: IpSet,
        /// The CIDR as written.
        cidr: String,
        /// The exceptions as written.
        except: Vec<String>,
    },
}

/// A `ports` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpPort {
    /// The protocol (TCP when absent).
    pub protocol: Protocol,
    /// The port; `None` means every port of the protocol.
    pub port: Option<PortRef>,
    /// `endPort`, making `port..=endPort` a range.
    pub end_port: Option<u16>,
}

/// ANP/BANP rule actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AdminAction {
    /// Allow, final.
    Allow,
    /// Deny, final.
    Deny,
    /// Skip the remaining ANP rules; NetworkPolicy (then BANP) decides.
    Pass,
}

/// The pods an admin policy applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminSubject {
    /// Every pod of the namespaces matching the selector.
    Namespaces(LabelSelector),
    /// Pods matching both selectors.
    Pods {
        /// Namespace selector.
        namespaces: LabelSelector,
        /// Pod selector.
        pods: LabelSelector,
    },
}

/// An ANP/BANP peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminPeer {
    /// Pods of matching namespaces.
    Namespaces(LabelSelector),
    /// Pods matching both selectors.
    Pods {
        /// Namespace selector.
        namespaces: LabelSelector,
        /// Pod selector.
        pods: LabelSelector,
    },
    /// Addresses (egress only); matches cluster-internal addresses too.
    Networks(IpSet),
    /// Nodes by label (egress only).
    Nodes(LabelSelector),
    /// DNS names (ClusterNetworkPolicy egress `domainNames`, Accept rules only): `*.x` is held
    /// as `**.x`, one or more whole labels.
    DomainNames(Vec<crate::FqdnPattern>),
}

/// An ANP/BANP port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminPort {
    /// `portNumber`.
    Number {
        /// Protocol.
        protocol: Protocol,
        /// Port.
        port: u16,
    },
    /// `namedPort`, resolved on the destination pod.
    Named(String),
    /// `portRange`.
    Range {
        /// Protocol.
        protocol: Protocol,
        /// First port.
        start: u16,
        /// Last port, inclusive.
        end: u16,
    },
}

/// An ANP/BANP rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminRule {
    /// The rule name.
    pub name: String,
    /// The action.
    pub action: AdminAction,
    /// The peers (ORed).
    pub peers: Vec<AdminPeer>,
    /// The ports; `None` means every port.
    pub ports: Option<Vec<AdminPort>>,
}

/// Which network-policy-api resource an admin policy is, and so its tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AdminKind {
    /// `AdminNetworkPolicy` (v1alpha1): the admin tier.
    AdminNetworkPolicy,
    /// `BaselineAdminNetworkPolicy` (v1alpha1): the baseline tier.
    BaselineAdminNetworkPolicy,
    /// `ClusterNetworkPolicy` (v1alpha2) with `tier: Admin`.
    ClusterAdmin,
    /// `ClusterNetworkPolicy` (v1alpha2) with `tier: Baseline`.
    ClusterBaseline,
}

impl AdminKind {
    /// How outputs name it: the kind, and the tier for a ClusterNetworkPolicy (never "CNP",
    /// which is Cilium's CiliumNetworkPolicy).
    pub fn label(self) -> &'static str {
        match self {
            AdminKind::AdminNetworkPolicy => "AdminNetworkPolicy",
            AdminKind::BaselineAdminNetworkPolicy => "BaselineAdminNetworkPolicy",
            AdminKind::ClusterAdmin => "ClusterNetworkPolicy (Admin)",
            AdminKind::ClusterBaseline => "ClusterNetworkPolicy (Baseline)",
        }
    }

    /// Whether it sits in the baseline tier (after NetworkPolicy).
    pub fn is_baseline(self) -> bool {
        matches!(
            self,
            AdminKind::BaselineAdminNetworkPolicy | AdminKind::ClusterBaseline
        )
    }

    /// How this resource's API spells `action` (`Accept` in a ClusterNetworkPolicy).
    pub fn action_word(self, action: AdminAction) -> &'static str {
        match action {
            AdminAction::Allow if self.is_cluster_network_policy() => "Accept",
            AdminAction::Allow => "Allow",
            AdminAction::Deny => "Deny",
            AdminAction::Pass => "Pass",
        }
    }

    /// Whether it is a v1alpha2 ClusterNetworkPolicy.
    pub fn is_cluster_network_policy(self) -> bool {
        matches!(self, AdminKind::ClusterAdmin | AdminKind::ClusterBaseline)
    }
}

/// An AdminNetworkPolicy (`priority` set), the BaselineAdminNetworkPolicy (`priority` `None`)
/// or a ClusterNetworkPolicy of either tier (`priority` set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminPolicy {
    /// Which resource it is.
    pub kind: AdminKind,
    /// The name.
    pub name: String,
    /// Priority, lower first; `None` for the baseline policy.
    pub priority: Option<i32>,
    /// The subject.
    pub subject: AdminSubject,
    /// Ingress rules, in order.
    pub ingress: Vec<AdminRule>,
    /// Egress rules, in order.
    pub egress: Vec<AdminRule>,
    /// Where it was declared.
    pub origin: Origin,
}
