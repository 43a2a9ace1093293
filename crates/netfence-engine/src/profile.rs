//! CNI capability profiles: what the cluster's network plugin enforces and how.

use std::fmt;

/// The CNI profile the analysis assumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// Upstream NetworkPolicy semantics; an ipBlock never matches pod IPs (as netpol-analyzer
    /// and Cilium assume).
    #[default]
    Generic,
    /// Calico: ipBlock is translated to `nets`, which match pod IPs too.
    Calico,
    /// Cilium: NetworkPolicies, CiliumNetworkPolicies and CiliumClusterwideNetworkPolicies in
    /// one repository (deny wins, L7 through Envoy, `toFQDNs`); ipBlock never matches pods;
    /// AdminNetworkPolicy is not implemented.
    Cilium,
}

impl Profile {
    /// Whether NetworkPolicy `ipBlock` peers match the IPs of pods.
    pub fn ipblock_matches_pod_ips(self) -> bool {
        matches!(self, Profile::Calico)
    }

    /// Whether AdminNetworkPolicy and BaselineAdminNetworkPolicy are enforced.
    pub fn enforces_admin_policies(self) -> bool {
        !matches!(self, Profile::Cilium)
    }

    /// Whether Cilium's own policies are enforced.
    pub fn enforces_cilium_policies(self) -> bool {
        matches!(self, Profile::Cilium)
    }

    /// Parses a profile name.
    pub fn parse(s: &str) -> Option<Profile> {
        match s {
            "generic" => Some(Profile::Generic),
            "calico" => Some(Profile::Calico),
            "cilium" => Some(Profile::Cilium),
            _ => None,
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Profile::Generic => "generic",
            Profile::Calico => "calico",
            Profile::Cilium => "cilium",
        })
    }
}
