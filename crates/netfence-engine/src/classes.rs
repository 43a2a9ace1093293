//! Equivalence classes of endpoints: endpoints no policy can tell apart (same namespace, same
//! labels, same named ports, same IPs, and the facts the enforcing layers read besides) share
//! every verdict, so analyses run once per class.

use std::collections::HashMap;

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
    ips: Vec<std::net::IpAddr>,
    /// Cilium identities, Istio principals and Calico's `serviceAccounts` match carry the
    /// service account.
    service_account: Option<&'a str>,
    host_network: bool,
    host_ip: Option<std::net::IpAddr>,
    /// The pod's own say on Istio sidecar injection.
    inject: Option<&'a str>,
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
        for (id, ep) in cluster.endpoints.iter().enumerate() {
            let mut named_ports: Vec<&NamedPort> = ep.named_ports.iter().collect();
            named_ports.sort();
            let mut ips = ep.ips.clone();
            ips.sort();
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
