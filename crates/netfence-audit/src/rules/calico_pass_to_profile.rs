//! CAL002 `pass-to-profile`.

use netfence_engine::eval::Evaluator;
use netfence_engine::Profile;

use super::finding;
use crate::context::AuditCtx;
use crate::diagnostic::{Diagnostic, Severity, Subject};
use crate::registry::RuleMeta;

pub(crate) static RULE: RuleMeta = RuleMeta {
    code: "CAL002",
    name: "pass-to-profile",
    summary:
        "a Calico Pass rule passes to no later tier, so the namespace profile allows the traffic",
    severity: Severity::Medium,
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Reports a Calico `Pass` rule whose workloads have no policy in any later tier: the passed
traffic reaches the end of the tiers, where the Kubernetes namespace profile allows everything.

## Why is this bad?
`Pass` reads like "let a later tier decide", but when no later tier selects the workload it is
an Allow in disguise, and removing a later policy silently widens it.

## Example
A tier `security` (order 100) with `action: Pass` for `app == "web"`, and no policy in tier
`default` selecting `web`.

## Use instead
Write the Allow or Deny that is meant, or make sure a later tier (for example `default`) has a
policy for those workloads.

## References
- https://docs.tigera.io/calico/latest/network-policy/policy-tiers/tiered-policy
"#;

fn check(ctx: &AuditCtx<'_>, out: &mut Vec<Diagnostic>) {
    if ctx.cluster.policies.calico_policies().is_empty() {
        return;
    }
    let ev = Evaluator::new(ctx.cluster, Profile::Calico);
    for p in ev.calico_pass_to_profile() {
        out.push(finding(
            &RULE,
            Subject::Object(p.key.clone()),
            format!("Calico policy {}", p.policy),
            Some(p.origin.clone()),
            format!(
                "Pass rule {} of {} has nothing after it for {}: the namespace profile allows what it passes",
                p.rule, p.policy, p.workload
            ),
            "replace the Pass with the Allow or Deny that is meant, or add a policy for the workload in a later tier".into(),
        ));
    }
}
