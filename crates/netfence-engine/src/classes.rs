//! Equivalence classes of endpoints: endpoints no policy can tell apart (same namespace, same
//! labels, same named ports, addresses in the same cells of the address sets policies name,
//! and the facts the enforcing layers read besides) share every verdict, so analyses run once
//! per class.

use std::collections::HashMap;
use std::net::IpAddr;

use netfence_model::{Cluster, EndpointId, Labels, NamedPort};

/// Endpoints grouped into classes.
#[derive(Debug, Clone)]
pub struct Classes {
    /// For each class, its member endpoints (the first is the representative).
    pub members: Vec<Vec<EndpointId>>,
    /// For each endpoint, its class.
    pub class_of: Vec<usize>,
    /// For each namespace, the classes in it.
    pub by_namespace: HashMap<String, Vec<usize>>,
}

/// Facts of an endpoint beyond namespace, labels, named ports, IPs and host networking that
/// some layer reads: each layer declares its own (see `Evaluator::facts`), so a class never
/// holds two endpoints a layer tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Facts {
    /// The service account (Cilium identities, Calico `serviceAccounts`, Istio principals).
    pub service_account: bool,
    /// The node IP of a host-network pod (Calico sees such a pod as its node's address).
    pub host_ip: bool,
    /// The pod's `sidecar.istio.io/inject` annotation (Istio sidecar injection).
    pub inject: bool,
}

impl Facts {
    /// The facts any layer could read of `cluster`'s endpoints, whatever the profile: the
    /// service account only when a policy that reads it exists.
    pub fn any_layer(cluster: &Cluster) -> Facts {
        Facts {
            service_account: !cluster.policies.cilium_policies().is_empty()
                || !cluster.policies.calico_policies().is_empty()
                || !cluster.policies.authorization_policies().is_empty()
                || !cluster.policies.peer_authentications().is_empty(),
            host_ip: true,
            inject: true,
        }
    }

    /// The facts either set reads.
    pub fn union(self, other: Facts) -> Facts {
        Facts {
            service_account: self.service_account || other.service_account,
            host_ip: self.host_ip || other.host_ip,
            inject: self.inject || other.inject,
        }
    }
}

#[derive(Hash, PartialEq, Eq)]
struct Key<'a> {
    namespace: &'a str,
    labels: &'a Labels,
    named_ports: Vec<&'a NamedPort>,
    /// Where the pod's addresses fall among the address sets policies name.
    ips: Vec<Address>,
    /// Cilium identities, Istio principals and Calico's `serviceAccounts` match carry the
    /// service account.
    service_account: Option<&'a str>,
    host_network: bool,
    host_ip: Option<std::net::IpAddr>,
    /// The pod's own say on Istio sidecar injection.
    inject: Option<&'a str>,
}

/// A pod address as far as policies can tell: the cell of the IPv4 space it falls in, or the
/// address itself.
#[derive(Hash, PartialEq, Eq, PartialOrd, Ord, Clone, Copy, Debug)]
enum Address {
    Cell(usize),
    Ip(IpAddr),
}

/// The IPv4 space cut at every boundary of every address set a CNI policy names and at every
/// node address (node peers match pods on a node's address): two addresses in one cell are in
/// exactly the same sets. IPv6 addresses, and every address when an Istio rule reads addresses
/// (`ipBlocks`, `source.ip` conditions), are kept whole.
struct AddressCells {
    /// The first address of each cell but the first, ascending.
    bounds: Vec<u128>,
    whole: bool,
}

impl AddressCells {
    fn new(cluster: &Cluster) -> Self {
        let whole = cluster
            .policies
            .authorization_policies()
            .iter()
            .any(|ap| ap.rules.iter().any(|r| r.reads_addresses()));
        let (ingress, egress) = crate::connectivity::policy_address_sets(cluster);
        let nodes = cluster
            .nodes
            .iter()
            .flat_map(|n| &n.addresses)
            .map(|a| netfence_model::IpSet::from_ip(*a));
        let mut bounds = Vec::new();
        for set in ingress.into_iter().chain(egress).chain(nodes) {
            for r in set.ranges().into_iter().filter(|r| !r.v6) {
                bounds.push(r.lo);
                bounds.push(r.hi + 1);
            }
        }
        bounds.sort_unstable();
        bounds.dedup();
        AddressCells { bounds, whole }
    }

    fn of(&self, ip: IpAddr) -> Address {
        match ip {
            IpAddr::V4(a) if !self.whole => {
                let x = u128::from(u32::from(a));
                Address::Cell(self.bounds.partition_point(|b| *b <= x))
            }
            other => Address::Ip(other),
        }
    }
}

impl Classes {
    /// Groups the endpoints of `cluster` by every fact any layer reads (see
    /// [`Classes::with_facts`] for the facts of one profile's layers).
    pub fn new(cluster: &Cluster) -> Self {
        Self::with_facts(cluster, Facts::any_layer(cluster))
    }

    /// Groups the endpoints of `cluster` by what every policy reads plus `facts`.
    pub fn with_facts(cluster: &Cluster, facts: Facts) -> Self {
        let mut index: HashMap<Key<'_>, usize> = HashMap::new();
        let mut members: Vec<Vec<EndpointId>> = Vec::new();
        let mut class_of = Vec::with_capacity(cluster.endpoints.len());
        let mut by_namespace: HashMap<String, Vec<usize>> = HashMap::new();
        let cells = AddressCells::new(cluster);
        for (id, ep) in cluster.endpoints.iter().enumerate() {
            let mut named_ports: Vec<&NamedPort> = ep.named_ports.iter().collect();
            named_ports.sort();
            let mut ips: Vec<Address> = ep.ips.iter().map(|ip| cells.of(*ip)).collect();
            ips.sort_unstable();
            ips.dedup();
            let key = Key {
                namespace: &ep.namespace,
                labels: &ep.labels,
                named_ports,
                ips,
                service_account: facts.service_account.then_some(ep.service_account.as_str()),
                host_network: ep.host_network,
                host_ip: ep.host_ip.filter(|_| facts.host_ip && ep.host_network),
                inject: ep
                    .annotations
                    .get("sidecar.istio.io/inject")
                    .map(String::as_str)
                    .filter(|_| facts.inject),
            };
            let next = members.len();
            let class = *index.entry(key).or_insert(next);
            if class == next {
                members.push(Vec::new());
                by_namespace
                    .entry(ep.namespace.clone())
                    .or_default()
                    .push(class);
            }
            if let Some(m) = members.get_mut(class) {
                m.push(id);
            }
            class_of.push(class);
        }
        Self {
            members,
            class_of,
            by_namespace,
        }
    }

    /// The number of classes.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether there is no class.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The representative endpoint of `class`.
    pub fn representative(&self, class: usize) -> EndpointId {
        self.members
            .get(class)
            .and_then(|m| m.first())
            .copied()
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netfence_model::{Endpoint, IpSet, NetworkPolicy, NpPeer, NpRule, Origin};

    /// Pods `p0..pN` of one workload-less label set in `ns`, each with its own address.
    fn pods(ips: &[&str]) -> Cluster {
        let mut c = Cluster::default();
        c.ensure_namespace("ns");
        for (i, ip) in ips.iter().enumerate() {
            c.endpoints.push(Endpoint {
                ips: vec![ip.parse().unwrap()],
                ..Endpoint::bare("ns", &format!("p{i}"), "Pod")
            });
        }
        c
    }

    fn block(c: &mut Cluster, cidr: &str) {
        let _ = c.policies.add(NetworkPolicy {
            namespace: "ns".into(),
            name: format!("np-{cidr}"),
            pod_selector: Default::default(),
            ingress: Some(vec![NpRule {
                peers: Some(vec![NpPeer::IpBlock {
                    set: IpSet::parse_cidr(cidr).unwrap(),
                    cidr: cidr.into(),
                    except: Vec::new(),
                }]),
                ports: None,
                line: None,
            }]),
            egress: None,
            annotations: Default::default(),
            origin: Origin::default(),
        });
    }

    fn class_sizes(c: &Cluster) -> Vec<usize> {
        let mut sizes: Vec<usize> = Classes::new(c).members.iter().map(Vec::len).collect();
        sizes.sort_unstable();
        sizes
    }

    #[test]
    fn pods_apart_only_where_an_address_set_cuts_between_them() {
        let ips = ["10.0.0.1", "10.0.0.2", "10.0.1.7", "192.168.3.4"];
        // no address set: one class, whatever the addresses
        let mut c = pods(&ips);
        assert_eq!(class_sizes(&c), vec![4]);
        // a block around the first two
        block(&mut c, "10.0.0.0/24");
        assert_eq!(class_sizes(&c), vec![2, 2]);
        // and one that picks out a single pod
        block(&mut c, "10.0.0.2/32");
        assert_eq!(class_sizes(&c), vec![1, 1, 2]);
    }

    #[test]
    fn node_addresses_istio_address_rules_and_ipv6_keep_addresses_apart() {
        let mut c = pods(&["10.0.0.1", "10.0.0.2", "10.0.0.3"]);
        c.nodes.push(netfence_model::Node {
            name: "n1".into(),
            labels: Default::default(),
            addresses: vec!["10.0.0.3".parse().unwrap()],
            kubelet_version: None,
            origin: Origin::default(),
        });
        assert_eq!(
            class_sizes(&c),
            vec![1, 2],
            "a node's address is a set of its own"
        );

        let v6 = pods(&["fd00::1", "fd00::2"]);
        assert_eq!(class_sizes(&v6), vec![1, 1]);

        let mut istio = pods(&["10.0.0.1", "10.0.0.2"]);
        let _ = istio
            .policies
            .add(netfence_model::istio::AuthorizationPolicy {
                namespace: "ns".into(),
                name: "by-ip".into(),
                selector: None,
                target_refs: false,
                action: netfence_model::istio::AuthzAction::Allow,
                provider: None,
                rules: vec![netfence_model::istio::AuthzRule {
                    when: vec![netfence_model::istio::Condition {
                        key: "source.ip".into(),
                        values: vec!["10.0.0.1".into()],
                        not_values: Vec::new(),
                    }],
                    ..Default::default()
                }],
                origin: Origin::default(),
            });
        assert_eq!(class_sizes(&istio), vec![1, 1]);
    }
}
