//! The inventory: namespaces, endpoints (workloads and pods), services, and every policy,
//! each carrying its [`Origin`].

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use crate::conn::Protocol;
use crate::labels::Labels;

/// Where an object came from: file, document index (0-based) and 1-based line of the document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Origin {
    /// The file name (or `<stdin>`).
    pub file: String,
    /// The document's index within the file.
    pub document: usize,
    /// The line where the object starts, when known.
    pub line: Option<usize>,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}", self.file, line),
            None => write!(f, "{} (document {})", self.file, self.document + 1),
        }
    }
}

/// A namespace and its labels (including the synthesised `kubernetes.io/metadata.name`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    /// The namespace name.
    pub name: String,
    /// Its labels.
    pub labels: Labels,
    /// Its annotations.
    pub annotations: Labels,
    /// Where it was declared; `None` when only referenced.
    pub origin: Option<Origin>,
}

/// A Node: what `nodes` peers of admin policies match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The node name.
    pub name: String,
    /// Its labels.
    pub labels: Labels,
    /// Its `InternalIP` and `ExternalIP` addresses (`status.addresses`).
    pub addresses: Vec<IpAddr>,
    /// `status.nodeInfo.kubeletVersion` (`v1.32.1`), when known: the Kubernetes release.
    pub kubelet_version: Option<String>,
    /// Where it was declared.
    pub origin: Origin,
}

/// A named container port (`spec.containers[*].ports[*]` with a `name`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NamedPort {
    /// The port name.
    pub name: String,
    /// The container port number.
    pub port: u16,
    /// The protocol (TCP by default).
    pub protocol: Protocol,
}

/// Index of an endpoint in [`Cluster::endpoints`].
pub type EndpointId = usize;

/// A workload (or bare pod): the unit connectivity is reported on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The namespace.
    pub namespace: String,
    /// The workload name (owner name for controlled pods).
    pub name: String,
    /// The workload kind: `Deployment`, `ReplicaSet`, `Pod`, ...
    pub kind: String,
    /// Names of the pods of this workload found in the input (empty for templates).
    pub pods: Vec<String>,
    /// The pod labels.
    pub labels: Labels,
    /// The workload's (or pod's) annotations.
    pub annotations: Labels,
    /// The service account name.
    pub service_account: String,
    /// Named container ports.
    pub named_ports: Vec<NamedPort>,
    /// All container ports (named or not), for reports.
    pub container_ports: Vec<(u16, Protocol)>,
    /// Pod IPs from `status.podIP(s)`, when the manifest has them.
    pub ips: Vec<IpAddr>,
    /// The node IP from `status.hostIP`, when known.
    pub host_ip: Option<IpAddr>,
    /// Whether the pod uses the host network.
    pub host_network: bool,
    /// The container images (`registry/name:tag`), for version checks of system components.
    pub images: Vec<String>,
    /// Where it was declared.
    pub origin: Origin,
}

impl Endpoint {
    /// A workload of `kind` with nothing but its place: no labels, the `default` service
    /// account, no ports or addresses (the base of endpoints the analyses make up, with struct
    /// update syntax for what they set).
    pub fn bare(namespace: &str, name: &str, kind: &str) -> Self {
        Endpoint {
            namespace: namespace.to_string(),
            name: name.to_string(),
            kind: kind.to_string(),
            pods: Vec::new(),
            labels: Labels::new(),
            annotations: Labels::new(),
            service_account: "default".into(),
            named_ports: Vec::new(),
            container_ports: Vec::new(),
            ips: Vec::new(),
            host_ip: None,
            host_network: false,
            images: Vec::new(),
            origin: Origin::default(),
        }
    }

    /// `namespace/name[Kind]`, the stable display name.
    pub fn display_name(&self) -> String {
        format!("{}/{}[{}]", self.namespace, self.name, self.kind)
    }

    /// `namespace/name`.
    pub fn qualified_name(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// Whether this is a cluster DNS pod (`k8s-app=kube-dns`, the label CoreDNS and kube-dns
    /// deployments carry).
    pub fn is_cluster_dns(&self) -> bool {
        self.labels.get(CLUSTER_DNS_LABEL.0).map(String::as_str) == Some(CLUSTER_DNS_LABEL.1)
    }

    /// Resolves a named port on this endpoint for `protocol`.
    pub fn resolve_named_port(&self, name: &str, protocol: Protocol) -> Option<u16> {
        self.named_ports
            .iter()
            .find(|p| p.name == name && p.protocol == protocol)
            .map(|p| p.port)
    }
}

/// A Service: its selector and port mapping (used for DNAT and ingress analysis).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// The namespace.
    pub namespace: String,
    /// The name.
    pub name: String,
    /// The pod selector (`None` for selector-less services).
    pub selector: Option<Labels>,
    /// Ports: (service port, target port number or name, protocol).
    pub ports: Vec<ServicePort>,
    /// `spec.clusterIP(s)` (none for a headless Service or a template without one).
    pub cluster_ips: Vec<IpAddr>,
    /// Where it was declared.
    pub origin: Origin,
}

impl Service {
    /// Whether the Service's pod selector picks `ep` (a selector-less or empty-selector
    /// Service picks no pod).
    pub fn selects(&self, ep: &Endpoint) -> bool {
        ep.namespace == self.namespace
            && self
                .selector
                .as_ref()
                .is_some_and(|sel| !sel.is_empty() && crate::labels::has_all(&ep.labels, sel))
    }
}

/// One service port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePort {
    /// The port name, if any.
    pub name: Option<String>,
    /// The service port.
    pub port: u16,
    /// The target port: a number or a container port name.
    pub target: crate::policy::PortRef,
    /// The protocol.
    pub protocol: Protocol,
}

/// Traffic admitted from outside the cluster by an Ingress or OpenShift Route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngressBackend {
    /// The kind of the object (`Ingress` or `Route`).
    pub kind: String,
    /// `namespace/name` of the object.
    pub object: String,
    /// The namespace of the backend service.
    pub namespace: String,
    /// The backend service name.
    pub service: String,
    /// The service port (number or name); `None` means every port of the service.
    pub port: Option<crate::policy::PortRef>,
}

/// Everything loaded: the input of every analysis.
#[derive(Debug, Clone, Default)]
pub struct Cluster {
    /// Namespaces by name.
    pub namespaces: BTreeMap<String, Namespace>,
    /// Endpoints, in load order.
    pub endpoints: Vec<Endpoint>,
    /// Nodes.
    pub nodes: Vec<Node>,
    /// Services.
    pub services: Vec<Service>,
    /// Every policy object of every dialect.
    pub policies: crate::policies::Policies,
    /// Ingress and Route backends.
    pub ingress_backends: Vec<IngressBackend>,
    /// cert-manager Certificates (the mesh's and ingress' certificates).
    pub certificates: Vec<Certificate>,
    /// The Cilium agent's ConfigMap (`kube-system/cilium-config`), when in the input.
    pub cilium_config: Option<AgentConfig>,
    /// The `netfence.dev/*` annotations of policy objects of every dialect, by
    /// [`ObjectKey`]: what a finding about the object reads (its suppression).
    pub object_annotations: BTreeMap<ObjectKey, Labels>,
}

/// Where a certificate's state was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateSource {
    /// A cert-manager `Certificate` object and its status.
    CertManager,
    /// An Istio CA secret (`istio-ca-secret`, `cacerts`): the X.509 certificates it holds.
    IstioCaSecret,
}

/// A certificate the mesh or ingress depends on: a cert-manager `Certificate` and its status,
/// or the CA certificate of an Istio CA secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    /// What it was read from.
    pub source: CertificateSource,
    /// The namespace.
    pub namespace: String,
    /// The name.
    pub name: String,
    /// `status.conditions[type=Ready]`: `Some(true)` when issued and valid.
    pub ready: Option<bool>,
    /// The Ready condition's message, when not ready.
    pub message: Option<String>,
    /// `status.notAfter` (RFC 3339), when issued; for a secret, the earliest `notAfter` of
    /// its CA certificates.
    pub not_after: Option<String>,
    /// Where it was declared.
    pub origin: Origin,
}

/// A CNI agent's configuration (a ConfigMap's data) and where it was declared.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentConfig {
    /// The ConfigMap's `data`.
    pub data: BTreeMap<String, String>,
    /// Where it was declared.
    pub origin: Origin,
}

impl AgentConfig {
    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&String> {
        self.data.get(key)
    }
}

/// A policy object of any dialect: its kind (`projectcalico.org/`-prefixed for Calico kinds),
/// namespace (empty when cluster-scoped) and name.
pub type ObjectKey = (String, String, String);

/// The [`ObjectKey`] of a policy object.
pub fn object_key(kind: &str, namespace: Option<&str>, name: &str) -> ObjectKey {
    (
        kind.to_string(),
        namespace.unwrap_or_default().to_string(),
        name.to_string(),
    )
}

/// An audit level, ordered from least to most recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AuditLevel {
    /// Not logged.
    None,
    /// Request metadata only.
    Metadata,
    /// Metadata and request body.
    Request,
    /// Metadata, request and response bodies.
    RequestResponse,
}

/// A group and its resources in an audit rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditResources {
    /// API group (`""` is the core group).
    pub group: String,
    /// Resources; empty means every resource of the group.
    pub resources: Vec<String>,
}

/// One audit rule; the first rule matching a request decides its level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRule {
    /// The level.
    pub level: AuditLevel,
    /// Verbs; empty means every verb.
    pub verbs: Vec<String>,
    /// Resources; empty (with no `nonResourceURLs`) means every resource.
    pub resources: Vec<AuditResources>,
    /// Whether the rule is limited to some users, groups or namespaces.
    pub restricted: bool,
    /// Whether the rule is only about non-resource URLs.
    pub non_resource_only: bool,
}

/// An `audit.k8s.io` Policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPolicy {
    /// The name, when the manifest has one.
    pub name: String,
    /// Rules, in order.
    pub rules: Vec<AuditRule>,
    /// Where it was declared.
    pub origin: Origin,
}

impl AuditPolicy {
    /// The level a request gets for the cluster at large (rules limited to some users or
    /// namespaces do not decide it); `None` when no rule matches.
    pub fn level(&self, verb: &str, group: &str, resource: &str) -> AuditLevel {
        for r in &self.rules {
            if r.restricted || r.non_resource_only {
                continue;
            }
            let verb_ok = r.verbs.is_empty() || r.verbs.iter().any(|v| v == verb || v == "*");
            let res_ok = r.resources.is_empty()
                || r.resources.iter().any(|g| {
                    (g.group == group || g.group == "*")
                        && (g.resources.is_empty()
                            || g.resources.iter().any(|x| x == resource || x == "*"))
                });
            if verb_ok && res_ok {
                return r.level;
            }
        }
        AuditLevel::None
    }
}

/// The label of cluster DNS pods.
pub const CLUSTER_DNS_LABEL: (&str, &str) = ("k8s-app", "kube-dns");

/// The label every namespace carries with its own name.
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

impl Cluster {
    /// Ensures `name` exists, creating it with only its name label when it was never declared.
    pub fn ensure_namespace(&mut self, name: &str) {
        self.namespaces
            .entry(name.to_string())
            .or_insert_with(|| Namespace {
                name: name.to_string(),
                labels: Labels::from([(NAMESPACE_NAME_LABEL.to_string(), name.to_string())]),
                annotations: Labels::new(),
                origin: None,
            });
    }

    /// The labels of namespace `name` (empty when unknown).
    pub fn namespace_labels(&self, name: &str) -> &Labels {
        static EMPTY: Labels = Labels::new();
        self.namespaces.get(name).map_or(&EMPTY, |n| &n.labels)
    }

    /// The id of `ep` when it is one of this cluster's endpoints (the same object, not a copy),
    /// for tables kept per endpoint.
    pub fn endpoint_id(&self, ep: &Endpoint) -> Option<EndpointId> {
        let size = std::mem::size_of::<Endpoint>().max(1);
        let base = self.endpoints.as_ptr() as usize;
        let i = (ep as *const Endpoint as usize).checked_sub(base)? / size;
        self.endpoints
            .get(i)
            .filter(|e| std::ptr::eq(*e, ep))
            .map(|_| i)
    }

    /// Finds an endpoint by `ns/name`, by `name` alone when unique, or by display name.
    pub fn find_endpoint(&self, query: &str) -> Vec<EndpointId> {
        let q = query.trim();
        let exact: Vec<EndpointId> = self
            .endpoints
            .iter()
            .enumerate()
            .filter(|(_, e)| {
                e.display_name() == q
                    || e.qualified_name() == q
                    || e.pods.iter().any(|p| format!("{}/{}", e.namespace, p) == q)
            })
            .map(|(i, _)| i)
            .collect();
        if !exact.is_empty() {
            return exact;
        }
        self.endpoints
            .iter()
            .enumerate()
            .filter(|(_, e)| e.name == q)
            .map(|(i, _)| i)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_ids_are_for_the_clusters_own_endpoints() {
        let mut c = Cluster::default();
        for name in ["a", "b", "c"] {
            c.endpoints.push(Endpoint::bare("x", name, "Pod"));
        }
        assert_eq!(c.endpoint_id(&c.endpoints[2]), Some(2));
        assert_eq!(c.endpoint_id(&c.endpoints[0]), Some(0));
        let copy = c.endpoints[1].clone();
        assert_eq!(c.endpoint_id(&copy), None, "a copy is not the endpoint");
    }
}
