//! Builders for engine tests: clusters written as data, no YAML.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failed test"
)]
#![allow(dead_code)]

use netfence_model::cluster::NAMESPACE_NAME_LABEL;
use netfence_model::*;

pub fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub fn sel(pairs: &[(&str, &str)]) -> LabelSelector {
    LabelSelector::from_labels(pairs.iter().copied())
}

pub fn mk_ns(c: &mut Cluster, name: &str, pairs: &[(&str, &str)]) {
    let mut l = labels(pairs);
    l.insert(NAMESPACE_NAME_LABEL.into(), name.into());
    c.namespaces.insert(
        name.into(),
        Namespace {
            name: name.into(),
            labels: l,
            annotations: Default::default(),
            origin: None,
        },
    );
}

pub fn mk_pod(
    c: &mut Cluster,
    ns: &str,
    name: &str,
    pairs: &[(&str, &str)],
    ports: &[(&str, u16, Protocol)],
) -> usize {
    c.ensure_namespace(ns);
    c.endpoints.push(Endpoint {
        labels: labels(pairs),
        named_ports: ports
            .iter()
            .map(|(n, p, pr)| NamedPort {
                name: n.to_string(),
                port: *p,
                protocol: *pr,
            })
            .collect(),
        container_ports: ports.iter().map(|(_, p, pr)| (*p, *pr)).collect(),
        ..Endpoint::bare(ns, name, "Pod")
    });
    c.endpoints.len() - 1
}

pub fn pods(ns: Option<LabelSelector>, pods: Option<LabelSelector>) -> NpPeer {
    NpPeer::Pods {
        namespaces: ns,
        pods,
    }
}

pub fn ipblock(cidr: &str, except: &[&str]) -> NpPeer {
    let mut set = IpSet::parse_cidr(cidr).unwrap();
    for e in except {
        set = set.subtract(&IpSet::parse_cidr(e).unwrap());
    }
    NpPeer::IpBlock {
        set,
        cidr: cidr.into(),
        except: except.iter().map(|s| s.to_string()).collect(),
    }
}

pub fn port(protocol: Protocol, p: Option<PortRef>, end: Option<u16>) -> NpPort {
    NpPort {
        protocol,
        port: p,
        end_port: end,
    }
}

pub fn tcp(n: u16) -> NpPort {
    port(Protocol::Tcp, Some(PortRef::Number(n)), None)
}

pub fn rule(peers: Option<Vec<NpPeer>>, ports: Option<Vec<NpPort>>) -> NpRule {
    NpRule {
        peers,
        ports,
        line: None,
    }
}

pub fn mk_np(
    c: &mut Cluster,
    ns: &str,
    name: &str,
    pod_selector: LabelSelector,
    ingress: Option<Vec<NpRule>>,
    egress: Option<Vec<NpRule>>,
) {
    let _ = c.policies.add(NetworkPolicy {
        namespace: ns.into(),
        name: name.into(),
        pod_selector,
        ingress,
        egress,
        annotations: Default::default(),
        origin: Origin::default(),
    });
}
