//! NP103 `unprotected-workload`.

#![expect(
    clippy::indexing_slicing,
    reason = "endpoint, class, rule and flow ids index the cluster and tables they were built from"
)]
use super::on_workload;
use crate::context::AuditCtx;
use crate::diagnostic::{Diagnostic, Severity};
use crate::registry::RuleMeta;

pub(crate) static RULE: RuleMeta = RuleMeta {
    code: "NP103",
    name: "unprotected-workload",
    summary: "no policy isolates a workload in a direction",
    severity: Severity::Medium,
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Lists workloads that no NetworkPolicy (nor admin policy) selects for ingress, or for egress:
in that direction they accept or open every connection.

## Why is this bad?
An unprotected workload is a free hop for lateral movement: anything that reaches its namespace
reaches it (ingress), or it can reach anything once compromised (egress).

## Example
A Deployment in a namespace whose policies all select other apps.

## Use instead
A namespace-wide default deny plus an allow-list for the workload:
`netfence generate default-deny --namespace NS --with-dns`, then
`netfence query --from ... --to ...` to find what it needs.

## References
- https://kubernetes.io/docs/concepts/services-networking/network-policies/#the-two-sorts-of-pod-isolation
"#;

fn check(ctx: &AuditCtx<'_>, out: &mut Vec<Diagnostic>) {
    let mut by_workload: std::collections::BTreeMap<usize, Vec<String>> = Default::default();
    for (id, dir) in &ctx.exposure().unprotected {
        by_workload
            .entry(*id)
            .or_default()
            .push(dir.to_string().to_lowercase());
    }
    for (id, dirs) in by_workload {
        let ep = &ctx.cluster.endpoints[id];
        if ctx.is_system(&ep.namespace) {
            continue;
        }
        out.push(on_workload(
            &RULE,
            ctx,
            id,
            format!(
                "no policy isolates {} for {}",
                ep.display_name(),
                dirs.join(" or ")
            ),
            format!(
                "add a default deny to namespace {} and an allow-list for this workload",
                ep.namespace
            ),
        ));
    }
}
