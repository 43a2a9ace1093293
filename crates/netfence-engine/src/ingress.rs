//! Traffic admitted by Ingress and OpenShift Route objects: from the ingress controller to the
//! pods behind each backend Service, on the Service's target ports, and only where the pods'
//! policies allow the controller in.
//!
//! The controller is modelled as a pod with no labels in a namespace of its own, so only rules
//! that admit every namespace (or every peer) let it in.

use netfence_model::cluster::IngressBackend;
use netfence_model::{ConnSet, Endpoint, EndpointId, PortRef, PortSet, Service};

use crate::eval::{Direction, Evaluator, Peer};

/// The display name of the ingress controller.
pub const CONTROLLER_NAME: &str = "{ingress-controller}";

/// The pseudo-endpoint standing for the ingress controller.
pub fn controller() -> Endpoint {
    Endpoint::bare("ingress-controller-ns", "ingress-controller", "Pod")
}

/// The connections a backend opens to pod `ep` of `svc`.
fn backend_conn(b: &IngressBackend, svc: &Service, ep: &Endpoint) -> ConnSet {
    let mut conn = ConnSet::none();
    for sp in &svc.ports {
        let chosen = match (&b.port, b.kind.as_str()) {
            (None, _) => true,
            (Some(PortRef::Number(n)), "Route") => {
                sp.target == PortRef::Number(*n)
                    || (sp.port == *n && matches!(sp.target, PortRef::Name(_)))
            }
            (Some(PortRef::Name(n)), "Route") => {
                sp.name.as_deref() == Some(n.as_str()) || sp.target == PortRef::Name(n.clone())
            }
            (Some(PortRef::Number(n)), _) => sp.port == *n,
            (Some(PortRef::Name(n)), _) => sp.name.as_deref() == Some(n.as_str()),
        };
        if !chosen {
            continue;
        }
        let port = match &sp.target {
            PortRef::Number(t) => Some(*t),
            PortRef::Name(name) => ep.resolve_named_port(name, sp.protocol),
        };
        if let Some(p) = port {
            conn.add(&ConnSet::single(sp.protocol, PortSet::range(p, p)));
        }
    }
    conn
}

/// For each endpoint reachable through an Ingress or Route, what the controller may open.
pub fn controller_edges(ev: &Evaluator<'_>) -> Vec<(EndpointId, ConnSet)> {
    let cluster = ev.cluster;
    let ctrl = controller();
    let mut out: Vec<(EndpointId, ConnSet)> = Vec::new();
    for (id, ep) in cluster.endpoints.iter().enumerate() {
        let mut conn = ConnSet::none();
        for b in &cluster.ingress_backends {
            for svc in cluster
                .services
                .iter()
                .filter(|s| s.namespace == b.namespace && s.name == b.service && s.selects(ep))
            {
                conn.add(&backend_conn(b, svc, ep));
            }
        }
        if conn.is_empty() {
            continue;
        }
        let allowed = ev.direction_allowed(ep, Peer::Endpoint(&ctrl), Direction::Ingress);
        let c = conn.intersect(&allowed);
        if !c.is_empty() {
            out.push((id, c));
        }
    }
    out
}
