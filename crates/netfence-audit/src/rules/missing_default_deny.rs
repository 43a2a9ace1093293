//! NP101 `missing-default-deny`.

use netfence_engine::Direction;

use super::{finding, namespace_default_deny};
use crate::context::AuditCtx;
use crate::diagnostic::{Diagnostic, Severity, Subject};
use crate::registry::RuleMeta;

pub(crate) static RULE: RuleMeta = RuleMeta {
    code: "NP101",
    name: "missing-default-deny",
    summary: "a namespace has no default deny for ingress or for egress",
    severity: Severity::High,
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
For every namespace with workloads (system namespaces excepted, configurable), checks that a
policy selecting *every* pod of the namespace (`podSelector: {}`) isolates ingress, and one
isolates egress, without allowing every peer on every port. The decision is made from what the
policies select and allow, never from their names: a policy called `default-deny` that allows
everything does not count, and one called `baseline` that denies does.

## Why is this bad?
Without a default deny, any pod added to the namespace tomorrow is reachable by, and can reach,
everything (one compromised pod reaches the payment system).
Per-workload allow-lists only protect the workloads someone remembered to write them for.

## Example
A namespace with only per-workload policies:
```yaml
kind: NetworkPolicy
metadata: {name: api, namespace: production}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}]}]
```

## Use instead
```yaml
kind: NetworkPolicy
metadata: {name: default-deny-all, namespace: production}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
```
with a DNS allowance (`netfence generate default-deny --namespace production --with-dns`).

## References
- https://kubernetes.io/docs/concepts/services-networking/network-policies/#default-policies
"#;

fn check(ctx: &AuditCtx<'_>, out: &mut Vec<Diagnostic>) {
    let mut namespaces: Vec<&str> = ctx
        .cluster
        .endpoints
        .iter()
        .map(|e| e.namespace.as_str())
        .collect();
    namespaces.sort();
    namespaces.dedup();
    for ns in namespaces {
        if ctx.is_system(ns) {
            continue;
        }
        let mut missing = Vec::new();
        for dir in [Direction::Ingress, Direction::Egress] {
            if !namespace_default_deny(ctx, ns, dir) {
                missing.push(dir);
            }
        }
        if missing.is_empty() {
            continue;
        }
        let dirs: Vec<String> = missing
            .iter()
            .map(|d| d.to_string().to_lowercase())
            .collect();
        out.push(finding(
            &RULE,
            Subject::Namespace(ns.to_string()),
            format!("Namespace {ns}"),
            ctx.namespace_origin(ns),
            format!(
                "namespace {ns} has no default deny for {}",
                dirs.join(" and ")
            ),
            format!("netfence generate default-deny --namespace {ns} --with-dns"),
        ));
    }
}
