//! NP104 `exposed-workload`.

#![expect(
    clippy::indexing_slicing,
    reason = "endpoint, class, rule and flow ids index the cluster and tables they were built from"
)]
use std::collections::BTreeMap;

use netfence_engine::connectivity::Node;
use netfence_engine::exposure::ExposedTo;
use netfence_engine::Direction;

use super::on_workload;
use crate::context::AuditCtx;
use crate::diagnostic::{Diagnostic, Severity};
use crate::registry::RuleMeta;

pub(crate) static RULE: RuleMeta = RuleMeta {
    code: "NP104",
    name: "exposed-workload",
    summary: "a protected workload's policies still admit any namespace or the internet",
    severity: Severity::High,
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
For workloads whose ingress *is* isolated, reports when their policies still admit connections
from any pod of any namespace (including namespaces that do not exist yet), or from addresses
outside the cluster. Unprotected workloads are reported by NP103 instead.

## Why is this bad?
Such a workload looks protected in review, but its blast radius is the whole cluster, or the
internet: one compromised pod anywhere reaches it.

## Example
```yaml
ingress:
- from: [{namespaceSelector: {}}]
  ports: [{protocol: TCP, port: 8080}]
```

## Use instead
Admit the namespaces and pods that call the workload:
```yaml
ingress:
- from:
  - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: frontend}}
    podSelector: {matchLabels: {app: web}}
  ports: [{protocol: TCP, port: 8080}]
```

## References
- https://kubernetes.io/docs/concepts/services-networking/network-policies/#networkpolicy-resource
"#;

fn check(ctx: &AuditCtx<'_>, out: &mut Vec<Diagnostic>) {
    let mut cluster_wide: BTreeMap<usize, String> = BTreeMap::new();
    for l in &ctx.exposure().lines {
        if l.direction == Direction::Ingress
            && l.to == ExposedTo::EntireCluster
            && ctx
                .ev
                .is_isolated(&ctx.cluster.endpoints[l.endpoint], Direction::Ingress)
        {
            cluster_wide.insert(l.endpoint, l.conn.to_string());
        }
    }
    let mut internet: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for e in ctx.map().external_ingress_edges() {
        if let (Node::External(r), Node::Endpoint(d)) = (&e.src, &e.dst) {
            if ctx
                .ev
                .is_isolated(&ctx.cluster.endpoints[*d], Direction::Ingress)
            {
                internet
                    .entry(*d)
                    .or_default()
                    .push(format!("{r} ({})", e.conn));
            }
        }
    }
    for (id, conn) in cluster_wide {
        let ep = &ctx.cluster.endpoints[id];
        out.push(on_workload(
            &RULE,
            ctx,
            id,
            format!(
                "{} admits any pod of any namespace on {conn}",
                ep.display_name()
            ),
            "replace `namespaceSelector: {}` with the namespaces (and pods) that call it".into(),
        ));
    }
    for (id, ranges) in internet {
        let ep = &ctx.cluster.endpoints[id];
        out.push(on_workload(&RULE, ctx, id, format!("{} admits addresses outside the cluster: {}", ep.display_name(), ranges.join(", ")),
            "narrow the ipBlock to the clients' ranges, or put the workload behind the ingress controller".into(),
        ));
    }
}
