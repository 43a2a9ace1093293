//! Every policy object of every dialect, behind one entry point.
//!
//! [`Policy`] is the enum over dialects: the loader adds policies as `Policy` values, and
//! whatever handles "any policy" ([`Policies::iter`], [`PolicyRef`]'s kind, namespace, name and
//! origin, [`Policies::extend`]) matches it exhaustively, so a new dialect is one new variant
//! the compiler then asks every such place to handle. Each dialect's objects are kept in their
//! own list, in load order, and read as slices ([`Policies::network_policies`], ...): the
//! engine's hot paths stay monomorphic, and an index into a slice names one object.

use crate::calico::{CalicoPolicy, NetworkSet, Tier};
use crate::cilium::{CidrGroup, CiliumPolicy};
use crate::cluster::{AuditPolicy, Origin};
use crate::istio::{AuthorizationPolicy, PeerAuthentication};
use crate::policy::{AdminKind, AdminPolicy, NetworkPolicy};

/// A policy object of any dialect.
#[derive(Debug, Clone)]
pub enum Policy {
    /// A Kubernetes NetworkPolicy.
    Kubernetes(NetworkPolicy),
    /// An AdminNetworkPolicy, the BaselineAdminNetworkPolicy, or a ClusterNetworkPolicy (its
    /// [`AdminKind`] tells).
    Admin(AdminPolicy),
    /// A CiliumNetworkPolicy or CiliumClusterwideNetworkPolicy.
    Cilium(CiliumPolicy),
    /// A CiliumCIDRGroup.
    CiliumCidrGroup(CidrGroup),
    /// A Calico (Global)NetworkPolicy, staged or not.
    Calico(CalicoPolicy),
    /// A Calico Tier.
    CalicoTier(Tier),
    /// A Calico (Global)NetworkSet.
    CalicoNetworkSet(NetworkSet),
    /// An Istio PeerAuthentication.
    PeerAuthentication(PeerAuthentication),
    /// An Istio AuthorizationPolicy.
    Authorization(AuthorizationPolicy),
    /// An API server audit policy (audit.k8s.io).
    Audit(AuditPolicy),
    /// A Calico StagedKubernetesNetworkPolicy: a NetworkPolicy that never changes traffic.
    StagedKubernetes(NetworkPolicy),
}

macro_rules! from_dialect {
    ($($t:ty => $v:ident),* $(,)?) => {
        $(impl From<$t> for Policy {
            fn from(p: $t) -> Self {
                Policy::$v(p)
            }
        })*
    };
}

from_dialect! {
    NetworkPolicy => Kubernetes,
    AdminPolicy => Admin,
    CiliumPolicy => Cilium,
    CidrGroup => CiliumCidrGroup,
    CalicoPolicy => Calico,
    Tier => CalicoTier,
    NetworkSet => CalicoNetworkSet,
    PeerAuthentication => PeerAuthentication,
    AuthorizationPolicy => Authorization,
    AuditPolicy => Audit,
}

/// A borrowed [`Policy`].
#[derive(Debug, Clone, Copy)]
pub enum PolicyRef<'a> {
    /// See [`Policy::Kubernetes`].
    Kubernetes(&'a NetworkPolicy),
    /// See [`Policy::Admin`].
    Admin(&'a AdminPolicy),
    /// See [`Policy::Cilium`].
    Cilium(&'a CiliumPolicy),
    /// See [`Policy::CiliumCidrGroup`].
    CiliumCidrGroup(&'a CidrGroup),
    /// See [`Policy::Calico`].
    Calico(&'a CalicoPolicy),
    /// See [`Policy::CalicoTier`].
    CalicoTier(&'a Tier),
    /// See [`Policy::CalicoNetworkSet`].
    CalicoNetworkSet(&'a NetworkSet),
    /// See [`Policy::PeerAuthentication`].
    PeerAuthentication(&'a PeerAuthentication),
    /// See [`Policy::Authorization`].
    Authorization(&'a AuthorizationPolicy),
    /// See [`Policy::Audit`].
    Audit(&'a AuditPolicy),
    /// See [`Policy::StagedKubernetes`].
    StagedKubernetes(&'a NetworkPolicy),
}

impl<'a> PolicyRef<'a> {
    /// The kind as its manifest writes it (`projectcalico.org/`-prefixed for Calico kinds,
    /// whose names Kubernetes kinds share).
    pub fn kind(&self) -> String {
        match self {
            PolicyRef::Kubernetes(_) => "NetworkPolicy".into(),
            PolicyRef::Admin(p) => match p.kind {
                AdminKind::ClusterAdmin | AdminKind::ClusterBaseline => {
                    "ClusterNetworkPolicy".into()
                }
                k => k.label().into(),
            },
            PolicyRef::Cilium(p) => p.kind().into(),
            PolicyRef::CiliumCidrGroup(_) => "CiliumCIDRGroup".into(),
            PolicyRef::Calico(p) => format!("projectcalico.org/{}", p.kind()),
            PolicyRef::CalicoTier(_) => "projectcalico.org/Tier".into(),
            PolicyRef::CalicoNetworkSet(s) => format!(
                "projectcalico.org/{}",
                if s.namespace.is_some() {
                    "NetworkSet"
                } else {
                    "GlobalNetworkSet"
                }
            ),
            PolicyRef::PeerAuthentication(_) => "PeerAuthentication".into(),
            PolicyRef::Authorization(_) => "AuthorizationPolicy".into(),
            PolicyRef::Audit(_) => "Policy (audit.k8s.io)".into(),
            PolicyRef::StagedKubernetes(_) => {
                "projectcalico.org/StagedKubernetesNetworkPolicy".into()
            }
        }
    }

    /// The namespace; `None` for a cluster-scoped object.
    pub fn namespace(&self) -> Option<&'a str> {
        match self {
            PolicyRef::Kubernetes(p) | PolicyRef::StagedKubernetes(p) => Some(&p.namespace),
            PolicyRef::PeerAuthentication(p) => Some(&p.namespace),
            PolicyRef::Authorization(p) => Some(&p.namespace),
            PolicyRef::Cilium(p) => p.namespace.as_deref(),
            PolicyRef::Calico(p) => p.namespace.as_deref(),
            PolicyRef::CalicoNetworkSet(s) => s.namespace.as_deref(),
            PolicyRef::Admin(_)
            | PolicyRef::CiliumCidrGroup(_)
            | PolicyRef::CalicoTier(_)
            | PolicyRef::Audit(_) => None,
        }
    }

    /// The name.
    pub fn name(&self) -> &'a str {
        match self {
            PolicyRef::Kubernetes(p) | PolicyRef::StagedKubernetes(p) => &p.name,
            PolicyRef::Admin(p) => &p.name,
            PolicyRef::Cilium(p) => &p.name,
            PolicyRef::CiliumCidrGroup(g) => &g.name,
            PolicyRef::Calico(p) => &p.name,
            PolicyRef::CalicoTier(t) => &t.name,
            PolicyRef::CalicoNetworkSet(s) => &s.name,
            PolicyRef::PeerAuthentication(p) => &p.name,
            PolicyRef::Authorization(p) => &p.name,
            PolicyRef::Audit(p) => &p.name,
        }
    }

    /// Where it was declared (`None` for a Calico tier netfence implies).
    pub fn origin(&self) -> Option<&'a Origin> {
        match self {
            PolicyRef::Kubernetes(p) | PolicyRef::StagedKubernetes(p) => Some(&p.origin),
            PolicyRef::Admin(p) => Some(&p.origin),
            PolicyRef::Cilium(p) => Some(&p.origin),
            PolicyRef::CiliumCidrGroup(g) => Some(&g.origin),
            PolicyRef::Calico(p) => Some(&p.origin),
            PolicyRef::CalicoTier(t) => t.origin.as_ref(),
            PolicyRef::CalicoNetworkSet(s) => Some(&s.origin),
            PolicyRef::PeerAuthentication(p) => Some(&p.origin),
            PolicyRef::Authorization(p) => Some(&p.origin),
            PolicyRef::Audit(p) => Some(&p.origin),
        }
    }

    /// Whether it decides traffic (a policy proper), as opposed to data policies read (CIDR
    /// groups, network sets, tiers) or the API server's audit policy.
    pub fn decides_traffic(&self) -> bool {
        match self {
            PolicyRef::Kubernetes(_)
            | PolicyRef::Admin(_)
            | PolicyRef::Cilium(_)
            | PolicyRef::Calico(_)
            | PolicyRef::PeerAuthentication(_)
            | PolicyRef::Authorization(_) => true,
            PolicyRef::CiliumCidrGroup(_)
            | PolicyRef::CalicoTier(_)
            | PolicyRef::CalicoNetworkSet(_)
            | PolicyRef::Audit(_)
            | PolicyRef::StagedKubernetes(_) => false,
        }
    }
}

/// Every policy object of the input, per dialect in load order.
#[derive(Debug, Clone, Default)]
pub struct Policies {
    network_policies: Vec<NetworkPolicy>,
    admin_policies: Vec<AdminPolicy>,
    baseline_policy: Option<AdminPolicy>,
    cluster_network_policies: Vec<AdminPolicy>,
    cilium_policies: Vec<CiliumPolicy>,
    cilium_cidr_groups: Vec<CidrGroup>,
    calico_policies: Vec<CalicoPolicy>,
    calico_tiers: Vec<Tier>,
    calico_network_sets: Vec<NetworkSet>,
    peer_authentications: Vec<PeerAuthentication>,
    authorization_policies: Vec<AuthorizationPolicy>,
    audit_policies: Vec<AuditPolicy>,
    staged_network_policies: Vec<NetworkPolicy>,
}

impl Policies {
    /// Adds `policy`. A second BaselineAdminNetworkPolicy (the API allows one, named
    /// `default`) is handed back, for the caller to report.
    pub fn add(&mut self, policy: impl Into<Policy>) -> Result<(), Box<AdminPolicy>> {
        match policy.into() {
            Policy::Kubernetes(p) => self.network_policies.push(p),
            Policy::Admin(p) => match p.kind {
                AdminKind::AdminNetworkPolicy => self.admin_policies.push(p),
                AdminKind::BaselineAdminNetworkPolicy => {
                    if self.baseline_policy.is_some() {
                        return Err(Box::new(p));
                    }
                    self.baseline_policy = Some(p);
                }
                AdminKind::ClusterAdmin | AdminKind::ClusterBaseline => {
                    self.cluster_network_policies.push(p)
                }
            },
            Policy::Cilium(p) => self.cilium_policies.push(p),
            Policy::CiliumCidrGroup(g) => self.cilium_cidr_groups.push(g),
            Policy::Calico(p) => self.calico_policies.push(p),
            Policy::CalicoTier(t) => self.calico_tiers.push(t),
            Policy::CalicoNetworkSet(s) => self.calico_network_sets.push(s),
            Policy::PeerAuthentication(p) => self.peer_authentications.push(p),
            Policy::Authorization(p) => self.authorization_policies.push(p),
            Policy::Audit(p) => self.audit_policies.push(p),
            Policy::StagedKubernetes(p) => self.staged_network_policies.push(p),
        }
        Ok(())
    }

    /// Adds every policy of `other` after this set's (its second BaselineAdminNetworkPolicy,
    /// if any, is handed back).
    pub fn extend(&mut self, other: Policies) -> Result<(), Box<AdminPolicy>> {
        // Every list named: a list added here fails to compile until it is merged.
        let Policies {
            network_policies,
            admin_policies,
            baseline_policy,
            cluster_network_policies,
            cilium_policies,
            cilium_cidr_groups,
            calico_policies,
            calico_tiers,
            calico_network_sets,
            peer_authentications,
            authorization_policies,
            audit_policies,
            staged_network_policies,
        } = other;
        self.network_policies.extend(network_policies);
        self.admin_policies.extend(admin_policies);
        self.cluster_network_policies
            .extend(cluster_network_policies);
        self.cilium_policies.extend(cilium_policies);
        self.cilium_cidr_groups.extend(cilium_cidr_groups);
        self.calico_policies.extend(calico_policies);
        self.calico_tiers.extend(calico_tiers);
        self.calico_network_sets.extend(calico_network_sets);
        self.peer_authentications.extend(peer_authentications);
        self.authorization_policies.extend(authorization_policies);
        self.audit_policies.extend(audit_policies);
        self.staged_network_policies.extend(staged_network_policies);
        match baseline_policy {
            Some(b) => self.add(Policy::Admin(b)),
            None => Ok(()),
        }
    }

    /// Keeps the policies `keep` says yes to.
    pub fn retain(&mut self, keep: impl Fn(PolicyRef<'_>) -> bool) {
        let Policies {
            network_policies,
            admin_policies,
            baseline_policy,
            cluster_network_policies,
            cilium_policies,
            cilium_cidr_groups,
            calico_policies,
            calico_tiers,
            calico_network_sets,
            peer_authentications,
            authorization_policies,
            audit_policies,
            staged_network_policies,
        } = self;
        network_policies.retain(|p| keep(PolicyRef::Kubernetes(p)));
        admin_policies.retain(|p| keep(PolicyRef::Admin(p)));
        if baseline_policy
            .as_ref()
            .is_some_and(|p| !keep(PolicyRef::Admin(p)))
        {
            *baseline_policy = None;
        }
        cluster_network_policies.retain(|p| keep(PolicyRef::Admin(p)));
        cilium_policies.retain(|p| keep(PolicyRef::Cilium(p)));
        cilium_cidr_groups.retain(|g| keep(PolicyRef::CiliumCidrGroup(g)));
        calico_policies.retain(|p| keep(PolicyRef::Calico(p)));
        calico_tiers.retain(|t| keep(PolicyRef::CalicoTier(t)));
        calico_network_sets.retain(|s| keep(PolicyRef::CalicoNetworkSet(s)));
        peer_authentications.retain(|p| keep(PolicyRef::PeerAuthentication(p)));
        authorization_policies.retain(|p| keep(PolicyRef::Authorization(p)));
        audit_policies.retain(|p| keep(PolicyRef::Audit(p)));
        staged_network_policies.retain(|p| keep(PolicyRef::StagedKubernetes(p)));
    }

    /// Every policy object, dialect by dialect.
    pub fn iter(&self) -> impl Iterator<Item = PolicyRef<'_>> {
        let Policies {
            network_policies,
            admin_policies,
            baseline_policy,
            cluster_network_policies,
            cilium_policies,
            cilium_cidr_groups,
            calico_policies,
            calico_tiers,
            calico_network_sets,
            peer_authentications,
            authorization_policies,
            audit_policies,
            staged_network_policies,
        } = self;
        (network_policies.iter().map(PolicyRef::Kubernetes))
            .chain(admin_policies.iter().map(PolicyRef::Admin))
            .chain(baseline_policy.iter().map(PolicyRef::Admin))
            .chain(cluster_network_policies.iter().map(PolicyRef::Admin))
            .chain(cilium_policies.iter().map(PolicyRef::Cilium))
            .chain(cilium_cidr_groups.iter().map(PolicyRef::CiliumCidrGroup))
            .chain(calico_policies.iter().map(PolicyRef::Calico))
            .chain(calico_tiers.iter().map(PolicyRef::CalicoTier))
            .chain(calico_network_sets.iter().map(PolicyRef::CalicoNetworkSet))
            .chain(
                peer_authentications
                    .iter()
                    .map(PolicyRef::PeerAuthentication),
            )
            .chain(authorization_policies.iter().map(PolicyRef::Authorization))
            .chain(audit_policies.iter().map(PolicyRef::Audit))
            .chain(
                staged_network_policies
                    .iter()
                    .map(PolicyRef::StagedKubernetes),
            )
    }

    /// Whether some policy names ICMP (a Cilium `icmps`, a Calico rule on protocol ICMP or
    /// ICMPv6): only then can ICMP be allowed where ports are not, and the other way round.
    pub fn name_icmp(&self) -> bool {
        let cilium = self.cilium_policies.iter().any(|p| {
            p.rules
                .iter()
                .flat_map(|r| r.ingress.iter().chain(&r.egress))
                .any(|pr| !pr.icmps.is_empty())
        });
        let calico = self.calico_policies.iter().any(|p| {
            p.ingress.iter().chain(&p.egress).any(|r| {
                r.protocol.is_some_and(crate::conn::Protocol::is_icmp)
                    || r.not_protocol.is_some_and(crate::conn::Protocol::is_icmp)
            })
        });
        cilium || calico
    }

    /// Calico StagedKubernetesNetworkPolicies (never enforced).
    pub fn staged_network_policies(&self) -> &[NetworkPolicy] {
        &self.staged_network_policies
    }

    /// Kubernetes NetworkPolicies.
    pub fn network_policies(&self) -> &[NetworkPolicy] {
        &self.network_policies
    }

    /// The NetworkPolicies, to change in place (what-if analyses; `fix`).
    pub fn network_policies_mut(&mut self) -> &mut Vec<NetworkPolicy> {
        &mut self.network_policies
    }

    /// AdminNetworkPolicies (policy.networking.k8s.io/v1alpha1).
    pub fn admin_policies(&self) -> &[AdminPolicy] {
        &self.admin_policies
    }

    /// The BaselineAdminNetworkPolicy, if any.
    pub fn baseline_policy(&self) -> Option<&AdminPolicy> {
        self.baseline_policy.as_ref()
    }

    /// ClusterNetworkPolicies (network-policy-api v1alpha2), both tiers.
    pub fn cluster_network_policies(&self) -> &[AdminPolicy] {
        &self.cluster_network_policies
    }

    /// CiliumNetworkPolicies and CiliumClusterwideNetworkPolicies.
    pub fn cilium_policies(&self) -> &[CiliumPolicy] {
        &self.cilium_policies
    }

    /// The Cilium policies, to change in place (the loader resolves CIDR group names).
    pub fn cilium_policies_mut(&mut self) -> &mut Vec<CiliumPolicy> {
        &mut self.cilium_policies
    }

    /// CiliumCIDRGroups.
    pub fn cilium_cidr_groups(&self) -> &[CidrGroup] {
        &self.cilium_cidr_groups
    }

    /// Calico NetworkPolicies, GlobalNetworkPolicies and staged policies.
    pub fn calico_policies(&self) -> &[CalicoPolicy] {
        &self.calico_policies
    }

    /// Calico Tiers declared in the input.
    pub fn calico_tiers(&self) -> &[Tier] {
        &self.calico_tiers
    }

    /// Calico NetworkSets and GlobalNetworkSets.
    pub fn calico_network_sets(&self) -> &[NetworkSet] {
        &self.calico_network_sets
    }

    /// Istio PeerAuthentications.
    pub fn peer_authentications(&self) -> &[PeerAuthentication] {
        &self.peer_authentications
    }

    /// Istio AuthorizationPolicies.
    pub fn authorization_policies(&self) -> &[AuthorizationPolicy] {
        &self.authorization_policies
    }

    /// API server audit policies (audit.k8s.io).
    pub fn audit_policies(&self) -> &[AuditPolicy] {
        &self.audit_policies
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn np(name: &str) -> NetworkPolicy {
        NetworkPolicy {
            namespace: "x".into(),
            name: name.into(),
            pod_selector: Default::default(),
            ingress: None,
            egress: None,
            annotations: Default::default(),
            origin: Origin::default(),
        }
    }

    #[test]
    fn one_entry_point_every_dialect_listed_in_load_order() {
        let mut p = Policies::default();
        assert!(p.add(Policy::Kubernetes(np("a"))).is_ok());
        assert!(p.add(Policy::Kubernetes(np("b"))).is_ok());
        let mut other = Policies::default();
        assert!(other.add(Policy::Kubernetes(np("c"))).is_ok());
        assert!(p.extend(other).is_ok());
        let names: Vec<&str> = p
            .network_policies()
            .iter()
            .map(|n| n.name.as_str())
            .collect();
        assert_eq!(names, ["a", "b", "c"]);
        let listed: Vec<(String, Option<&str>, &str)> = p
            .iter()
            .map(|r| (r.kind(), r.namespace(), r.name()))
            .collect();
        assert_eq!(listed.len(), 3);
        assert_eq!(listed[0], ("NetworkPolicy".to_string(), Some("x"), "a"));
        p.retain(|r| r.name() != "b");
        let names: Vec<&str> = p.iter().map(|r| r.name()).collect();
        assert_eq!(names, ["a", "c"]);
    }
}
