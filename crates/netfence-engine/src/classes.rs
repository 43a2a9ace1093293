//! Equivalence classes of endpoints: endpoints no policy can tell apart (same namespace, same
//! labels, same named ports, same IPs) share every verdict, so analyses run once per class.

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
    /// The pod's own say on Istio sidecar injection.
    inject: Option<&'a str>,
}

impl Classes {
    /// Groups the endpoints of `cluster`.
    pub fn new(cluster: &Cluster) -> Self {
        let mut index: HashMap<Key<'_>, usize> = HashMap::new();
        let mut members: Vec<Vec<EndpointId>> = Vec::new();
        let mut class_of = Vec::with_capacity(cluster.endpoints.len());
        let mut by_namespace: HashMap<String, Vec<usize>> = HashMap::new();
        let by_identity = !cluster.cilium_policies.is_empty()
            || !cluster.calico_policies.is_empty()
            || !cluster.authorization_policies.is_empty()
            || !cluster.peer_authentications.is_empty();
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
                service_account: by_identity.then_some(ep.service_account.as_str()),
                host_network: ep.host_network,
                inject: ep
                    .annotations
                    .get("sidecar.istio.io/inject")
                    .map(String::as_str),
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
