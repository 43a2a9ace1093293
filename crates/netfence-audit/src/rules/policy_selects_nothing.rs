//! NP201 `policy-selects-nothing`.

use super::{on_policy, policy_subjects};
use crate::context::AuditCtx;
use crate::diagnostic::{Diagnostic, Severity};
use crate::registry::RuleMeta;

pub(crate) static RULE: RuleMeta = RuleMeta {
    code: "NP201",
    name: "policy-selects-nothing",
    summary: "a NetworkPolicy's podSelector matches no workload of its namespace",
    severity: Severity::Low,
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Reports NetworkPolicies whose `spec.podSelector` selects no workload of the inventory in their
namespace (policies with an empty selector, which apply to future pods, are not reported).

## Why is this bad?
The policy protects nothing: usually a label typo or a renamed app, which leaves the intended
workload unprotected while the policy count suggests otherwise ("policy explosion":
policies nobody can tell are dead).

## Example
```yaml
spec:
  podSelector: {matchLabels: {app: paymnet}}
```

## Use instead
Fix the selector, or delete the policy.

## References
- https://kubernetes.io/docs/concepts/services-networking/network-policies/#networkpolicy-resource
"#;

fn check(ctx: &AuditCtx<'_>, out: &mut Vec<Diagnostic>) {
    for (i, np) in ctx.cluster.policies.network_policies().iter().enumerate() {
        if np.pod_selector.is_empty() {
            continue;
        }
        let any = policy_subjects(ctx, np).next().is_some();
        if any {
            continue;
        }
        out.push(on_policy(
            &RULE,
            i,
            np,
            np.origin.clone(),
            format!(
                "{} selects no workload in namespace {} (podSelector {})",
                np.qualified_name(),
                np.namespace,
                np.pod_selector
            ),
            "fix the podSelector's labels, or delete the policy".into(),
        ));
    }
}
