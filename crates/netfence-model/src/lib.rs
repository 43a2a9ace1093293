//! The normalized model netfence reasons about: namespaces, endpoints (workloads and pods),
//! label selectors, symbolic port and IP sets, and one typed representation per policy dialect.
//!
//! This crate is pure: no files, no terminal, no clock, no environment. Loaders build a
//! [`Cluster`]; the engine reads it.
#![forbid(unsafe_code)]
#![deny(clippy::disallowed_methods, reason = "model crates do no I/O")]
#![warn(missing_docs)]

pub mod calico;
pub mod cilium;
pub mod cluster;
pub mod conn;
pub mod direction;
pub mod flow;
pub mod ip;
pub mod istio;
pub mod l7;
pub mod labels;
pub mod policies;
pub mod policy;

pub use cilium::{
    CiliumPeer, CiliumPeerRule, CiliumPolicy, CiliumPort, CiliumPortRule, CiliumRule,
    CiliumSubject, Entity,
};
pub use cluster::{
    AuditLevel, AuditPolicy, AuditResources, AuditRule, Cluster, Endpoint, EndpointId, NamedPort,
    Namespace, Node, Origin, Service,
};
pub use conn::{ConnSet, PortSet, Protocol};
pub use direction::Direction;
pub use ip::{IpRange, IpSet};
pub use l7::{FqdnPattern, HttpRule, KafkaRule, L7Request, L7Rules};
pub use labels::{LabelSelector, Labels, Operator, Requirement};
pub use policies::{Policies, Policy, PolicyRef};
pub use policy::{
    AdminAction, AdminKind, AdminPeer, AdminPolicy, AdminPort, AdminRule, AdminSubject,
    NetworkPolicy, NpPeer, NpPort, NpRule, PortRef,
};
