//! Pods and workload templates to endpoints.

use k8s_openapi::api::core::v1 as core;
use netfence_model::{Endpoint, Labels, NamedPort, Origin, Protocol};

/// The parts of a pod spec and metadata an endpoint needs.
pub(crate) fn endpoint(
    namespace: &str,
    name: &str,
    kind: &str,
    labels: Option<&std::collections::BTreeMap<String, String>>,
    spec: Option<&core::PodSpec>,
    status: Option<&core::PodStatus>,
    origin: Origin,
) -> Endpoint {
    let mut named_ports = Vec::new();
    let mut container_ports = Vec::new();
    if let Some(spec) = spec {
        for c in spec
            .containers
            .iter()
            .chain(spec.init_containers.iter().flatten())
        {
            for p in c.ports.iter().flatten() {
                let protocol = p
                    .protocol
                    .as_deref()
                    .and_then(Protocol::parse)
                    .unwrap_or(Protocol::Tcp);
                let Ok(port) = u16::try_from(p.container_port) else {
                    continue;
                };
                container_ports.push((port, protocol));
                if let Some(n) = &p.name {
                    named_ports.push(NamedPort {
                        name: n.clone(),
                        port,
                        protocol,
                    });
                }
            }
        }
    }
    let mut ips = Vec::new();
    let mut host_ip = None;
    if let Some(st) = status {
        for ip in st.pod_ips.iter().flatten() {
            if let Ok(a) = ip.ip.parse() {
                ips.push(a);
            }
        }
        if ips.is_empty() {
            if let Some(a) = st.pod_ip.as_deref().and_then(|s| s.parse().ok()) {
                ips.push(a);
            }
        }
        host_ip = st.host_ip.as_deref().and_then(|s| s.parse().ok());
    }
    Endpoint {
        namespace: namespace.to_string(),
        name: name.to_string(),
        kind: kind.to_string(),
        pods: Vec::new(),
        annotations: Default::default(),
        labels: labels.cloned().unwrap_or_else(Labels::new),
        service_account: spec
            .and_then(|s| s.service_account_name.clone())
            .unwrap_or_else(|| "default".to_string()),
        named_ports,
        container_ports,
        ips,
        host_ip,
        host_network: spec.and_then(|s| s.host_network).unwrap_or(false),
        origin,
    }
}
