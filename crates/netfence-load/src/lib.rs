//! Loads Kubernetes manifests into netfence's [`netfence_model::Cluster`].
//!
//! Input is text the caller read (files, stdin): this crate does no I/O. Multi-document YAML,
//! JSON, `kind: List` and `*List` kinds are accepted. Every problem is collected as a
//! [`LoadError`] naming the file, document and line; an invalid policy is never dropped
//! silently, and a kind netfence does not model is listed in [`Loaded::skipped`].
#![forbid(unsafe_code)]
#![deny(
    clippy::disallowed_methods,
    reason = "the loader gets text, it does no I/O"
)]
#![warn(missing_docs)]

mod admin;
mod convert;
mod err;
mod selector;
mod source;
mod workload;

pub use err::LoadError;
pub use source::Source;

use netfence_model::Cluster;

/// The result of loading: a model, every error found, and the objects skipped.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The cluster built from every valid object.
    pub cluster: Cluster,
    /// Every error, in input order.
    pub errors: Vec<LoadError>,
    /// Things loaded but only partly modelled (for example IPv6 CIDRs): the analysis runs,
    /// and these say what it leaves out.
    pub warnings: Vec<LoadError>,
    /// Objects of kinds netfence does not model: `(origin, kind, name)`.
    pub skipped: Vec<(netfence_model::Origin, String, String)>,
}

/// Loads every source into one cluster.
pub fn load(sources: &[Source]) -> Loaded {
    let mut builder = convert::Builder::default();
    for src in sources {
        for doc in source::documents(src, &mut builder.errors, &mut builder.warnings) {
            builder.add_document(doc);
        }
    }
    builder.finish()
}
