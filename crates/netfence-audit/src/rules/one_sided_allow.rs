//! NP106 `one-sided-allow`.

use netfence_engine::eval::Peer;
use netfence_engine::verdict::LayerVerdict;
use netfence_engine::Direction;
use netfence_model::{ConnSet, Endpoint, Protocol};

use super::on_workload;
use crate::context::AuditCtx;
use crate::diagnostic::{Diagnostic, Severity};
use crate::registry::RuleMeta;

pub(crate) static RULE: RuleMeta = RuleMeta {
    code: "NP106",
    name: "one-sided-allow",
    summary: "one side's policy allows a connection the other side's policies refuse entirely",
    severity: Severity::Medium,
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
For every rule of an isolated side (egress at a source, ingress at a destination) that allows
something with other workloads, checks that at least one of them, isolated on its own side,
accepts part of it. When none does, the rule is dead: its connections can never be
established. Both sides are evaluated with every layer of the profile, in every dialect
(NetworkPolicy, the admin tiers, Cilium, Calico). A broad rule (every pod of some namespaces)
that some peer accepts is working and is not reported; partly matching ports (egress allows
TCP 8000-8100, ingress admits 8080) are not reported either.

## Why is this bad?
A connection needs both sides. The usual cause is a default deny added on one side without the
matching allow: `backend` allows egress from api to redis, but redis's ingress admits nobody;
`kafka-policy` admits payment-service, but payment-service's egress allow-list has no kafka
rule. The application fails with a timeout, and the allowing rule suggests it should work.

## Example
```yaml
kind: NetworkPolicy
metadata: {name: api-egress, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  policyTypes: [Egress]
  egress: [{to: [{podSelector: {matchLabels: {app: redis}}}], ports: [{port: 6379}]}]
---
kind: NetworkPolicy
metadata: {name: default-deny, namespace: shop}
spec: {podSelector: {}, policyTypes: [Ingress]}
```

## Use instead
Add the other side's allow:
```yaml
kind: NetworkPolicy
metadata: {name: redis-ingress, namespace: shop}
spec:
  podSelector: {matchLabels: {app: redis}}
  ingress: [{from: [{podSelector: {matchLabels: {app: api}}}], ports: [{port: 6379}]}]
```
(`netfence query` on the pair shows each side's deciding rule.)

## References
- https://kubernetes.io/docs/concepts/services-networking/network-policies/#networkpolicy-resource
"#;

/// A (protocol, port) of `conn`: a port the receiver declares when one is in it.
fn sample(conn: &ConnSet, receiver: &Endpoint) -> Option<(Protocol, u16)> {
    receiver
        .container_ports
        .iter()
        .find(|(port, proto)| conn.contains(*proto, *port))
        .map(|(port, proto)| (*proto, *port))
        .or_else(|| {
            Protocol::PORTS
                .into_iter()
                .find_map(|p| conn.ports(p).ranges().first().map(|r| (p, r.0)))
        })
}

fn check(ctx: &AuditCtx<'_>, out: &mut Vec<Diagnostic>) {
    let c = ctx.cluster;
    for o in netfence_engine::connectivity::one_sided(c, ctx.profile) {
        let Some(&first) = o.far.first() else {
            continue;
        };
        let (near, far) = (&c.endpoints[o.near], &c.endpoints[first]);
        let dir = o.allowed_by;
        let (src, dst) = match dir {
            Direction::Egress => (near, far),
            Direction::Ingress => (far, near),
        };
        let Some((proto, port)) = sample(&o.conn, dst) else {
            continue;
        };
        let (_, steps) = ctx.ev.explain(near, Peer::Endpoint(far), dir, proto, port);
        let allowing = steps
            .iter()
            .rev()
            .find(|s| s.verdict == LayerVerdict::Allow && s.policy.is_some())
            .map(|s| {
                format!(
                    "{} {}{}",
                    s.layer,
                    s.policy.as_deref().unwrap_or("?"),
                    s.rule
                        .as_deref()
                        .map(|r| format!(" rule {r}"))
                        .unwrap_or_default()
                )
            })
            .unwrap_or_else(|| "a rule".into());
        let isolating = ctx.ev.isolating_policy_names(far, dir.opposite());
        let isolating = if isolating.is_empty() {
            "its policies".to_string()
        } else {
            isolating.join(", ")
        };
        let others = match o.far.len() {
            1 => String::new(),
            n => format!(
                " (and the {} other workloads it names: none accepts it)",
                n - 1
            ),
        };
        out.push(on_workload(
            &RULE,
            ctx,
            o.near,
            format!(
                "{} -> {} {proto} {port}: {} of {} allows it ({allowing}), but {} of {} refuses it entirely (isolated by {isolating}){others}",
                src.display_name(),
                dst.display_name(),
                dir.to_string().to_lowercase(),
                near.display_name(),
                dir.opposite().to_string().to_lowercase(),
                far.display_name(),
            ),
            format!(
                "allow {} {} {} on {proto} {port} as well, or remove the dead allow",
                dir.opposite().to_string().to_lowercase(),
                if dir == Direction::Egress { "at" } else { "from" },
                far.display_name()
            ),
        ));
    }
}
