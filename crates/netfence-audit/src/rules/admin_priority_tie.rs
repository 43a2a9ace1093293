//! AP001 `admin-priority-tie`.

use netfence_model::AdminPolicy;

use super::finding;
use crate::context::AuditCtx;
use crate::diagnostic::{Diagnostic, Severity, Subject};
use crate::registry::RuleMeta;

pub(crate) static RULE: RuleMeta = RuleMeta {
    code: "AP001",
    name: "admin-priority-tie",
    summary:
        "two admin-tier policies of equal priority match one connection with different actions",
    severity: Severity::Medium,
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
For every two policies of one tier with the same `priority` (AdminNetworkPolicies and Admin
ClusterNetworkPolicies; Baseline ClusterNetworkPolicies), checks whether some pod both select
has a connection that a rule of each matches (same direction, a peer both match, a port both
name) with different actions. It names the pod, the peer and both rules.

## Why is this bad?
The API leaves the order of equal priorities to the implementation: "the implementation can
apply any of the matching policies to the connection, and there is no way for the user to
reliably determine which one it will choose" (network-policy-api, `priority`). One CNI may
accept the connection and another deny it, or the same CNI after a restart. netfence evaluates
AdminNetworkPolicies before ClusterNetworkPolicies, then by name, and says so here.

## Example
```yaml
kind: AdminNetworkPolicy
metadata: {name: allow-monitoring}
spec:
  priority: 10
  subject: {namespaces: {}}
  ingress: [{action: Allow, from: [{namespaces: {matchLabels: {team: ops}}}]}]
---
kind: AdminNetworkPolicy
metadata: {name: deny-ops}
spec:
  priority: 10
  subject: {namespaces: {}}
  ingress: [{action: Deny, from: [{namespaces: {matchLabels: {team: ops}}}]}]
```

## Use instead
Give each policy its own priority (lower numbers first).

## References
- https://network-policy-api.sigs.k8s.io/reference/spec/ (ClusterNetworkPolicySpec.priority)
- https://github.com/kubernetes-sigs/network-policy-api/issues/222
"#;

fn check(ctx: &AuditCtx<'_>, out: &mut Vec<Diagnostic>) {
    let c = ctx.cluster;
    let tiers: [Vec<&AdminPolicy>; 2] = [
        c.policies
            .admin_policies()
            .iter()
            .chain(
                c.policies
                    .cluster_network_policies()
                    .iter()
                    .filter(|p| !p.kind.is_baseline()),
            )
            .collect(),
        c.policies
            .cluster_network_policies()
            .iter()
            .filter(|p| p.kind.is_baseline())
            .collect(),
    ];
    for mut tier in tiers {
        tier.sort_by_key(|p| (p.priority, p.kind, p.name.clone()));
        for (i, a) in tier.iter().enumerate() {
            for b in tier.iter().skip(i + 1) {
                if a.priority != b.priority {
                    continue;
                }
                let Some(o) = ctx.ev.admin_overlap(a, b) else {
                    continue;
                };
                let ep = &c.endpoints[o.subject];
                out.push(finding(
                    &RULE,
                    Subject::Object(netfence_model::cluster::object_key(
                        if b.kind.is_cluster_network_policy() {
                            "ClusterNetworkPolicy"
                        } else {
                            "AdminNetworkPolicy"
                        },
                        None,
                        &b.name,
                    )),
                    format!("{} {} and {} {}", a.kind.label(), a.name, b.kind.label(), b.name),
                    Some(b.origin.clone()),
                    format!(
                        "{} {} and {} {} share priority {} and disagree on {} {} {}: rule `{}` says {}, rule `{}` says {}; the implementation picks either",
                        a.kind.label(),
                        a.name,
                        b.kind.label(),
                        b.name,
                        a.priority.unwrap_or_default(),
                        o.direction.to_string().to_lowercase(),
                        if o.direction == netfence_engine::Direction::Ingress { "to" } else { "from" },
                        ep.display_name(),
                        o.rule_a,
                        action(a, &o.rule_a),
                        o.rule_b,
                        action(b, &o.rule_b),
                    ) + &format!(" (peer {})", o.peer),
                    format!("give {} or {} another priority", a.name, b.name),
                ));
            }
        }
    }
}

/// The action of `p`'s rule `rule`, as `p`'s API spells it.
fn action(p: &AdminPolicy, rule: &str) -> &'static str {
    let a = p
        .ingress
        .iter()
        .chain(&p.egress)
        .find(|r| r.name == rule)
        .map_or(netfence_model::AdminAction::Pass, |r| r.action);
    p.kind.action_word(a)
}
