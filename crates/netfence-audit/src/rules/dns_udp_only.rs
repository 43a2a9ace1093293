//! NP002 `dns-udp-only`.

use netfence_model::Protocol;

use super::{dns_clients, on_workload, reaches_dns};
use crate::context::AuditCtx;
use crate::diagnostic::{Diagnostic, Severity};
use crate::registry::RuleMeta;

pub(crate) static RULE: RuleMeta = RuleMeta {
    code: "NP002",
    name: "dns-udp-only",
    summary: "a workload reaches cluster DNS on UDP 53 but not on TCP 53",
    severity: Severity::Medium,
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Finds egress-isolated workloads that reach cluster DNS on UDP 53 but not on TCP 53 (or the
other way round).

## Why is this bad?
DNS falls back to TCP when a response is truncated (large records, DNSSEC, many A records of a
headless Service). With only UDP open those lookups fail intermittently: the hardest kind of
outage to diagnose. Policies copied from examples often open UDP 53 only.

## Example
```yaml
egress:
- to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}}]
  ports: [{protocol: UDP, port: 53}]
```

## Use instead
```yaml
egress:
- to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}}]
  ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]
```

## References
- https://datatracker.ietf.org/doc/html/rfc7766#section-5
- https://kubernetes.io/docs/concepts/services-networking/network-policies/
"#;

fn check(ctx: &AuditCtx<'_>, out: &mut Vec<Diagnostic>) {
    for (id, ep) in dns_clients(ctx) {
        let (udp, tcp) = (
            reaches_dns(ctx, ep, Protocol::Udp),
            reaches_dns(ctx, ep, Protocol::Tcp),
        );
        if udp == tcp {
            continue;
        }
        let (open, closed) = if udp { ("UDP", "TCP") } else { ("TCP", "UDP") };
        out.push(on_workload(
            &RULE,
            ctx,
            id,
            format!(
                "{} reaches cluster DNS on {open} 53 only: lookups that need {closed} fail",
                ep.display_name()
            ),
            format!("open {closed} 53 to kube-dns next to {open} 53 in the same egress rule"),
        ));
    }
}
