//! IST005 `http-rule-on-tcp-port`.

use netfence_model::istio::AuthzAction;
use netfence_model::Protocol;

use super::{authorization_subjects, on_authorization_policy};
use crate::context::AuditCtx;
use crate::diagnostic::{Diagnostic, Severity};
use crate::registry::RuleMeta;

pub(crate) static RULE: RuleMeta = RuleMeta {
    code: "IST005",
    name: "http-rule-on-tcp-port",
    summary: "an ALLOW rule with HTTP fields applies to plain TCP ports, where Istio drops it",
    severity: Severity::High,
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Reports ALLOW rules that use HTTP-only fields (`methods`, `paths`, `hosts`, request principals,
`request.*` conditions) for workloads whose targeted ports are declared as plain TCP (port names
`tcp`, `tls`, `mysql`, `mongo`, `redis`, `postgres`... on the container or Service port).

## Why is this bad?
For non-HTTP traffic Istio removes such an ALLOW rule entirely, so it never allows anything
there: the traffic the author meant to allow is refused (a DENY rule is broadened instead).

## Example
ALLOW `methods: ["GET"]` for a Postgres port named `tcp-postgres`.

## Use instead
Write TCP rules for TCP ports (`ports`, sources), and keep HTTP fields for HTTP ports.

## References
- https://istio.io/latest/docs/reference/config/security/authorization-policy/
- https://istio.io/latest/docs/ops/configuration/traffic-management/protocol-selection/
"#;

fn check(ctx: &AuditCtx<'_>, out: &mut Vec<Diagnostic>) {
    for ap in ctx
        .cluster
        .policies
        .authorization_policies()
        .iter()
        .filter(|a| a.action == AuthzAction::Allow)
    {
        for (i, r) in ap
            .rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.has_http_fields())
        {
            let rule_ports: Vec<u16> =
                r.to.iter()
                    .flatten()
                    .flat_map(|o| o.ports.iter().filter_map(|p| p.parse().ok()))
                    .collect();
            let hits: Vec<String> = authorization_subjects(ctx, ap)
                .filter_map(|ep| {
                    let ports: Vec<u16> = if rule_ports.is_empty() {
                        ep.container_ports
                            .iter()
                            .filter(|(_, p)| *p == Protocol::Tcp)
                            .map(|(n, _)| *n)
                            .collect()
                    } else {
                        rule_ports.clone()
                    };
                    let tcp: Vec<String> = ports
                        .iter()
                        .filter(|p| ctx.ev.plain_tcp_port(ep, **p))
                        .map(ToString::to_string)
                        .collect();
                    (!tcp.is_empty())
                        .then(|| format!("{} port {}", ep.display_name(), tcp.join(",")))
                })
                .collect();
            if hits.is_empty() {
                continue;
            }
            out.push(on_authorization_policy(&RULE, ap,
                format!(
                    "ALLOW rule {i} of {} uses HTTP fields, but {} is plain TCP: Istio drops the rule there and allows nothing with it",
                    ap.qualified_name(),
                    hits.join(", ")
                ),
                "use `ports` and sources for TCP ports; keep methods/paths/hosts for HTTP ports".into(),
            ));
        }
    }
}
