//! Zero-trust audit: findings about a cluster's policies, each decided with the engine (never
//! by pattern-matching YAML), with stable rule codes, severities, suppressions and a score.
//!
//! Rules live one per file under `rules/`, each with its documentation; [`registry::RULES`]
//! lists them by code. Findings are data ([`Diagnostic`]); renderers live in `netfence-report`.
#![forbid(unsafe_code)]
#![deny(clippy::disallowed_methods, reason = "audit crates do no I/O")]
#![warn(missing_docs)]

pub mod cni;
pub mod context;
pub mod diagnostic;
pub mod registry;
mod rules;
pub mod score;
pub mod troubleshoot;

pub use context::{AuditConfig, AuditCtx};
pub use diagnostic::{Diagnostic, Severity, Subject};
pub use registry::{RuleMeta, RULES};

/// The annotation that suppresses findings on an object: a comma-separated list of codes or
/// code prefixes (`netfence.dev/ignore: "NP101,NP2"`).
pub const SUPPRESS_ANNOTATION: &str = "netfence.dev/ignore";

/// Which rules run: codes or prefixes to select (empty: all) and to ignore.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Codes or prefixes to run; empty runs every rule.
    pub select: Vec<String>,
    /// Codes or prefixes not to run.
    pub ignore: Vec<String>,
}

impl Selection {
    /// Whether rule `code` runs.
    pub fn runs(&self, code: &str) -> bool {
        (self.select.is_empty() || self.select.iter().any(|p| code.starts_with(p.as_str())))
            && !self.ignore.iter().any(|p| code.starts_with(p.as_str()))
    }
}

/// The audit's outcome: findings (suppressed ones removed) and how many were suppressed.
#[derive(Debug, Clone, Default)]
pub struct AuditResult {
    /// Findings, sorted by severity (highest first), then code, then place.
    pub diagnostics: Vec<Diagnostic>,
    /// Findings silenced by a suppression annotation.
    pub suppressed: usize,
}

/// Runs the selected rules.
pub fn run(ctx: &AuditCtx<'_>, selection: &Selection) -> AuditResult {
    use rayon::prelude::*;
    // Rules are independent: they run on every core (shared analyses are computed once, by
    // whichever rule asks first) and their findings are joined in rule order.
    let per_rule: Vec<Vec<Diagnostic>> = RULES
        .par_iter()
        .filter(|rule| selection.runs(rule.code))
        .map(|rule| {
            let mut found = Vec::new();
            (rule.check)(ctx, &mut found);
            found
        })
        .collect();
    let all: Vec<Diagnostic> = per_rule.into_iter().flatten().collect();
    let mut result = AuditResult::default();
    for d in all {
        if ctx.suppressed(&d) {
            result.suppressed += 1;
        } else {
            result.diagnostics.push(d);
        }
    }
    result.diagnostics.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.code.cmp(b.code))
            .then_with(|| a.object.cmp(&b.object))
            .then_with(|| a.message.cmp(&b.message))
    });
    result
}
