//! NP202 `rule-never-matches`.

use netfence_engine::eval::{rules_of, Peer};
use netfence_engine::Direction;
use netfence_model::{NpPeer, PortRef};

use super::{on_policy, policy_subjects, rule_origin};
use crate::context::AuditCtx;
use crate::diagnostic::{Diagnostic, Severity};
use crate::registry::RuleMeta;

pub(crate) static RULE: RuleMeta = RuleMeta {
    code: "NP202",
    name: "rule-never-matches",
    summary: "a rule's named port is declared by no pod that receives its traffic",
    severity: Severity::Medium,
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Resolves every named port of a rule where Kubernetes resolves it: on the pods the policy selects
for ingress rules, on the destination pods for egress rules. A named port that no such pod
declares with that protocol matches nothing; a rule whose ports all match nothing (or whose
named ports point at `ipBlock` peers, which have no container ports) can never match.

## Why is this bad?
A typo in a port name, or the wrong protocol (`dns` on TCP where the pod declares it on UDP),
silently turns an allow rule into nothing: the connection is denied and the policy looks right.

## Example
```yaml
ingress:
- ports: [{port: htpp}]
```

## Use instead
Use the name the container declares (`ports[].name`), with its protocol, or the port number.

## References
- https://kubernetes.io/docs/concepts/services-networking/network-policies/#networkpolicyport
"#;

fn check(ctx: &AuditCtx<'_>, out: &mut Vec<Diagnostic>) {
    let c = ctx.cluster;
    for (i, np) in c.policies.network_policies().iter().enumerate() {
        let subjects: Vec<_> = policy_subjects(ctx, np).collect();
        if subjects.is_empty() {
            continue; // NP201
        }
        for dir in [Direction::Ingress, Direction::Egress] {
            for (ri, rule) in rules_of(np, dir).into_iter().flatten().enumerate() {
                let Some(ports) = &rule.ports else { continue };
                // Only named ports can fail to resolve: skip the receivers' scan otherwise.
                if !ports
                    .iter()
                    .any(|p| matches!(p.port, Some(PortRef::Name(_))))
                {
                    continue;
                }
                let receivers: Vec<_> = match dir {
                    Direction::Ingress => subjects.clone(),
                    Direction::Egress => c
                        .endpoints
                        .iter()
                        .filter(|e| match &rule.peers {
                            None => true,
                            Some(p) => p.iter().any(|x| {
                                matches!(x, NpPeer::Pods { .. })
                                    && ctx.ev.np_peer_matches(np, x, Peer::Endpoint(e))
                            }),
                        })
                        .collect(),
                };
                let dead: Vec<String> = ports
                    .iter()
                    .filter_map(|p| match &p.port {
                        Some(PortRef::Name(n))
                            if !receivers
                                .iter()
                                .any(|e| e.resolve_named_port(n, p.protocol).is_some()) =>
                        {
                            Some(format!("{n}/{}", p.protocol))
                        }
                        _ => None,
                    })
                    .collect();
                if dead.is_empty() {
                    continue;
                }
                let all_dead = dead.len() == ports.len();
                let key = if dir == Direction::Ingress {
                    "ingress"
                } else {
                    "egress"
                };
                let origin = rule_origin(np, rule);
                out.push(on_policy(&RULE, i, np, origin, format!(
                        "{key}[{ri}] of {}: named port {} is declared by no pod that receives this traffic{}",
                        np.qualified_name(),
                        dead.join(", "),
                        if all_dead { ", so the rule never matches" } else { "" }
                    ),
                    "use the port name the containers declare, with its protocol, or the port number".into(),
                ));
            }
        }
    }
}
