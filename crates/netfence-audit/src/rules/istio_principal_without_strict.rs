//! IST004 `identity-rule-without-strict-mtls`.

use netfence_model::istio::{AuthzAction, MtlsMode};

use super::{authorization_subjects, on_authorization_policy};
use crate::context::AuditCtx;
use crate::diagnostic::{Diagnostic, Severity};
use crate::registry::RuleMeta;

pub(crate) static RULE: RuleMeta = RuleMeta {
    code: "IST004",
    name: "identity-rule-without-strict-mtls",
    summary: "an AuthorizationPolicy decides on peer identity where mTLS is not STRICT",
    severity: Severity::Medium,
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Reports AuthorizationPolicy rules that use the peer's identity (`principals`, `namespaces`,
`serviceAccounts`, their `not` forms, `source.principal`/`source.namespace` conditions) on
workloads whose mTLS mode is not STRICT.

## Why is this bad?
Identity comes from the mTLS certificate. A plaintext caller has none: an ALLOW on principals
silently refuses it, and a DENY on `notPrincipals`/`notNamespaces` may or may not match it
depending on the Istio version. The policy's meaning depends on transport it does not control.

## Example
`backend-authz` allows `cluster.local/ns/production/sa/frontend` on a PERMISSIVE workload.

## Use instead
Make the workload STRICT (PeerAuthentication), so every caller has a verified identity.

## References
- https://istio.io/latest/docs/reference/config/security/authorization-policy/
- https://istio.io/latest/docs/concepts/security/#dependency-on-mutual-tls
"#;

fn check(ctx: &AuditCtx<'_>, out: &mut Vec<Diagnostic>) {
    for ap in ctx.cluster.policies.authorization_policies() {
        if matches!(ap.action, AuthzAction::Audit) {
            continue;
        }
        let uses_identity = ap.rules.iter().any(|r| {
            r.from.iter().flatten().any(|s| {
                !(s.principals.is_empty()
                    && s.not_principals.is_empty()
                    && s.namespaces.is_empty()
                    && s.not_namespaces.is_empty()
                    && s.service_accounts.is_empty())
            }) || r
                .when
                .iter()
                .any(|c| c.key == "source.principal" || c.key == "source.namespace")
        });
        if !uses_identity {
            continue;
        }
        let loose: Vec<String> = authorization_subjects(ctx, ap)
            .filter_map(|ep| {
                let (m, _) = ctx.ev.mtls_mode(ep, 0);
                (m != MtlsMode::Strict).then(|| format!("{} ({m})", ep.display_name()))
            })
            .collect();
        if loose.is_empty() {
            continue;
        }
        out.push(on_authorization_policy(&RULE, ap,
            format!(
                "{} decides on peer identity, but mTLS is not STRICT for {}: plaintext callers have no identity to check",
                ap.qualified_name(),
                loose.join(", ")
            ),
            "make these workloads STRICT with a PeerAuthentication".into(),
        ));
    }
}
