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
mod calico;
mod cilium;
mod convert;
mod crd_schema;
mod err;
#[doc(hidden)]
pub mod fuzzing;
pub mod hubble;
mod istio;
mod kinds;
mod names;
mod node;
mod schema;
mod selector;
mod source;
pub mod spec;
mod workload;
mod x509;
mod yaml;

pub use err::LoadError;
pub use source::{Source, MAX_INPUT_BYTES};

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
    use rayon::prelude::*;
    // Each source becomes a partial model on its own (documents parse independently); the
    // partial models are then merged in input order, so the result does not depend on timing.
    let parts: Vec<convert::Builder> = sources
        .par_iter()
        .map(|src| {
            let b = load_source(src, true);
            // a List item that does not parse: the whole source again, in one pass, which
            // reports the error as for any invalid JSON
            if b.split_failed {
                load_source(src, false)
            } else {
                b
            }
        })
        .collect();
    let mut builder = convert::Builder::default();
    for part in parts {
        builder.merge(part);
    }
    builder.finish()
}

/// One source's partial model; `split` lets a large List be cut at its items.
fn load_source(src: &Source, split: bool) -> convert::Builder {
    use rayon::prelude::*;
    let (mut errors, mut warnings) = (Vec::new(), Vec::new());
    // documents convert in parallel too, merged in input order
    let docs = source::documents(src, split, &mut errors, &mut warnings);
    let unlocated = docs
        .iter()
        .any(|d| matches!(d.body, source::Body::Json(_) | source::Body::JsonList(..)));
    let parts: Vec<convert::Builder> = docs
        .into_par_iter()
        .map(|doc| {
            let mut b = convert::Builder::default();
            b.add_document(doc);
            b
        })
        .collect();
    let mut b = convert::Builder::default();
    for part in parts {
        b.merge(part);
    }
    if b.split_failed {
        return b;
    }
    errors.append(&mut b.errors);
    if unlocated && errors.iter().any(|e| e.field.is_some()) {
        locate_json_errors(src, &mut errors);
    }
    b.errors = errors;
    warnings.append(&mut b.warnings);
    b.warnings = warnings;
    b
}

/// Gives errors about a JSON source the line of their field: JSON is parsed without lines
/// (fast), so they are found only when an error needs them.
fn locate_json_errors(src: &Source, errors: &mut [LoadError]) {
    let nodes = source::locate_json(&src.text);
    for e in errors.iter_mut() {
        let (Some(field), Some(node)) = (&e.field, nodes.get(e.document.wrapping_sub(1))) else {
            continue;
        };
        let line = node.line_of(field);
        if line > 0 {
            e.line = Some(line);
        }
    }
}
