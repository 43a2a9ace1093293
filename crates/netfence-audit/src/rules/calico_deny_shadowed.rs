//! CAL001 `deny-after-allow`.

use netfence_engine::eval::Evaluator;
use netfence_engine::Profile;

use super::finding;
use crate::context::AuditCtx;
use crate::diagnostic::{Diagnostic, Severity, Subject};
use crate::registry::RuleMeta;

pub(crate) static RULE: RuleMeta = RuleMeta {
    code: "CAL001",
    name: "deny-after-allow",
    summary: "a Calico Deny rule is reached only after an Allow that already admits the traffic",
    severity: Severity::High,
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Evaluates every Deny rule of the Calico policies as Calico does (tiers by order, policies by
order, first terminal rule wins) and reports a Deny that some earlier Allow, in the same or an
earlier tier, decides first for traffic the Deny matches, with one such flow and the rule that
wins. Kubernetes NetworkPolicies count as Allow rules of tier `default` at order 1000.

## Why is this bad?
A common mistake: the author meant the Deny to win, but in Calico the first matching
terminal rule decides. A Deny with a larger `order` than an Allow (or with no order at all,
which sorts last) never takes effect for what the Allow admits.

## Example
```yaml
kind: GlobalNetworkPolicy
metadata: {name: deny-suspicious}
spec:
  order: 2000          # after the Kubernetes NetworkPolicies (1000)
  selector: app == "api"
  ingress: [{action: Deny, source: {selector: app == "compromised-service"}}]
```

## Use instead
Give the Deny a smaller `order` than every Allow it must beat (50, say), or put it in
an earlier tier.

## References
- https://docs.tigera.io/calico/latest/network-policy/policy-tiers/tiered-policy
- https://docs.tigera.io/calico/latest/reference/resources/globalnetworkpolicy
"#;

fn check(ctx: &AuditCtx<'_>, out: &mut Vec<Diagnostic>) {
    if ctx.cluster.policies.calico_policies().is_empty() {
        return;
    }
    // Calico semantics whatever the profile: the rule is about how Calico reads the policies.
    let ev = Evaluator::new(ctx.cluster, Profile::Calico);
    for s in ev.calico_shadowed_denies() {
        let (src, dst, proto, port) = &s.example;
        out.push(finding(
            &RULE,
            Subject::Object(s.key.clone()),
            format!("Calico policy {}", s.policy),
            Some(s.origin.clone()),
            format!(
                "Deny rule {} of {} never takes effect for {src} => {dst} {proto} {port}: {} {} decides first ({})",
                s.rule,
                s.policy,
                s.decided_by.layer,
                s.decided_by.policy.as_deref().unwrap_or("the profile"),
                s.decided_by.detail
            ),
            "give the Deny a smaller `order` than the Allow it must beat, or move it to an earlier tier".into(),
        ));
    }
}
