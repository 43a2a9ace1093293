//! NP001 `dns-blocked`.

use netfence_model::Protocol;

use super::{dns_clients, on_workload, reaches_dns};
use crate::context::AuditCtx;
use crate::diagnostic::{Diagnostic, Severity};
use crate::registry::RuleMeta;

pub(crate) static RULE: RuleMeta = RuleMeta {
    code: "NP001",
    name: "dns-blocked",
    summary: "a workload whose egress is isolated cannot reach cluster DNS at all",
    severity: Severity::Critical,
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Finds workloads whose egress a NetworkPolicy isolates and that can reach no cluster DNS pod
(`k8s-app=kube-dns`) on UDP 53 nor on TCP 53, taking both the workload's egress policies and
the DNS pods' ingress policies into account.

## Why is this bad?
A default-deny egress policy also blocks DNS (the most common default-deny mistake). Every name lookup then
times out: the application breaks in ways that look like network outages, and teams respond by
deleting the policy.

## Example
```yaml
kind: NetworkPolicy
metadata: {name: default-deny-all, namespace: production}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
```

## Use instead
```yaml
kind: NetworkPolicy
metadata: {name: allow-dns-egress, namespace: production}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
      podSelector: {matchLabels: {k8s-app: kube-dns}}
    ports:
    - {protocol: UDP, port: 53}
    - {protocol: TCP, port: 53}
```
`netfence generate dns --namespace production` writes it.

## References
- https://kubernetes.io/docs/concepts/services-networking/network-policies/#default-deny-all-egress-traffic
- https://kubernetes.io/docs/tasks/administer-cluster/dns-debugging-resolution/
"#;

fn check(ctx: &AuditCtx<'_>, out: &mut Vec<Diagnostic>) {
    for (id, ep) in dns_clients(ctx) {
        if reaches_dns(ctx, ep, Protocol::Udp) || reaches_dns(ctx, ep, Protocol::Tcp) {
            continue;
        }
        out.push(on_workload(&RULE, ctx, id, format!("{} cannot reach cluster DNS on UDP 53 or TCP 53: every name lookup fails", ep.display_name()),
            format!(
                "allow egress to kube-dns on UDP and TCP 53 (`netfence generate dns --namespace {}`), and check kube-dns admits it",
                ep.namespace
            ),
        ));
    }
}
