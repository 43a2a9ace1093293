//! NP105 `non-production-into-production`.

#![expect(
    clippy::indexing_slicing,
    reason = "endpoint, class, rule and flow ids index the cluster and tables they were built from"
)]
use std::collections::BTreeMap;

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
Staging and development run unreviewed code and looser access. A typical incident starts exactly here:
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
    // per class pair: a class lives in one namespace, so the environments are the bundle's
    for (srcs, dsts, conn) in ctx.map().endpoint_bundles() {
        let (Some(&s0), Some(&d0)) = (srcs.first(), dsts.first()) else {
            continue;
        };
        let (src0, dst0) = (&ctx.cluster.endpoints[s0], &ctx.cluster.endpoints[d0]);
        let (Some(se), Some(de)) = (env(&src0.namespace), env(&dst0.namespace)) else {
            continue;
        };
        if &de != prod || &se == prod {
            continue;
        }
        for &s in srcs {
            for &d in dsts {
                if s != d {
                    into.entry(d).or_default().push(format!(
                        "{} ({se}) on {conn}",
                        ctx.cluster.endpoints[s].display_name()
                    ));
                }
            }
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
