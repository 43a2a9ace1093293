//! XP103 `hubble-disabled`.

use super::finding;
use crate::context::AuditCtx;
use crate::diagnostic::{Diagnostic, Severity, Subject};
use crate::registry::RuleMeta;

pub(crate) static RULE: RuleMeta = RuleMeta {
    code: "XP103",
    name: "hubble-disabled",
    summary: "Cilium runs with Hubble off: dropped flows cannot be observed",
    severity: Severity::Low,
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Reads the Cilium agent's `kube-system/cilium-config` ConfigMap (in the input, or from
`--cluster`) and reports `enable-hubble` other than `"true"`.

## Why is this bad?
Without Hubble, `hubble observe` has nothing to show: a policy drop is a timeout with no trace,
and `netfence flows explain` has no flows to explain. Observing flows is how a zero-trust rollout
finds what the policies break before users do.

## Example
```yaml
kind: ConfigMap
metadata: {name: cilium-config, namespace: kube-system}
data: {enable-hubble: "false"}
```

## Use instead
`enable-hubble: "true"` (Helm: `hubble.enabled=true`), with Hubble Relay for cluster-wide
queries.

## References
- https://docs.cilium.io/en/stable/observability/hubble/setup/
"#;

fn check(ctx: &AuditCtx<'_>, out: &mut Vec<Diagnostic>) {
    let Some(cfg) = &ctx.cluster.cilium_config else {
        return;
    };
    let value = cfg.get("enable-hubble").map(String::as_str);
    if value == Some("true") {
        return;
    }
    out.push(finding(
        &RULE,
        Subject::Cluster,
        "ConfigMap kube-system/cilium-config".into(),
        Some(cfg.origin.clone()),
        format!(
            "cilium-config has enable-hubble: {}: Hubble observes no flow, so drops leave no trace",
            value.map_or("(unset)".to_string(), |v| format!("\"{v}\""))
        ),
        "set enable-hubble: \"true\" (Helm: hubble.enabled=true)".into(),
    ));
}
