//! Symbolic connection sets: per protocol, sorted disjoint port intervals plus named ports that
//! could not be resolved to a number (rendered by name, as netpol-analyzer does).

use std::collections::BTreeSet;
use std::fmt;

/// The lowest port a policy can name.
pub const MIN_PORT: u16 = 1;
/// The highest port.
pub const MAX_PORT: u16 = 65535;

/// A protocol a policy can match: the port protocols NetworkPolicy names (TCP, UDP, SCTP),
/// and ICMP for IPv4 and IPv6 (Cilium `icmps`, Calico `protocol: ICMP`), whose "ports" are
/// ICMP types (see [`PortSet::icmp_types`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// ICMP (IPv4).
    Icmp,
    /// ICMPv6.
    IcmpV6,
    /// SCTP.
    Sctp,
    /// TCP (the default everywhere).
    Tcp,
    /// UDP.
    Udp,
}

impl Protocol {
    /// All protocols, in the alphabetical order outputs use.
    pub const ALL: [Protocol; 5] = [
        Protocol::Icmp,
        Protocol::IcmpV6,
        Protocol::Sctp,
        Protocol::Tcp,
        Protocol::Udp,
    ];

    /// The protocols with ports (what NetworkPolicy's `protocol` names).
    pub const PORTS: [Protocol; 3] = [Protocol::Sctp, Protocol::Tcp, Protocol::Udp];

    /// Whether it is ICMP (either family), whose set holds types, not ports.
    pub fn is_icmp(self) -> bool {
        matches!(self, Protocol::Icmp | Protocol::IcmpV6)
    }

    /// Parses a protocol of a query or a test (`TCP`, `UDP`, `SCTP`, `ICMP`, `ICMPv6`),
    /// case-insensitively; [`Protocol::parse`] is for manifests' port protocols.
    pub fn parse_any(s: &str) -> Option<Protocol> {
        match s.to_ascii_uppercase().as_str() {
            "ICMP" | "ICMPV4" => Some(Protocol::Icmp),
            "ICMPV6" => Some(Protocol::IcmpV6),
            _ => Protocol::parse(s),
        }
    }

    /// The upper-case name used in manifests and outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Icmp => "ICMP",
            Protocol::IcmpV6 => "ICMPv6",
            Protocol::Sctp => "SCTP",
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
        }
    }

    /// Parses a port protocol name (TCP, UDP, SCTP), case-insensitively.
    pub fn parse(s: &str) -> Option<Protocol> {
        match s.to_ascii_uppercase().as_str() {
            "TCP" => Some(Protocol::Tcp),
            "UDP" => Some(Protocol::Udp),
            "SCTP" => Some(Protocol::Sctp),
            _ => None,
        }
    }

    fn index(self) -> usize {
        match self {
            Protocol::Icmp => 0,
            Protocol::IcmpV6 => 1,
            Protocol::Sctp => 2,
            Protocol::Tcp => 3,
            Protocol::Udp => 4,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of ports of one protocol: disjoint, sorted, non-adjacent inclusive intervals, plus
/// port names that are kept symbolic because the receiving pod is unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PortSet {
    ranges: Vec<(u16, u16)>,
    names: BTreeSet<String>,
}

impl PortSet {
    /// The empty set.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Every port.
    pub fn all() -> Self {
        Self {
            ranges: vec![(MIN_PORT, MAX_PORT)],
            names: BTreeSet::new(),
        }
    }

    /// The inclusive range `lo..=hi` (empty when `lo > hi`).
    pub fn range(lo: u16, hi: u16) -> Self {
        let lo = lo.max(MIN_PORT);
        if lo > hi {
            return Self::empty();
        }
        Self {
            ranges: vec![(lo, hi)],
            names: BTreeSet::new(),
        }
    }

    /// ICMP types `lo..=hi` as an ICMP protocol's set: type `t` is held as `t + 1`, since sets
    /// start at port 1 and ICMP types at 0 (echo reply).
    pub fn icmp_types(lo: u8, hi: u8) -> Self {
        Self::range(u16::from(lo) + 1, u16::from(hi) + 1)
    }

    /// The probe "port" of ICMP type `t`: what a flow of that type is evaluated as.
    pub fn icmp_probe(t: u8) -> u16 {
        u16::from(t) + 1
    }

    /// The ICMP types of an ICMP protocol's set, as inclusive ranges (see
    /// [`PortSet::icmp_types`]).
    pub fn icmp_type_ranges(&self) -> Vec<(u8, u8)> {
        self.ranges
            .iter()
            .filter(|&&(lo, _)| lo <= 256)
            .map(|&(lo, hi)| {
                let t = |p: u16| u8::try_from(p.saturating_sub(1).min(255)).unwrap_or(u8::MAX);
                (t(lo), t(hi.min(256)))
            })
            .collect()
    }

    /// Whether an ICMP protocol's set holds every type.
    pub fn has_every_icmp_type(&self) -> bool {
        self.ranges
            .first()
            .is_some_and(|&(lo, hi)| lo == 1 && hi >= 256)
    }

    /// A single named port.
    pub fn named(name: &str) -> Self {
        Self {
            ranges: Vec::new(),
            names: BTreeSet::from([name.to_string()]),
        }
    }

    /// The numeric intervals.
    pub fn ranges(&self) -> &[(u16, u16)] {
        &self.ranges
    }

    /// The symbolic port names.
    pub fn names(&self) -> &BTreeSet<String> {
        &self.names
    }

    /// Whether nothing is in the set.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty() && self.names.is_empty()
    }

    /// Whether every numbered port is in the set.
    pub fn is_all(&self) -> bool {
        self.ranges == [(MIN_PORT, MAX_PORT)]
    }

    /// Whether `port` is in the set.
    pub fn contains(&self, port: u16) -> bool {
        self.ranges.iter().any(|&(lo, hi)| lo <= port && port <= hi)
    }

    fn normalize(mut v: Vec<(u16, u16)>) -> Vec<(u16, u16)> {
        v.sort_unstable();
        let mut out: Vec<(u16, u16)> = Vec::with_capacity(v.len());
        for (lo, hi) in v {
            match out.last_mut() {
                Some(last) if u32::from(lo) <= u32::from(last.1) + 1 => last.1 = last.1.max(hi),
                _ => out.push((lo, hi)),
            }
        }
        out
    }

    /// The union of two sets.
    pub fn union(&self, other: &PortSet) -> PortSet {
        if other.is_empty() {
            return self.clone();
        }
        if self.is_empty() {
            return other.clone();
        }
        let mut v = self.ranges.clone();
        v.extend_from_slice(&other.ranges);
        PortSet {
            ranges: Self::normalize(v),
            names: self.names.union(&other.names).cloned().collect(),
        }
    }

    /// The intersection of two sets (names intersect by name).
    pub fn intersect(&self, other: &PortSet) -> PortSet {
        let mut out = Vec::new();
        let (mut i, mut j) = (0, 0);
        while let (Some(&(a0, a1)), Some(&(b0, b1))) = (self.ranges.get(i), other.ranges.get(j)) {
            let lo = a0.max(b0);
            let hi = a1.min(b1);
            if lo <= hi {
                out.push((lo, hi));
            }
            if a1 < b1 {
                i += 1;
            } else {
                j += 1;
            }
        }
        // A symbolic name survives an intersection with a set holding every number: the name
        // stands for some number of the unknown receiver.
        let mut names: BTreeSet<String> = self.names.intersection(&other.names).cloned().collect();
        if other.is_all() {
            names.extend(self.names.iter().cloned());
        }
        if self.is_all() {
            names.extend(other.names.iter().cloned());
        }
        PortSet { ranges: out, names }
    }

    /// The ports of `self` not in `other` (names removed by name, or all by a full set).
    pub fn subtract(&self, other: &PortSet) -> PortSet {
        let mut out = Vec::new();
        for &(lo, hi) in &self.ranges {
            let mut cur = u32::from(lo);
            let hi = u32::from(hi);
            for &(b0, b1) in &other.ranges {
                let (b0, b1) = (u32::from(b0), u32::from(b1));
                if b1 < cur || b0 > hi {
                    continue;
                }
                if b0 > cur {
                    out.push((cur as u16, (b0 - 1) as u16));
                }
                cur = b1 + 1;
                if cur > hi {
                    break;
                }
            }
            if cur <= hi {
                out.push((cur as u16, hi as u16));
            }
        }
        let names = if other.is_all() {
            BTreeSet::new()
        } else {
            self.names.difference(&other.names).cloned().collect()
        };
        PortSet { ranges: out, names }
    }

    /// Whether every port of `self` is in `other`.
    pub fn is_subset(&self, other: &PortSet) -> bool {
        self.subtract(other).is_empty()
    }
}

/// `lo` alone, or `lo-hi`.
fn range_text<T: fmt::Display + PartialEq>(lo: T, hi: T) -> String {
    if lo == hi {
        lo.to_string()
    } else {
        format!("{lo}-{hi}")
    }
}

impl fmt::Display for PortSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = self
            .ranges
            .iter()
            .map(|&(lo, hi)| range_text(lo, hi))
            .collect();
        parts.extend(self.names.iter().cloned());
        f.write_str(&parts.join(","))
    }
}

/// The connections allowed between two endpoints: a [`PortSet`] per protocol, plus port names
/// whose protocol is not known (an ANP `namedPort` towards an unknown pod).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ConnSet {
    ports: [PortSet; 5],
    any_protocol_names: BTreeSet<String>,
}

impl ConnSet {
    /// No connection.
    pub fn none() -> Self {
        Self::default()
    }

    /// Every protocol, every port.
    pub fn all() -> Self {
        Self {
            ports: [
                PortSet::all(),
                PortSet::all(),
                PortSet::all(),
                PortSet::all(),
                PortSet::all(),
            ],
            any_protocol_names: BTreeSet::new(),
        }
    }

    /// A named port of a pod not known, on whatever protocol that pod declares.
    pub fn named_any_protocol(name: &str) -> Self {
        Self {
            ports: Default::default(),
            any_protocol_names: BTreeSet::from([name.to_string()]),
        }
    }

    /// The given ports of one protocol.
    pub fn single(protocol: Protocol, ports: PortSet) -> Self {
        let mut c = Self::none();
        if let Some(slot) = c.ports.get_mut(protocol.index()) {
            *slot = ports;
        }
        c
    }

    /// The port set of one protocol.
    pub fn ports(&self, protocol: Protocol) -> &PortSet {
        static EMPTY: PortSet = PortSet {
            ranges: Vec::new(),
            names: BTreeSet::new(),
        };
        self.ports.get(protocol.index()).unwrap_or(&EMPTY)
    }

    /// Every connection of the port protocols (TCP, UDP, SCTP), and no ICMP.
    pub fn all_ports() -> Self {
        Self::all().with_icmp(PortSet::empty())
    }

    /// The set with `types` as the ICMP types of both families.
    fn with_icmp(mut self, types: PortSet) -> Self {
        for p in [Protocol::Icmp, Protocol::IcmpV6] {
            if let Some(slot) = self.ports.get_mut(p.index()) {
                *slot = types.clone();
            }
        }
        self
    }

    /// Whether every port of TCP, UDP and SCTP is in the set (whatever its ICMP).
    pub fn has_every_port(&self) -> bool {
        Protocol::PORTS.iter().all(|p| self.ports(*p).is_all())
    }

    /// The set as a description of the port protocols only, as netpol-analyzer describes
    /// connections: its ICMP becomes every type when every port is in the set (so that it
    /// reads `All Connections`), none otherwise. A description, not ICMP's verdict.
    pub fn ports_view(&self) -> ConnSet {
        let icmp = if self.has_every_port() {
            PortSet::all()
        } else {
            PortSet::empty()
        };
        self.clone().with_icmp(icmp)
    }

    /// Whether no connection is allowed.
    pub fn is_empty(&self) -> bool {
        self.ports.iter().all(PortSet::is_empty) && self.any_protocol_names.is_empty()
    }

    /// Whether every protocol and port is allowed.
    pub fn is_all(&self) -> bool {
        self.ports.iter().all(PortSet::is_all)
    }

    /// Whether `port` of `protocol` is allowed.
    pub fn contains(&self, protocol: Protocol, port: u16) -> bool {
        self.ports(protocol).contains(port)
    }

    fn zip(
        &self,
        other: &ConnSet,
        f: impl Fn(&PortSet, &PortSet) -> PortSet,
        names: impl Fn(&BTreeSet<String>, &BTreeSet<String>) -> BTreeSet<String>,
    ) -> ConnSet {
        ConnSet {
            ports: [
                f(&self.ports[0], &other.ports[0]),
                f(&self.ports[1], &other.ports[1]),
                f(&self.ports[2], &other.ports[2]),
                f(&self.ports[3], &other.ports[3]),
                f(&self.ports[4], &other.ports[4]),
            ],
            any_protocol_names: names(&self.any_protocol_names, &other.any_protocol_names),
        }
    }

    /// The union.
    pub fn union(&self, other: &ConnSet) -> ConnSet {
        if self.is_all() || other.is_empty() {
            return self.clone();
        }
        if other.is_all() || self.is_empty() {
            return other.clone();
        }
        self.zip(other, PortSet::union, |a, b| a.union(b).cloned().collect())
    }

    /// Adds `other` into `self`.
    pub fn add(&mut self, other: &ConnSet) {
        if !other.is_empty() && !self.is_all() {
            *self = self.union(other);
        }
    }

    /// The intersection.
    pub fn intersect(&self, other: &ConnSet) -> ConnSet {
        if self.is_all() {
            return other.clone();
        }
        if other.is_all() {
            return self.clone();
        }
        if self.is_empty() || other.is_empty() {
            return ConnSet::none();
        }
        self.zip(other, PortSet::intersect, |a, b| {
            a.intersection(b).cloned().collect()
        })
    }

    /// The difference `self - other`.
    pub fn subtract(&self, other: &ConnSet) -> ConnSet {
        if other.is_empty() {
            return self.clone();
        }
        let all = other.is_all();
        self.zip(other, PortSet::subtract, |a, b| {
            if all {
                BTreeSet::new()
            } else {
                a.difference(b).cloned().collect()
            }
        })
    }

    /// Whether every connection of `self` is in `other`.
    pub fn is_subset(&self, other: &ConnSet) -> bool {
        self.ports
            .iter()
            .zip(other.ports.iter())
            .all(|(a, b)| a.is_subset(b))
            && (other.is_all() || self.any_protocol_names.is_subset(&other.any_protocol_names))
    }
}

impl fmt::Display for ConnSet {
    /// `All Connections`, `No Connections`, or `ICMP type 8,SCTP 1-9002,TCP 8080,UDP 53`
    /// (`ICMP` alone: every type).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_all() {
            return f.write_str("All Connections");
        }
        if self.is_empty() {
            return f.write_str("No Connections");
        }
        let mut parts: Vec<String> = Protocol::ALL
            .iter()
            .filter(|p| !self.ports(**p).is_empty())
            .map(|p| {
                let set = self.ports(*p);
                if !p.is_icmp() {
                    return format!("{p} {set}");
                }
                // ICMP: every type, or the types
                if set.has_every_icmp_type() {
                    return p.to_string();
                }
                let types: Vec<String> = set
                    .icmp_type_ranges()
                    .iter()
                    .map(|&(lo, hi)| range_text(lo, hi))
                    .collect();
                format!("{p} type {}", types.join(","))
            })
            .collect();
        parts.extend(self.any_protocol_names.iter().cloned());
        f.write_str(&parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn renders_like_netpol_analyzer() {
        let c = ConnSet::single(Protocol::Udp, PortSet::range(53, 53))
            .union(&ConnSet::single(Protocol::Tcp, PortSet::range(8080, 8080)))
            .union(&ConnSet::single(
                Protocol::Sctp,
                PortSet::all().subtract(&PortSet::range(9003, 9003)),
            ));
        assert_eq!(c.to_string(), "SCTP 1-9002,9004-65535,TCP 8080,UDP 53");
        assert_eq!(ConnSet::all().to_string(), "All Connections");
        assert_eq!(ConnSet::none().to_string(), "No Connections");
        let named = ConnSet::single(Protocol::Tcp, PortSet::named("http"));
        assert_eq!(named.to_string(), "TCP http");
    }

    #[test]
    fn adjacent_ranges_merge() {
        let p = PortSet::range(1, 10).union(&PortSet::range(11, 20));
        assert_eq!(p.ranges(), &[(1, 20)]);
    }

    fn arb_ports() -> impl Strategy<Value = Vec<(u16, u16)>> {
        proptest::collection::vec((1u16..60, 0u16..8), 0..5)
            .prop_map(|v| v.into_iter().map(|(lo, len)| (lo, lo + len)).collect())
    }

    fn build(v: &[(u16, u16)]) -> PortSet {
        v.iter().fold(PortSet::empty(), |acc, &(lo, hi)| {
            acc.union(&PortSet::range(lo, hi))
        })
    }

    fn naive(v: &[(u16, u16)]) -> BTreeSet<u16> {
        v.iter().flat_map(|&(lo, hi)| lo..=hi).collect()
    }

    fn members(p: &PortSet) -> BTreeSet<u16> {
        p.ranges().iter().flat_map(|&(lo, hi)| lo..=hi).collect()
    }

    proptest! {
        /// Interval algebra agrees with a naive set of port numbers.
        #[test]
        fn port_set_algebra_matches_naive_sets(a in arb_ports(), b in arb_ports()) {
            let (pa, pb) = (build(&a), build(&b));
            let (na, nb) = (naive(&a), naive(&b));
            prop_assert_eq!(members(&pa.union(&pb)), na.union(&nb).copied().collect::<BTreeSet<_>>());
            prop_assert_eq!(members(&pa.intersect(&pb)), na.intersection(&nb).copied().collect::<BTreeSet<_>>());
            prop_assert_eq!(members(&pa.subtract(&pb)), na.difference(&nb).copied().collect::<BTreeSet<_>>());
            prop_assert_eq!(pa.is_subset(&pb), na.is_subset(&nb));
            // canonical: disjoint, sorted, non-adjacent
            for w in pa.union(&pb).ranges().windows(2) {
                prop_assert!(u32::from(w[0].1) + 1 < u32::from(w[1].0));
            }
        }
    }
}
