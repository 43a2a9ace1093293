//! netfence's policy engine: pure functions from a [`netfence_model::Cluster`] to verdicts,
//! connectivity maps and exposure.
//!
//! Evaluation follows the Kubernetes data path for one flow: egress at the source, then ingress
//! at the destination; in each direction AdminNetworkPolicy (by priority), then NetworkPolicy
//! (when one selects the pod), then BaselineAdminNetworkPolicy, then the default allow.
//! Connectivity is computed on classes of endpoints no policy can tell apart.
#![forbid(unsafe_code)]
#![deny(clippy::disallowed_methods, reason = "engine crates do no I/O")]
#![warn(missing_docs)]

pub mod calico;
pub mod cilium;
mod class_map;
pub mod classes;
pub mod connectivity;
pub mod datapath;
pub mod diff;
pub mod eval;
pub mod exposure;
pub mod fix;
pub mod flows;
pub mod ingress;
mod layers;
pub mod mesh;
mod peer_tests;
pub mod policy_map;
pub mod profile;
pub mod reach;
pub mod reference;
pub mod verdict;

pub use connectivity::{Connectivity, Edge, Node};
pub use datapath::{DataPath, Release};
pub use eval::{Direction, Peer};
pub use profile::Profile;
