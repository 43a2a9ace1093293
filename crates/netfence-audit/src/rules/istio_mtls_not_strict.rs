//! IST001 `mtls-not-strict`.

use netfence_model::istio::MtlsMode;
use netfence_model::Protocol;

use super::on_workload;
use crate::context::AuditCtx;
use crate::diagnostic::{Diagnostic, Severity};
use crate::registry::RuleMeta;

pub(crate) static RULE: RuleMeta = RuleMeta {
    code: "IST001",
    name: "mtls-not-strict",
    summary: "a workload in the mesh accepts plaintext: its effective mTLS mode is not STRICT",
    severity: Severity::High,
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Resolves PeerAuthentication for every workload that has an Istio proxy, as Istio does (the
oldest mesh-wide policy in the root namespace, then the namespace's, then the workload's, with
`portLevelMtls` on container ports; PERMISSIVE when nothing is set) and reports workloads that
accept plaintext on some port.

## Why is this bad?
Without STRICT, any pod (including one without a sidecar) can talk to
the workload in plaintext with no identity, so identity-based AuthorizationPolicies cannot be
relied on.

## Example
Namespace `production` with sidecar injection and no PeerAuthentication: every workload is
PERMISSIVE.

## Use instead
```yaml
apiVersion: security.istio.io/v1beta1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec: {mtls: {mode: STRICT}}
```

## References
- https://istio.io/latest/docs/reference/config/security/peer_authentication/
- https://istio.io/latest/docs/tasks/security/authentication/mtls-migration/
"#;

fn check(ctx: &AuditCtx<'_>, out: &mut Vec<Diagnostic>) {
    for (id, ep) in ctx.cluster.endpoints.iter().enumerate() {
        if ctx.is_system(&ep.namespace) || ctx.ev.proxy(ep).is_none() {
            continue;
        }
        let mut loose: Vec<String> = Vec::new();
        let (default_mode, _) = ctx.ev.mtls_mode(ep, 0);
        if default_mode != MtlsMode::Strict {
            loose.push(format!("{default_mode} by default"));
        }
        for (port, proto) in &ep.container_ports {
            if *proto != Protocol::Tcp {
                continue;
            }
            let (m, _) = ctx.ev.mtls_mode(ep, *port);
            if m != default_mode && m != MtlsMode::Strict {
                loose.push(format!("{m} on port {port}"));
            }
        }
        if loose.is_empty() {
            continue;
        }
        out.push(on_workload(
            &RULE,
            ctx,
            id,
            format!(
                "{} accepts plaintext: mTLS {}",
                ep.display_name(),
                loose.join(", ")
            ),
            "add a STRICT PeerAuthentication (mesh-wide in the root namespace, or for the namespace)".into(),
        ));
    }
}
