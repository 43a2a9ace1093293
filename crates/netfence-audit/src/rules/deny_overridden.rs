//! NP005 `deny-overridden`.

use netfence_engine::eval::rules_of;
use netfence_engine::Direction;

use super::{on_policy, policy_subjects};
use crate::context::AuditCtx;
use crate::diagnostic::{Diagnostic, Severity};
use crate::registry::RuleMeta;

pub(crate) static RULE: RuleMeta = RuleMeta {
    code: "NP005",
    name: "deny-overridden",
    summary:
        "a policy meant to deny is undone by another policy's allow (NetworkPolicy is additive)",
    severity: Severity::High,
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Finds NetworkPolicies aimed at particular workloads whose intent is to deny (their name
contains `deny`, or they carry the annotation `netfence.dev/intent: deny`) and which allow
nothing in a direction, while another policy selecting the same workloads allows traffic in that
direction. It names the workloads and the policies that win. A namespace-wide default deny
(`podSelector: {}`) is left alone: it is the baseline allow-lists are meant to open.

## Why is this bad?
NetworkPolicies never deny: they only add allowances, and the union wins.
A "deny" policy next to an allow policy denies nothing the allow policy admits; reviewers who
read the deny policy alone are misled.

## Example
```yaml
kind: NetworkPolicy
metadata: {name: deny-from-staging, namespace: production}
spec: {podSelector: {matchLabels: {app: api}}, policyTypes: [Ingress]}
---
kind: NetworkPolicy
metadata: {name: api-allow, namespace: production}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress: [{from: [{namespaceSelector: {}}]}]
```

## Use instead
Express a deny that must win with a layer that has precedence: an AdminNetworkPolicy `Deny`
(evaluated before every NetworkPolicy), or a Calico policy with a lower `order` and a `Deny`
action. Otherwise narrow the allow policy.

## References
- https://kubernetes.io/docs/concepts/services-networking/network-policies/#networkpolicy-resource
- https://network-policy-api.sigs.k8s.io/api-overview/
- https://docs.tigera.io/calico/latest/network-policy/policy-tiers/tiered-policy
"#;

fn check(ctx: &AuditCtx<'_>, out: &mut Vec<Diagnostic>) {
    let c = ctx.cluster;
    for (i, p) in c.policies.network_policies().iter().enumerate() {
        let intent = p.name.to_ascii_lowercase().contains("deny")
            || p.annotations
                .get("netfence.dev/intent")
                .is_some_and(|v| v == "deny");
        // A namespace-wide default deny is a baseline that allow-lists are meant to open: that
        // is the zero-trust pattern, not the pitfall.
        if !intent || p.pod_selector.is_empty() {
            continue;
        }
        for dir in [Direction::Ingress, Direction::Egress] {
            let Some(rules) = rules_of(p, dir) else {
                continue;
            };
            if !rules.is_empty() {
                continue;
            }
            let mut winners: Vec<String> = Vec::new();
            let mut workloads: Vec<String> = Vec::new();
            for ep in policy_subjects(ctx, p) {
                let others: Vec<String> = ctx
                    .ev
                    .selecting_policies(ep, dir)
                    .iter()
                    .filter(|q| q.name != p.name && rules_of(q, dir).is_some_and(|r| !r.is_empty()))
                    .map(|q| q.qualified_name())
                    .collect();
                if !others.is_empty() {
                    workloads.push(ep.display_name());
                    winners.extend(others);
                }
            }
            if workloads.is_empty() {
                continue;
            }
            winners.sort();
            winners.dedup();
            let key = if dir == Direction::Ingress {
                "ingress"
            } else {
                "egress"
            };
            out.push(on_policy(&RULE, i, p, p.origin.clone(), format!(
                    "{} reads as a deny, but {} allow {key} to {}: NetworkPolicies add up, so the deny does not hold",
                    p.qualified_name(),
                    winners.join(", "),
                    workloads.join(", ")
                ),
                "use an AdminNetworkPolicy Deny (evaluated before NetworkPolicy) or Calico order/Deny, or narrow the allowing policies".into(),
            ));
        }
    }
}
