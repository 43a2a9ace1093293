//! The two ends of a flow as commands name them: `namespace/name` of a workload or pod, or an
//! IP address (standing for the external range that holds it).

#![expect(
    clippy::indexing_slicing,
    reason = "endpoint, class, rule and flow ids index the cluster and tables they were built from"
)]
use std::net::IpAddr;

use anyhow::{anyhow, bail, Result};
use netfence_engine::Peer;
use netfence_model::{Cluster, Entity, IpRange};

/// A workload, or an external range.
pub(crate) enum End {
    Endpoint(usize),
    Ip(IpRange),
    /// A Cilium reserved entity (`world`, `kube-apiserver`, `host`, ...).
    Entity(Entity),
    /// An external destination by DNS name (`fqdn:api.stripe.com`).
    Fqdn(String),
}

impl End {
    pub(crate) fn peer<'x>(&'x self, c: &'x Cluster) -> Peer<'x> {
        match self {
            End::Endpoint(i) => Peer::Endpoint(&c.endpoints[*i]),
            End::Ip(r) => Peer::Ip(r),
            End::Entity(e) => Peer::Entity(*e),
            End::Fqdn(name) => Peer::Fqdn { name, ip: None },
        }
    }

    pub(crate) fn name(&self, c: &Cluster) -> String {
        match self {
            End::Endpoint(i) => c.endpoints[*i].display_name(),
            End::Ip(r) => format!("{r}[External]"),
            End::Entity(e) => format!("{e}[Entity]"),
            End::Fqdn(name) => format!("{name}[FQDN]"),
        }
    }
}

/// Every end `s` names (a bare name may name workloads of several namespaces).
pub(crate) fn named(c: &Cluster, s: &str, ranges: &[IpRange]) -> Result<Vec<End>> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        let r = ranges
            .iter()
            .find(|r| r.to_set().contains(ip))
            .copied()
            .ok_or_else(|| anyhow!("no external range holds `{s}`"))?;
        return Ok(vec![End::Ip(r)]);
    }
    if let Some(name) = s.strip_prefix("fqdn:") {
        let pat = netfence_model::FqdnPattern::new(name, true);
        if let Some(e) = netfence_model::l7::fqdn_pattern_error(&pat.pattern, true) {
            bail!("`{s}`: {e}");
        }
        return Ok(vec![End::Fqdn(pat.pattern)]);
    }
    let found = c.find_endpoint(s);
    if found.is_empty() {
        if let Some(e) = Entity::parse(s.strip_prefix("entity:").unwrap_or(s)) {
            return Ok(vec![End::Entity(e)]);
        }
        bail!("no workload or pod `{s}` in the input (use namespace/name, an IP address, fqdn:NAME or an entity such as world or kube-apiserver)");
    }
    Ok(found.into_iter().map(End::Endpoint).collect())
}

/// The one end `s` names.
pub(crate) fn one(c: &Cluster, s: &str, ranges: &[IpRange]) -> Result<End> {
    let mut v = named(c, s, ranges)?;
    if v.len() > 1 {
        let names: Vec<String> = v.iter().map(|e| e.name(c)).collect();
        bail!("`{s}` is ambiguous: {}", names.join(", "));
    }
    v.pop().ok_or_else(|| anyhow!("no workload or pod `{s}`"))
}
