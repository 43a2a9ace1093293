//! NP003 `selector-matches-nothing`.

use netfence_engine::eval::rules_of;
use netfence_engine::Direction;
use netfence_model::{LabelSelector, NpPeer};

use super::{on_policy, rule_origin};
use crate::context::AuditCtx;
use crate::diagnostic::{Diagnostic, Severity};
use crate::registry::RuleMeta;

pub(crate) static RULE: RuleMeta = RuleMeta {
    code: "NP003",
    name: "selector-matches-nothing",
    summary:
        "a peer's namespaceSelector or podSelector matches no namespace or pod in the inventory",
    severity: Severity::Medium,
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Evaluates each `from`/`to` peer's selectors against the inventory: a `namespaceSelector` that no
namespace's labels satisfy, or a `podSelector` that no pod of the selected namespaces satisfies.
When the intent is clear (a namespace or workload named like a selector value), it prints the
`kubectl label` command that would make the selector match.

## Why is this bad?
The rule then allows nothing, silently, a common pitfall (a namespace missing the label a
policy selects on, such as `purpose=monitoring`, so monitoring is cut off).

## Example
```yaml
ingress:
- from: [{namespaceSelector: {matchLabels: {purpose: monitoring}}}]
```
with a `monitoring` namespace that has no `purpose` label.

## Use instead
`kubectl label namespace monitoring purpose=monitoring`, or select on the automatic
`kubernetes.io/metadata.name` label.

## References
- https://kubernetes.io/docs/concepts/services-networking/network-policies/#targeting-a-namespace-by-its-name
- https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/
"#;

fn label_args(sel: &LabelSelector) -> Option<String> {
    (sel.match_expressions.is_empty() && !sel.match_labels.is_empty()).then(|| {
        sel.match_labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    })
}

fn check(ctx: &AuditCtx<'_>, out: &mut Vec<Diagnostic>) {
    let c = ctx.cluster;
    for (i, np) in c.policies.network_policies().iter().enumerate() {
        for dir in [Direction::Ingress, Direction::Egress] {
            for (ri, rule) in rules_of(np, dir).into_iter().flatten().enumerate() {
                for peer in rule.peers.iter().flatten() {
                    let NpPeer::Pods { namespaces, pods } = peer else {
                        continue;
                    };
                    let ns_match: Vec<&str> = match namespaces {
                        None => vec![np.namespace.as_str()],
                        Some(sel) => c
                            .namespaces
                            .values()
                            .filter(|n| sel.matches(&n.labels))
                            .map(|n| n.name.as_str())
                            .collect(),
                    };
                    let key = if dir == Direction::Ingress {
                        "ingress"
                    } else {
                        "egress"
                    };
                    let origin = rule_origin(np, rule);
                    let (what, help) = if ns_match.is_empty() {
                        let sel = namespaces.as_ref().cloned().unwrap_or_default();
                        let guess = sel
                            .match_labels
                            .values()
                            .find_map(|v| c.namespaces.get(v.as_str()))
                            .and_then(|n| {
                                label_args(&sel)
                                    .map(|a| format!("kubectl label namespace {} {a}", n.name))
                            });
                        (
                            format!("namespaceSelector {sel} matches no namespace"),
                            guess.unwrap_or_else(|| "label the namespaces this rule is meant for, or select them by kubernetes.io/metadata.name".into()),
                        )
                    } else if let Some(sel) = pods {
                        let any = c.endpoints.iter().any(|e| {
                            ns_match.contains(&e.namespace.as_str()) && sel.matches(&e.labels)
                        });
                        if any {
                            continue;
                        }
                        let guess = sel
                            .match_labels
                            .values()
                            .find_map(|v| c.endpoints.iter().find(|e| ns_match.contains(&e.namespace.as_str()) && &e.name == v))
                            .and_then(|e| label_args(sel).map(|a| format!("add {a} to the pod template of {} (kubectl label only changes running pods)", e.display_name())));
                        (
                            format!(
                                "podSelector {sel} matches no pod in {}",
                                ns_match.join(", ")
                            ),
                            guess.unwrap_or_else(|| {
                                "check the labels of the pods this rule is meant for".into()
                            }),
                        )
                    } else {
                        continue;
                    };
                    out.push(on_policy(
                        &RULE,
                        i,
                        np,
                        origin,
                        format!(
                            "{key}[{ri}] of {}: {what}, so the peer allows nothing",
                            np.qualified_name()
                        ),
                        help,
                    ));
                }
            }
        }
    }
}
