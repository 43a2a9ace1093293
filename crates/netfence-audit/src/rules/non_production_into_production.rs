//! NP105 `non-production-into-production`.

#![expect(
    clippy::indexing_slicing,
    reason = "endpoint, class, rule and flow ids index the cluster and tables they were built from"
)]
use std::collections::BTreeMap;

use netfence_engine::connectivity::Node;

use super::on_workload;
use crate::context::AuditCtx;
use crate::diagnostic::{Diagnostic, Severity};
use crate::registry::RuleMeta;

pub(crate) static RULE: RuleMeta = RuleMeta {
    code: "NP105",
    name: "non-production-into-production",
    summary: "a workload of a non-production namespace can open connections into production",
    severity: Severity::High,
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Reads the environment label of namespaces (`env`, production value `production`; both
configurable) and reports every production workload that workloads of a namespace labelled with
another environment can connect to, with the connections allowed.

## Why is this bad?
Staging and development run unreviewed code and looser access. The seed opens with exactly this:
without isolation between environments, a compromised test pod reaches production.

## Example
Namespaces `staging{env=staging}` and `production{env=production}` with no policy in production.

## Use instead
A default deny in production, and allow-lists that name production namespaces only:
```yaml
ingress:
- from:
  - namespaceSelector: {matchLabels: {env: production}}
    podSelector: {matchLabels: {app: web}}
```

## References
- https://kubernetes.io/docs/concepts/services-networking/network-policies/#targeting-multiple-namespaces-by-label
"#;

fn check(ctx: &AuditCtx<'_>, out: &mut Vec<Diagnostic>) {
    let (key, prod) = &ctx.config.env_label;
    let env = |ns: &str| ctx.cluster.namespace_labels(ns).get(key).cloned();
    let mut into: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for e in ctx.map().edges() {
        let (Node::Endpoint(s), Node::Endpoint(d)) = (&e.src, &e.dst) else {
            continue;
        };
        let (src, dst) = (&ctx.cluster.endpoints[*s], &ctx.cluster.endpoints[*d]);
        let (Some(se), Some(de)) = (env(&src.namespace), env(&dst.namespace)) else {
            continue;
        };
        if &de == prod && &se != prod {
            into.entry(*d).or_default().push(format!(
                "{} ({se}) on {}",
                src.display_name(),
                e.conn
            ));
        }
    }
    for (id, from) in into {
        let ep = &ctx.cluster.endpoints[id];
        out.push(on_workload(
            &RULE,
            ctx,
            id,
            format!(
                "{} accepts connections from non-production workloads: {}",
                ep.display_name(),
                from.join("; ")
            ),
            format!(
                "isolate {} with a default deny and admit production namespaces only",
                ep.namespace
            ),
        ));
    }
}
