//! IST002 `no-sidecar-in-strict-namespace`.

use netfence_model::istio::MtlsMode;

use super::on_workload;
use crate::context::AuditCtx;
use crate::diagnostic::{Diagnostic, Severity};
use crate::registry::RuleMeta;

pub(crate) static RULE: RuleMeta = RuleMeta {
    code: "IST002",
    name: "no-sidecar-in-strict-namespace",
    summary: "a workload without an Istio proxy runs where mTLS is STRICT",
    severity: Severity::Medium,
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Reports workloads with no Istio proxy (injection disabled on the pod or namespace, or never
enabled) in a namespace whose PeerAuthentication resolves to STRICT.

## Why is this bad?
The workload has no mesh identity: every STRICT workload rejects its plaintext connections,
and nothing protects its own inbound traffic. It is usually an injection mistake
(`sidecar.istio.io/inject: "false"`, a missing namespace label) that breaks traffic silently.

## Example
`production` is STRICT; a Deployment there carries `sidecar.istio.io/inject: "false"`.

## Use instead
Enable injection for the workload (or move it out of the mesh namespace), or exempt it
deliberately with a workload PeerAuthentication and a note.

## References
- https://istio.io/latest/docs/setup/additional-setup/sidecar-injection/
- https://istio.io/latest/docs/reference/config/security/peer_authentication/
"#;

fn check(ctx: &AuditCtx<'_>, out: &mut Vec<Diagnostic>) {
    for (id, ep) in ctx.cluster.endpoints.iter().enumerate() {
        if ep.host_network || ctx.is_system(&ep.namespace) || ctx.ev.proxy(ep).is_some() {
            continue;
        }
        let (mode, by) = ctx.ev.mtls_mode(ep, 0);
        if mode != MtlsMode::Strict {
            continue;
        }
        let by: Vec<String> = by
            .iter()
            .map(|p| format!("{}/{}", p.namespace, p.name))
            .collect();
        out.push(on_workload(
            &RULE,
            ctx,
            id,
            format!(
                "{} has no Istio proxy but its namespace is STRICT ({}): meshed workloads reject its plaintext",
                ep.display_name(),
                by.join(", ")
            ),
            "enable sidecar injection for it (namespace label istio-injection=enabled, no `sidecar.istio.io/inject: \"false\"`)".into(),
        ));
    }
}
