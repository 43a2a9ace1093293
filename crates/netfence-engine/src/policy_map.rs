//! An estimate of each endpoint's Cilium policy map size.
//!
//! Cilium keeps, per endpoint, one BPF policy map entry per allowed or denied
//! (identity, direction, protocol, port prefix). The map holds `bpf-policy-map-max` entries
//! (16,384 by default, at most 65,536); when a policy needs more, the agent fails to regenerate
//! the endpoint and its traffic is dropped (cilium issues #46189, #45788).
//!
//! The estimate, per endpoint and direction, sums over the rules that select it (Cilium rules
//! and NetworkPolicies, which Cilium translates) the identities its peers match times its port
//! entries:
//! - identities: the distinct identity label sets of the pods a peer selects (pods with equal
//!   labels, namespace labels and service account share one), plus one per CIDR block of a
//!   CIDR peer (Cilium allocates a local identity per prefix), one for `world`, one per
//!   reserved entity or node selector, and one per `toFQDNs` pattern (the addresses it will
//!   learn are unknown offline);
//! - port entries: one per port, one per power-of-two block of a port range, times three for
//!   protocol `ANY` (TCP, UDP, SCTP); a rule without ports is one wildcard entry.
//!
//! Known error: keys two rules share are counted twice (an over-estimate), and FQDN rules are
//! under-estimated (each learned address is an identity of its own).

#![expect(
    clippy::indexing_slicing,
    reason = "class and test ids index the tables they were built from"
)]

use netfence_model::{CiliumPeer, CiliumPeerRule, Entity, IpSet, NpPeer, NpRule, PortRef};

/// The Cilium agent's default `bpf-policy-map-max`.
pub const DEFAULT_POLICY_MAP_MAX: usize = 16_384;

/// How many aligned power-of-two blocks cover the ports `lo..=hi` (Cilium's port-prefix
/// entries for a range).
pub fn port_blocks(lo: u16, hi: u16) -> usize {
    let (mut lo, hi) = (u32::from(lo), u32::from(hi));
    let mut n = 0;
    while lo <= hi {
        let mut size = if lo == 0 {
            1 << 16
        } else {
            1 << lo.trailing_zeros()
        };
        while lo + size - 1 > hi {
            size >>= 1;
        }
        lo += size;
        n += 1;
    }
    n
}

/// How many CIDR prefixes make up `set` (each a Cilium CIDR identity).
pub fn cidr_blocks(set: &IpSet) -> usize {
    set.ranges()
        .iter()
        .map(|r| {
            let (mut lo, hi) = (r.lo, r.hi);
            let mut n = 0;
            while lo <= hi {
                let mut size: u128 = if lo == 0 {
                    1 << 127
                } else {
                    1 << lo.trailing_zeros().min(127)
                };
                while size > 1 && lo.checked_add(size - 1).is_none_or(|end| end > hi) {
                    size >>= 1;
                }
                n += 1;
                match lo.checked_add(size) {
                    Some(next) => lo = next,
                    None => break,
                }
            }
            n
        })
        .sum()
}

/// The port entries of a Cilium peer rule.
pub(crate) fn cilium_port_entries(rule: &CiliumPeerRule) -> usize {
    let Some(port_rules) = &rule.ports else {
        return 1;
    };
    let mut n = 0;
    for pr in port_rules {
        if pr.ports.is_empty() {
            n += 1;
            continue;
        }
        for p in &pr.ports {
            let protocols = if p.protocol.is_some() { 1 } else { 3 };
            let blocks = match (&p.port, p.end_port) {
                (Some(PortRef::Number(lo)), Some(hi)) if hi >= *lo => port_blocks(*lo, hi),
                _ => 1,
            };
            n += protocols * blocks;
        }
    }
    n.max(1)
}

/// The port entries of a NetworkPolicy rule.
pub(crate) fn np_port_entries(rule: &NpRule) -> usize {
    match &rule.ports {
        None => 1,
        Some(ports) => ports
            .iter()
            .map(|p| match (&p.port, p.end_port) {
                (Some(PortRef::Number(lo)), Some(hi)) if hi >= *lo => port_blocks(*lo, hi),
                _ => 1,
            })
            .sum::<usize>()
            .max(1),
    }
}

/// Identities a Cilium peer rule adds beyond the pods it selects.
pub(crate) fn cilium_extra_identities(rule: &CiliumPeerRule) -> usize {
    rule.peers
        .iter()
        .flatten()
        .map(|p| match p {
            CiliumPeer::Cidr(set) => cidr_blocks(set),
            CiliumPeer::Entity(Entity::All) => 4,
            CiliumPeer::Entity(Entity::Cluster) => 3,
            CiliumPeer::Entity(_) | CiliumPeer::Fqdn(_) | CiliumPeer::Nodes(_) => 1,
            CiliumPeer::Endpoints(_) | CiliumPeer::Service { .. } | CiliumPeer::CidrGroup(_) => 0,
        })
        .sum()
}

/// Identities a NetworkPolicy rule adds beyond the pods it selects (its ipBlocks).
pub(crate) fn np_extra_identities(rule: &NpRule) -> usize {
    rule.peers
        .iter()
        .flatten()
        .map(|p| match p {
            NpPeer::IpBlock { set, .. } => cidr_blocks(set),
            NpPeer::Pods { .. } => 0,
        })
        .sum()
}

/// An endpoint's estimated policy map entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyMapEstimate {
    /// The endpoint.
    pub endpoint: netfence_model::EndpointId,
    /// Estimated ingress entries.
    pub ingress: usize,
    /// Estimated egress entries.
    pub egress: usize,
}

impl PolicyMapEstimate {
    /// Both directions (one map holds both).
    pub fn total(&self) -> usize {
        self.ingress + self.egress
    }
}

/// The estimate for every endpoint of `cluster` the Cilium profile evaluates, largest first.
pub fn estimates(cluster: &netfence_model::Cluster) -> Vec<PolicyMapEstimate> {
    let ev = crate::eval::Evaluator::new(cluster, crate::profile::Profile::Cilium);
    let classes = crate::classes::Classes::with_facts(cluster, ev.facts());
    let map = crate::class_map::ClassMap::build(&ev, &classes);
    let mut out: Vec<PolicyMapEstimate> = map
        .policy_map_estimates()
        .into_iter()
        .flat_map(|(c, ingress, egress)| {
            classes.members[c as usize]
                .iter()
                .map(move |&endpoint| PolicyMapEstimate {
                    endpoint,
                    ingress,
                    egress,
                })
        })
        .filter(|e| e.total() > 0)
        .collect();
    out.sort_by_key(|e| (std::cmp::Reverse(e.total()), e.endpoint));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_ranges_take_one_entry_per_aligned_block() {
        assert_eq!(port_blocks(80, 80), 1);
        assert_eq!(port_blocks(8080, 8081), 1);
        assert_eq!(port_blocks(8000, 8100), 4); // 8000-63, 8064-95, 8096-99, 8100
        assert_eq!(port_blocks(1, 65535), 16);
        assert_eq!(port_blocks(0, 65535), 1);
    }

    #[test]
    fn cidrs_count_their_prefixes() {
        let all = IpSet::parse_cidr("0.0.0.0/0").unwrap_or_else(|_| IpSet::empty());
        assert_eq!(cidr_blocks(&all), 1);
        let one = IpSet::parse_cidr("10.0.0.0/8").unwrap_or_else(|_| IpSet::empty());
        assert_eq!(cidr_blocks(&one), 1);
        let except =
            one.subtract(&IpSet::parse_cidr("10.1.0.0/16").unwrap_or_else(|_| IpSet::empty()));
        assert_eq!(cidr_blocks(&except), 8, "10/8 minus 10.1/16 is 8 prefixes");
    }
}
