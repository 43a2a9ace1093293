//! Pods and workload templates to endpoints.
//!
//! A pod is read into the few fields an endpoint needs (the schema check has already checked
//! the whole object against the API's own schema): building k8s-openapi's complete `Pod`, with
//! its volumes, probes and container statuses, was most of the cost of loading a cluster dump.

use std::collections::BTreeMap;

use netfence_model::{Endpoint, Labels, NamedPort, Origin, Protocol};
use serde::Deserialize;

/// What netfence reads of a Pod.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Pod {
    #[serde(default)]
    pub metadata: Meta,
    pub spec: Option<PodSpec>,
    pub status: Option<PodStatus>,
}

/// What netfence reads of a pod template.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PodTemplateSpec {
    pub metadata: Option<Meta>,
    pub spec: Option<PodSpec>,
}

/// Object metadata, as far as endpoints go.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Meta {
    pub labels: Option<BTreeMap<String, String>>,
    pub annotations: Option<BTreeMap<String, String>>,
    pub owner_references: Option<Vec<OwnerReference>>,
}

/// A pod's owner.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct OwnerReference {
    // (k8s-openapi reads a missing required field as its default; so does netfence)
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
    pub controller: Option<bool>,
}

/// What netfence reads of a pod spec.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PodSpec {
    #[serde(default)]
    pub containers: Vec<Container>,
    pub init_containers: Option<Vec<Container>>,
    pub service_account_name: Option<String>,
    pub host_network: Option<bool>,
}

/// A container's ports.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Container {
    pub ports: Option<Vec<ContainerPort>>,
    pub image: Option<String>,
}

/// A container port.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ContainerPort {
    #[serde(default)]
    pub container_port: i32,
    pub name: Option<String>,
    pub protocol: Option<String>,
}

/// A pod's addresses.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PodStatus {
    #[serde(rename = "podIP")]
    pub pod_ip: Option<String>,
    #[serde(rename = "podIPs")]
    pub pod_ips: Option<Vec<PodIp>>,
    #[serde(rename = "hostIP")]
    pub host_ip: Option<String>,
}

/// One of a pod's addresses.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PodIp {
    #[serde(default)]
    pub ip: String,
}

/// The parts of a pod spec and metadata an endpoint needs.
pub(crate) fn endpoint(
    namespace: &str,
    name: &str,
    kind: &str,
    labels: Option<&std::collections::BTreeMap<String, String>>,
    spec: Option<&PodSpec>,
    status: Option<&PodStatus>,
    origin: Origin,
) -> Endpoint {
    let mut named_ports = Vec::new();
    let mut container_ports = Vec::new();
    let mut images = Vec::new();
    if let Some(spec) = spec {
        for c in spec
            .containers
            .iter()
            .chain(spec.init_containers.iter().flatten())
        {
            images.extend(c.image.clone());
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
        images,
        origin,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_required_fields_read_as_their_defaults_as_k8s_openapi_reads_them() {
        // netpol-analyzer's corpus has owner references without `kind`
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"ownerReferences": [{"name": "rs", "uid": "u", "apiVersion": "v1"}]},
            "spec": {"containers": [{"name": "c", "ports": [{"name": "p"}]}]},
            "status": {"podIPs": [{}]}
        }))
        .unwrap();
        let owner = &pod.metadata.owner_references.unwrap()[0];
        assert_eq!((owner.kind.as_str(), owner.name.as_str()), ("", "rs"));
        let spec = pod.spec.unwrap();
        assert_eq!(
            spec.containers[0].ports.as_ref().unwrap()[0].container_port,
            0
        );
        assert_eq!(pod.status.unwrap().pod_ips.unwrap()[0].ip, "");
    }

    #[test]
    fn a_pod_reads_into_what_an_endpoint_needs() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p", "labels": {"app": "db"}, "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "db-1", "uid": "u", "controller": true}]},
            "spec": {
                "serviceAccountName": "db-sa", "hostNetwork": true,
                "containers": [{"name": "c", "image": "i", "ports": [
                    {"name": "pg", "containerPort": 5432},
                    {"containerPort": 53, "protocol": "UDP"}],
                    "livenessProbe": {"tcpSocket": {"port": 5432}}}],
                "initContainers": [{"name": "i", "ports": [{"name": "init", "containerPort": 9000, "protocol": "SCTP"}]}],
                "volumes": [{"name": "v", "projected": {"sources": []}}]
            },
            "status": {"podIP": "10.0.0.9", "podIPs": [{"ip": "10.0.0.9"}, {"ip": "fd00::9"}], "hostIP": "192.168.1.2", "phase": "Running"}
        }))
        .unwrap();
        let owner = pod.metadata.owner_references.as_ref().unwrap();
        assert_eq!(
            (
                owner[0].kind.as_str(),
                owner[0].name.as_str(),
                owner[0].controller
            ),
            ("ReplicaSet", "db-1", Some(true))
        );
        let ep = endpoint(
            "n",
            "db-1",
            "ReplicaSet",
            pod.metadata.labels.as_ref(),
            pod.spec.as_ref(),
            pod.status.as_ref(),
            Origin::default(),
        );
        assert_eq!(ep.service_account, "db-sa");
        assert!(ep.host_network);
        assert_eq!(
            ep.container_ports,
            vec![
                (5432, Protocol::Tcp),
                (53, Protocol::Udp),
                (9000, Protocol::Sctp)
            ]
        );
        let named: Vec<(&str, u16)> = ep
            .named_ports
            .iter()
            .map(|p| (p.name.as_str(), p.port))
            .collect();
        assert_eq!(named, vec![("pg", 5432), ("init", 9000)]);
        assert_eq!(ep.ips.len(), 2, "podIPs win over podIP");
        assert_eq!(ep.host_ip, "192.168.1.2".parse().ok());
        assert_eq!(ep.labels.get("app").map(String::as_str), Some("db"));
    }
}
