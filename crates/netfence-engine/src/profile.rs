//! CNI capability profiles: what the cluster's network plugin enforces and how (each project's
//! documentation).

use std::fmt;

/// The CNI profile the analysis assumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Profile {
    /// Upstream NetworkPolicy semantics; an ipBlock never matches pod IPs (as netpol-analyzer
    /// and Cilium assume).
    #[default]
    Generic,
    /// Calico: tiers, Calico policies, ANP/BANP; ipBlock is translated to `nets`, which match
    /// pod IPs too.
    Calico,
    /// Cilium: NetworkPolicies, CiliumNetworkPolicies and CiliumClusterwideNetworkPolicies in
    /// one repository (deny wins, L7 through Envoy, `toFQDNs`); ipBlock never matches pods;
    /// AdminNetworkPolicy is not implemented.
    Cilium,
    /// Antrea: NetworkPolicy and ANP/BANP (since v1.13); Antrea-native policies not modelled.
    Antrea,
    /// flannel: a pure L3 fabric, enforces no policy at all.
    Flannel,
    /// Weave Net (weave-npc): NetworkPolicy, ingress and (since 2.4) egress; no ANP. Archived.
    Weave,
}

/// One capability row of `netfence cni` (what depends on the release is asked of
/// [`crate::DataPath`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Kubernetes NetworkPolicy.
    pub network_policy: bool,
    /// The CNI's own policy kinds netfence models.
    pub own_policies: &'static str,
    /// Layer 7 rules.
    pub l7: &'static str,
    /// DNS name (FQDN) egress rules.
    pub fqdn: &'static str,
    /// Host (node) policies.
    pub host_policies: bool,
    /// Whether an ipBlock/CIDR matches pod addresses.
    pub cidr_matches_pods: bool,
    /// A note.
    pub note: &'static str,
}

impl Profile {
    /// Every profile, in the order `netfence cni` lists them.
    pub const ALL: [Profile; 6] = [
        Profile::Generic,
        Profile::Calico,
        Profile::Cilium,
        Profile::Antrea,
        Profile::Flannel,
        Profile::Weave,
    ];

    /// What the profile enforces.
    pub fn capabilities(self) -> Capabilities {
        match self {
            Profile::Generic => Capabilities {
                network_policy: true,
                own_policies: "-",
                l7: "-",
                fqdn: "-",
                host_policies: false,
                cidr_matches_pods: false,
                note: "upstream semantics, as netpol-analyzer",
            },
            Profile::Calico => Capabilities {
                network_policy: true,
                own_policies: "NetworkPolicy, GlobalNetworkPolicy, Tier",
                l7: "HTTP only with Istio + Dikastes (ALP), ingress",
                fqdn: "Calico Enterprise only",
                host_policies: true,
                cidr_matches_pods: true,
                note: "K8s NP in tier default at order 1000",
            },
            Profile::Cilium => Capabilities {
                network_policy: true,
                own_policies: "CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy",
                l7: "HTTP, DNS (Envoy / DNS proxy); Kafka to 1.19",
                fqdn: "toFQDNs (learned by the DNS proxy)",
                host_policies: true,
                cidr_matches_pods: false,
                note: "deny wins over every allow",
            },
            Profile::Antrea => Capabilities {
                network_policy: true,
                own_policies: "- (Antrea-native policies not modelled)",
                l7: "Antrea L7NetworkPolicy (not modelled)",
                fqdn: "Antrea-native policies (not modelled)",
                host_policies: false,
                cidr_matches_pods: false,
                note: "K8s NP after Antrea tiers, before baseline",
            },
            Profile::Flannel => Capabilities {
                network_policy: false,
                own_policies: "-",
                l7: "-",
                fqdn: "-",
                host_policies: false,
                cidr_matches_pods: false,
                note: "no policy at all: pair it with Calico (Canal)",
            },
            Profile::Weave => Capabilities {
                network_policy: true,
                own_policies: "-",
                l7: "-",
                fqdn: "-",
                host_policies: false,
                cidr_matches_pods: false,
                note: "egress since 2.4; project archived 2024",
            },
        }
    }

    /// Whether NetworkPolicy `ipBlock` peers match the IPs of pods.
    pub fn ipblock_matches_pod_ips(self) -> bool {
        self.capabilities().cidr_matches_pods
    }

    /// Whether Kubernetes NetworkPolicies are enforced.
    pub fn enforces_network_policy(self) -> bool {
        self.capabilities().network_policy
    }

    /// Whether Cilium's own policies are enforced.
    pub fn enforces_cilium_policies(self) -> bool {
        matches!(self, Profile::Cilium)
    }

    /// Whether Calico's own policies are enforced.
    pub fn enforces_calico_policies(self) -> bool {
        matches!(self, Profile::Calico)
    }

    /// Parses a profile name.
    pub fn parse(s: &str) -> Option<Profile> {
        Profile::ALL.into_iter().find(|p| p.to_string() == s)
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Profile::Generic => "generic",
            Profile::Calico => "calico",
            Profile::Cilium => "cilium",
            Profile::Antrea => "antrea",
            Profile::Flannel => "flannel",
            Profile::Weave => "weave",
        })
    }
}
