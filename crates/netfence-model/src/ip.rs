//! IP address sets as sorted disjoint intervals, one list per address family.
//!
//! `ipBlock {cidr, except}` becomes `cidr - except...`; external endpoints are the disjoint
//! ranges obtained by cutting the address space at every boundary a policy mentions.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

type Intervals = Vec<(u128, u128)>;

const V4_MAX: u128 = u32::MAX as u128;

/// A set of IPv4 and IPv6 addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct IpSet {
    v4: Intervals,
    v6: Intervals,
}

/// One contiguous range of addresses of one family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IpRange {
    /// Whether this is an IPv6 range.
    pub v6: bool,
    /// First address (IPv4 in the low 32 bits).
    pub lo: u128,
    /// Last address, inclusive.
    pub hi: u128,
}

/// A CIDR that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CidrError(pub String);

impl fmt::Display for CidrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid CIDR `{}`", self.0)
    }
}

fn normalize(mut v: Intervals) -> Intervals {
    v.sort_unstable();
    let mut out: Intervals = Vec::with_capacity(v.len());
    for (lo, hi) in v {
        match out.last_mut() {
            Some(last) if last.1 == u128::MAX || lo <= last.1 + 1 => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

fn subtract(a: &Intervals, b: &Intervals) -> Intervals {
    let mut out = Vec::new();
    for &(lo, hi) in a {
        let mut cur = Some(lo);
        for &(b0, b1) in b {
            let Some(c) = cur else { break };
            if b1 < c || b0 > hi {
                continue;
            }
            if b0 > c {
                out.push((c, b0 - 1));
            }
            cur = if b1 >= hi { None } else { Some(b1 + 1) };
        }
        if let Some(c) = cur {
            out.push((c, hi));
        }
    }
    out
}

fn intersect(a: &Intervals, b: &Intervals) -> Intervals {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while let (Some(&(a0, a1)), Some(&(b0, b1))) = (a.get(i), b.get(j)) {
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
    out
}

/// Why CIDR `s` is not canonical, when it is not: host bits set (`10.1.2.3/8`, which is
/// `10.0.0.0/8`) or a prefix length with a leading zero (`10.0.0.0/08`). The strict form
/// network-policy-api's CEL rules (`cidr(self) == cidr(self).masked()`) and Kubernetes 1.36's
/// API validation (KEP-4858) ask for. `None` also for text that is no CIDR at all.
pub fn cidr_not_canonical(s: &str) -> Option<String> {
    let (addr, len) = s.split_once('/')?;
    let ip: IpAddr = addr.parse().ok()?;
    let bits: u32 = len.parse().ok()?;
    if len.len() > 1 && len.starts_with('0') {
        return Some(format!("the prefix length `{len}` has a leading zero"));
    }
    let masked = match ip {
        IpAddr::V4(a) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            IpAddr::V4((u32::from(a) & mask).into())
        }
        IpAddr::V6(a) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            IpAddr::V6((u128::from(a) & mask).into())
        }
        _ => return None,
    };
    (masked != ip).then(|| format!("host bits are set: the network is {masked}/{bits}"))
}

impl IpSet {
    /// No address.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Every IPv4 address (`0.0.0.0/0`).
    pub fn all_v4() -> Self {
        Self {
            v4: vec![(0, V4_MAX)],
            v6: Vec::new(),
        }
    }

    /// Every IPv6 address (`::/0`).
    pub fn all_v6() -> Self {
        Self {
            v4: Vec::new(),
            v6: vec![(0, u128::MAX)],
        }
    }

    /// One address.
    pub fn from_ip(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(a) => {
                let x = u128::from(u32::from(a));
                Self {
                    v4: vec![(x, x)],
                    v6: Vec::new(),
                }
            }
            IpAddr::V6(a) => {
                let x = u128::from(a);
                Self {
                    v4: Vec::new(),
                    v6: vec![(x, x)],
                }
            }
        }
    }

    /// Parses `a.b.c.d/n` or `x::/n` (a bare address is a host route).
    pub fn parse_cidr(s: &str) -> Result<Self, CidrError> {
        let err = || CidrError(s.to_string());
        let (addr, len) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l.parse::<u32>().map_err(|_| err())?)),
            None => (s, None),
        };
        let ip: IpAddr = addr.parse().map_err(|_| err())?;
        match ip {
            IpAddr::V4(a) => {
                let len = len.unwrap_or(32);
                if len > 32 {
                    return Err(err());
                }
                let base = u128::from(u32::from(a));
                let size = 1u128 << (32 - len);
                let lo = base & !(size - 1);
                Ok(Self {
                    v4: vec![(lo, lo + size - 1)],
                    v6: Vec::new(),
                })
            }
            IpAddr::V6(a) => {
                let len = len.unwrap_or(128);
                if len > 128 {
                    return Err(err());
                }
                let base = u128::from(a);
                let mask = if len == 0 {
                    0
                } else {
                    u128::MAX << (128 - len)
                };
                let lo = base & mask;
                Ok(Self {
                    v4: Vec::new(),
                    v6: vec![(lo, lo | !mask)],
                })
            }
        }
    }

    /// Whether the set holds no address.
    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }

    /// Whether `ip` is in the set.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let (list, x) = match ip {
            IpAddr::V4(a) => (&self.v4, u128::from(u32::from(a))),
            IpAddr::V6(a) => (&self.v6, u128::from(a)),
        };
        list.iter().any(|&(lo, hi)| lo <= x && x <= hi)
    }

    /// The union.
    pub fn union(&self, other: &IpSet) -> IpSet {
        let mut v4 = self.v4.clone();
        v4.extend_from_slice(&other.v4);
        let mut v6 = self.v6.clone();
        v6.extend_from_slice(&other.v6);
        IpSet {
            v4: normalize(v4),
            v6: normalize(v6),
        }
    }

    /// The addresses of `self` not in `other`.
    pub fn subtract(&self, other: &IpSet) -> IpSet {
        IpSet {
            v4: subtract(&self.v4, &other.v4),
            v6: subtract(&self.v6, &other.v6),
        }
    }

    /// The intersection.
    pub fn intersect(&self, other: &IpSet) -> IpSet {
        IpSet {
            v4: intersect(&self.v4, &other.v4),
            v6: intersect(&self.v6, &other.v6),
        }
    }

    /// Whether every address of `self` is in `other`.
    pub fn is_subset(&self, other: &IpSet) -> bool {
        self.subtract(other).is_empty()
    }

    /// Whether the range is wholly inside the set.
    pub fn contains_range(&self, r: &IpRange) -> bool {
        let list = if r.v6 { &self.v6 } else { &self.v4 };
        list.iter().any(|&(lo, hi)| lo <= r.lo && r.hi <= hi)
    }

    /// Whether the set has IPv6 addresses.
    pub fn has_v6(&self) -> bool {
        !self.v6.is_empty()
    }

    /// The contiguous ranges of the set.
    pub fn ranges(&self) -> Vec<IpRange> {
        self.v4
            .iter()
            .map(|&(lo, hi)| IpRange { v6: false, lo, hi })
            .chain(self.v6.iter().map(|&(lo, hi)| IpRange { v6: true, lo, hi }))
            .collect()
    }

    /// Cuts `universe` at every boundary of every set in `parts`, returning contiguous ranges that
    /// no part splits: each range is either inside or outside every part.
    pub fn disjoint_ranges<'a>(
        universe: &IpSet,
        parts: impl IntoIterator<Item = &'a IpSet>,
    ) -> Vec<IpRange> {
        let mut cuts4: Vec<u128> = Vec::new();
        let mut cuts6: Vec<u128> = Vec::new();
        for p in parts {
            for &(lo, hi) in &p.v4 {
                cuts4.push(lo);
                if hi < V4_MAX {
                    cuts4.push(hi + 1);
                }
            }
            for &(lo, hi) in &p.v6 {
                cuts6.push(lo);
                if hi < u128::MAX {
                    cuts6.push(hi + 1);
                }
            }
        }
        cuts4.sort_unstable();
        cuts4.dedup();
        cuts6.sort_unstable();
        cuts6.dedup();
        let mut out = Vec::new();
        for (list, cuts, v6) in [(&universe.v4, &cuts4, false), (&universe.v6, &cuts6, true)] {
            for &(lo, hi) in list {
                let mut start = lo;
                let first = cuts.partition_point(|&c| c <= lo);
                for &c in cuts.iter().skip(first) {
                    if c > hi {
                        break;
                    }
                    out.push(IpRange {
                        v6,
                        lo: start,
                        hi: c - 1,
                    });
                    start = c;
                }
                out.push(IpRange { v6, lo: start, hi });
            }
        }
        out
    }
}

impl IpRange {
    /// The range as a set.
    pub fn to_set(&self) -> IpSet {
        if self.v6 {
            IpSet {
                v4: Vec::new(),
                v6: vec![(self.lo, self.hi)],
            }
        } else {
            IpSet {
                v4: vec![(self.lo, self.hi)],
                v6: Vec::new(),
            }
        }
    }

    fn addr(&self, x: u128) -> IpAddr {
        if self.v6 {
            IpAddr::V6(Ipv6Addr::from(x))
        } else {
            IpAddr::V4(Ipv4Addr::from(x as u32))
        }
    }

    /// The first address.
    pub fn first(&self) -> IpAddr {
        self.addr(self.lo)
    }

    /// The last address.
    pub fn last(&self) -> IpAddr {
        self.addr(self.hi)
    }
}

impl fmt::Display for IpRange {
    /// `first-last`, as netpol-analyzer prints external ranges.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.first(), self.last())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn canonical_cidrs() {
        assert_eq!(cidr_not_canonical("10.0.0.0/8"), None);
        assert!(cidr_not_canonical("10.1.2.3/8")
            .unwrap()
            .contains("10.0.0.0/8"));
        assert!(cidr_not_canonical("10.0.0.0/08")
            .unwrap()
            .contains("leading zero"));
        assert_eq!(cidr_not_canonical("0.0.0.0/0"), None);
        assert_eq!(cidr_not_canonical("192.168.0.5/32"), None);
        assert!(cidr_not_canonical("192.168.0.5/24").is_some());
        assert_eq!(cidr_not_canonical("2001:db8::/32"), None);
        assert!(cidr_not_canonical("2001:db8::1/32").is_some());
        assert_eq!(cidr_not_canonical("nonsense"), None);
    }

    use super::*;
    use proptest::prelude::*;

    #[test]
    fn except_cuts_holes() {
        let block = IpSet::parse_cidr("10.0.0.0/8")
            .unwrap()
            .subtract(&IpSet::parse_cidr("10.10.0.0/16").unwrap());
        assert!(block.contains("10.9.255.255".parse().unwrap()));
        assert!(!block.contains("10.10.1.1".parse().unwrap()));
        assert!(block.contains("10.11.0.0".parse().unwrap()));
    }

    #[test]
    fn disjoint_ranges_cut_at_every_boundary() {
        let block = IpSet::parse_cidr("10.0.0.0/8")
            .unwrap()
            .subtract(&IpSet::parse_cidr("10.10.0.0/16").unwrap());
        let got: Vec<String> = IpSet::disjoint_ranges(&IpSet::all_v4(), [&block])
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            got,
            [
                "0.0.0.0-9.255.255.255",
                "10.0.0.0-10.9.255.255",
                "10.10.0.0-10.10.255.255",
                "10.11.0.0-10.255.255.255",
                "11.0.0.0-255.255.255.255"
            ]
        );
    }

    #[test]
    fn bad_cidrs_are_rejected() {
        for s in ["10.0.0.0/33", "banana", "10.0.0/8", "::/129"] {
            assert!(IpSet::parse_cidr(s).is_err(), "{s}");
        }
    }

    #[test]
    fn v6_does_not_match_v4() {
        let all6 = IpSet::parse_cidr("::/0").unwrap();
        assert!(!all6.contains("1.2.3.4".parse().unwrap()));
        assert!(all6.contains("2001:db8::1".parse().unwrap()));
    }

    proptest! {
        /// Every disjoint range is either inside or outside each part.
        #[test]
        fn disjoint_ranges_never_split_a_part(
            cidrs in proptest::collection::vec((any::<u32>(), 0u32..=32), 1..5)
        ) {
            let parts: Vec<IpSet> = cidrs
                .iter()
                .map(|(a, l)| IpSet::parse_cidr(&format!("{}/{}", Ipv4Addr::from(*a), l)).unwrap())
                .collect();
            let ranges = IpSet::disjoint_ranges(&IpSet::all_v4(), parts.iter());
            let mut covered = IpSet::empty();
            for r in &ranges {
                covered = covered.union(&r.to_set());
                for p in &parts {
                    let inter = r.to_set().intersect(p);
                    prop_assert!(inter.is_empty() || p.contains_range(r));
                }
            }
            prop_assert_eq!(covered, IpSet::all_v4());
        }
    }
}
