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
        // as the data path resolves it: the pod that has it, a ClusterIP's backends, and only
        // otherwise the external range that holds it
        let pods: Vec<usize> = (0..c.endpoints.len())
            .filter(|&i| c.endpoints[i].ips.contains(&ip))
            .collect();
        if !pods.is_empty() {
            let names: Vec<String> = pods
                .iter()
                .map(|&i| c.endpoints[i].display_name())
                .collect();
            eprintln!("note: {s} is the address of {}", names.join(", "));
            return Ok(pods.into_iter().map(End::Endpoint).collect());
        }
        if let Some(svc) = service_of(c, ip) {
            let backends: Vec<usize> = (0..c.endpoints.len())
                .filter(|&i| svc.selects(&c.endpoints[i]))
                .collect();
            if backends.is_empty() {
                bail!(
                    "{s} is the ClusterIP of Service {}/{}, which selects no pod in the input: nothing answers there",
                    svc.namespace,
                    svc.name
                );
            }
            let names: Vec<String> = backends
                .iter()
                .map(|&i| c.endpoints[i].display_name())
                .collect();
            eprintln!(
                "note: {s} is the ClusterIP of Service {}/{}: judged at its backends after DNAT ({})",
                svc.namespace,
                svc.name,
                names.join(", ")
            );
            return Ok(backends.into_iter().map(End::Endpoint).collect());
        }
        if let Some(node) = c.nodes.iter().find(|n| n.addresses.contains(&ip)) {
            eprintln!(
                "note: {s} is an address of Node {}: judged as that address, as policies see a node",
                node.name
            );
        }
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

/// The Service whose ClusterIP is `ip`.
pub(crate) fn service_of(c: &Cluster, ip: IpAddr) -> Option<&netfence_model::Service> {
    c.services.iter().find(|s| s.cluster_ips.contains(&ip))
}

/// The port a connection to `to` on `port` reaches after DNAT, when `to` is a Service
/// ClusterIP: the Service port's target (a named target resolved on `backend`). An error when
/// the Service has no such port.
pub(crate) fn dnat_port(
    c: &Cluster,
    to: &str,
    protocol: netfence_model::Protocol,
    port: u16,
    backend: Option<&netfence_model::Endpoint>,
) -> Result<u16> {
    let Some(svc) = to.parse::<IpAddr>().ok().and_then(|ip| {
        // an address a pod holds is that pod, not a ClusterIP
        (!c.endpoints.iter().any(|e| e.ips.contains(&ip)))
            .then(|| service_of(c, ip))
            .flatten()
    }) else {
        return Ok(port);
    };
    let sp = svc
        .ports
        .iter()
        .find(|p| p.port == port && p.protocol == protocol)
        .ok_or_else(|| {
            anyhow!(
                "Service {}/{} has no port {protocol} {port}: a connection to its ClusterIP on it reaches no backend",
                svc.namespace,
                svc.name
            )
        })?;
    match &sp.target {
        netfence_model::PortRef::Number(n) => Ok(*n),
        netfence_model::PortRef::Name(name) => backend
            .and_then(|e| e.resolve_named_port(name, protocol))
            .ok_or_else(|| {
                anyhow!(
                    "Service {}/{} port {port} targets the named port `{name}`, which its backend does not declare",
                    svc.namespace,
                    svc.name
                )
            }),
    }
}
