//! The rule table: one entry per code, sorted, never reused.

use crate::context::AuditCtx;
use crate::diagnostic::{Diagnostic, Severity};
use crate::rules;

/// A rule's metadata and check.
pub struct RuleMeta {
    /// Stable code: family (`NP`, `ANP`, `XP`...) and three digits; the hundreds digit is the
    /// category (0 correctness, 1 exposure, 2 redundancy, 3 hygiene).
    pub code: &'static str,
    /// Kebab-case name.
    pub name: &'static str,
    /// One line.
    pub summary: &'static str,
    /// Default severity.
    pub severity: Severity,
    /// Markdown documentation with the sections What it does / Why is this bad? / Example /
    /// Use instead / References.
    pub docs: &'static str,
    /// The check.
    pub check: fn(&AuditCtx<'_>, &mut Vec<Diagnostic>),
}

/// Every rule, sorted by code.
pub static RULES: &[&RuleMeta] = &[
    &rules::admin_priority_tie::RULE,
    &rules::calico_deny_shadowed::RULE,
    &rules::calico_pass_to_profile::RULE,
    &rules::policy_map_pressure::RULE,
    &rules::istio_mtls_not_strict::RULE,
    &rules::istio_no_sidecar::RULE,
    &rules::istio_port_exception::RULE,
    &rules::istio_principal_without_strict::RULE,
    &rules::istio_http_on_tcp::RULE,
    &rules::mesh_certificate_health::RULE,
    &rules::dns_blocked::RULE,
    &rules::dns_udp_only::RULE,
    &rules::selector_matches_nothing::RULE,
    &rules::kube_dns_blocked::RULE,
    &rules::deny_overridden::RULE,
    &rules::missing_default_deny::RULE,
    &rules::allow_all_peers::RULE,
    &rules::unprotected_workload::RULE,
    &rules::exposed_workload::RULE,
    &rules::non_production_into_production::RULE,
    &rules::one_sided_allow::RULE,
    &rules::policy_selects_nothing::RULE,
    &rules::rule_never_matches::RULE,
    &rules::redundant_policy::RULE,
    &rules::policy_not_enforced::RULE,
    &rules::cni_version_capability::RULE,
    &rules::coredns_version::RULE,
    &rules::hubble_disabled::RULE,
    &rules::audit_policy_gaps::RULE,
];

/// The rule with `code`, if any.
pub fn rule(code: &str) -> Option<&'static RuleMeta> {
    RULES
        .iter()
        .copied()
        .find(|r| r.code.eq_ignore_ascii_case(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_sorted_and_well_formed() {
        let codes: Vec<&str> = RULES.iter().map(|r| r.code).collect();
        let mut sorted = codes.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(codes, sorted, "sorted and unique");
        for c in codes {
            let digits = c.trim_start_matches(|ch: char| ch.is_ascii_uppercase());
            assert!(
                digits.len() == 3 && digits.chars().all(|d| d.is_ascii_digit()),
                "{c}"
            );
        }
    }

    #[test]
    fn every_rule_documents_every_section() {
        for r in RULES {
            for section in [
                "## What it does",
                "## Why is this bad?",
                "## Example",
                "## Use instead",
                "## References",
            ] {
                assert!(r.docs.contains(section), "{} lacks `{section}`", r.code);
            }
            assert!(
                r.docs.contains("https://"),
                "{} links the upstream docs",
                r.code
            );
        }
    }
}
