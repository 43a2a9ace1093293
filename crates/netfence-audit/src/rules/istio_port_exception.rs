//! IST003 `port-level-mtls-exception`.

use netfence_model::istio::MtlsMode;

use super::finding;
use crate::context::AuditCtx;
use crate::diagnostic::{Diagnostic, Severity, Subject};
use crate::registry::RuleMeta;

pub(crate) static RULE: RuleMeta = RuleMeta {
    code: "IST003",
    name: "port-level-mtls-exception",
    summary: "a PeerAuthentication opens a port to plaintext (portLevelMtls PERMISSIVE or DISABLE)",
    severity: Severity::Medium,
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Reports `portLevelMtls` entries that loosen mTLS (PERMISSIVE or DISABLE) on a port.

## Why is this bad?
A port-level exception is an easy-to-miss hole in a STRICT mesh: the workload looks STRICT in
the namespace and mesh policies, yet one port takes plaintext without identity.

## Example
```yaml
spec:
  selector: {matchLabels: {app: api}}
  mtls: {mode: STRICT}
  portLevelMtls: {9090: {mode: DISABLE}}
```

## Use instead
Keep exceptions to ports that cannot speak mTLS (for example a kubelet probe port), and
document each; prefer STRICT everywhere.

## References
- https://istio.io/latest/docs/reference/config/security/peer_authentication/
"#;

fn check(ctx: &AuditCtx<'_>, out: &mut Vec<Diagnostic>) {
    for pa in ctx.cluster.policies.peer_authentications() {
        let loose: Vec<String> = pa
            .port_level
            .iter()
            .filter(|(_, m)| matches!(m, MtlsMode::Permissive | MtlsMode::Disable))
            .map(|(p, m)| format!("{m} on port {p}"))
            .collect();
        if loose.is_empty() {
            continue;
        }
        out.push(finding(
            &RULE,
            Subject::Object(netfence_model::cluster::object_key(
                "PeerAuthentication",
                Some(&pa.namespace),
                &pa.name,
            )),
            format!("PeerAuthentication {}/{}", pa.namespace, pa.name),
            Some(pa.origin.clone()),
            format!(
                "PeerAuthentication {}/{} makes an exception: {}",
                pa.namespace,
                pa.name,
                loose.join(", ")
            ),
            "remove the exception, or keep it to a port that cannot speak mTLS and say why".into(),
        ));
    }
}
