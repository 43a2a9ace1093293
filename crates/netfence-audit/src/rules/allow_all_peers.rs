//! NP102 `allow-all-peers`.

use netfence_engine::eval::rules_of;
use netfence_engine::Direction;
use netfence_model::{NpPeer, NpRule};

use super::{on_policy, rule_origin};
use crate::context::AuditCtx;
use crate::diagnostic::{Diagnostic, Severity};
use crate::registry::RuleMeta;

pub(crate) static RULE: RuleMeta = RuleMeta {
    code: "NP102",
    name: "allow-all-peers",
    summary:
        "a rule admits every peer: no from/to, every namespace on every port, or 0.0.0.0/0 ingress",
    severity: Severity::High,
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Reports rules that open a workload to everyone: a rule with neither peers nor ports (all
sources or destinations, external ones included, on every port), a `namespaceSelector: {}`
peer (every pod of every namespace) on every port, and ingress from `ipBlock` `0.0.0.0/0` or
`::/0`. This is the classic "allow all" audit check, decided on what the rule admits rather than on how
it is spelled (`from: []` is as open as a missing `from`).

## Why is this bad?
An allow-all rule turns the policy it sits in into a no-op for that direction while looking like
protection in review. `from: []` meaning "everyone" is a classic misreading.

## Example
```yaml
ingress:
- from: []
```

## Use instead
Name the peers and ports the workload serves:
```yaml
ingress:
- from: [{podSelector: {matchLabels: {app: web}}}]
  ports: [{protocol: TCP, port: 8080}]
```

## References
- https://kubernetes.io/docs/concepts/services-networking/network-policies/#behavior-of-to-and-from-selectors
"#;

fn describe(rule: &NpRule, dir: Direction) -> Option<&'static str> {
    match &rule.peers {
        None if rule.ports.is_none() => Some("every peer on every port"),
        None => None,
        Some(peers) => peers.iter().find_map(|p| match p {
            NpPeer::Pods {
                namespaces: Some(ns),
                pods,
            } if ns.is_empty()
                && pods.as_ref().is_none_or(|p| p.is_empty())
                && rule.ports.is_none() =>
            {
                Some("every pod of every namespace on every port")
            }
            NpPeer::IpBlock { cidr, except, .. }
                if dir == Direction::Ingress
                    && except.is_empty()
                    && (cidr == "0.0.0.0/0" || cidr == "::/0") =>
            {
                Some("the whole internet (ipBlock 0.0.0.0/0 or ::/0)")
            }
            _ => None,
        }),
    }
}

fn check(ctx: &AuditCtx<'_>, out: &mut Vec<Diagnostic>) {
    for (i, np) in ctx.cluster.policies.network_policies().iter().enumerate() {
        for dir in [Direction::Ingress, Direction::Egress] {
            for (ri, rule) in rules_of(np, dir).into_iter().flatten().enumerate() {
                let Some(what) = describe(rule, dir) else {
                    continue;
                };
                let origin = rule_origin(np, rule);
                let key = if dir == Direction::Ingress {
                    "ingress"
                } else {
                    "egress"
                };
                out.push(on_policy(&RULE, i, np, origin, format!("{key}[{ri}] of {} admits {what}", np.qualified_name()),
                    "list the peers (podSelector/namespaceSelector) and ports this workload really needs".into(),
                ));
            }
        }
    }
}
