//! NP004 `kube-dns-blocked`.

use netfence_engine::eval::{Peer, RepNamespace, RepPeer};
use netfence_engine::Direction;
use netfence_model::{LabelSelector, Protocol};

use super::finding;
use crate::context::AuditCtx;
use crate::diagnostic::{Diagnostic, Severity, Subject};
use crate::registry::RuleMeta;

pub(crate) static RULE: RuleMeta = RuleMeta {
    code: "NP004",
    name: "kube-dns-blocked",
    summary: "a policy in kube-system keeps pods of other namespaces from cluster DNS",
    severity: Severity::Critical,
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Looks at the cluster DNS pods (`k8s-app=kube-dns`): when a policy isolates their ingress and
does not admit UDP and TCP 53 from every namespace, it reports which namespaces' pods can no
longer resolve names. A default deny in kube-system is the usual cause (a default-deny sweep that did not leave kube-system out).

## Why is this bad?
Every pod of the cluster depends on kube-dns. Isolating it without an allowance for port 53
breaks name resolution everywhere at once; a default-deny sweep over all namespaces (
bash loop without its `kube-system` exception) does exactly that.

## Example
```yaml
kind: NetworkPolicy
metadata: {name: default-deny-all, namespace: kube-system}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
```

## Use instead
Keep kube-system out of namespace-wide default deny, or admit DNS explicitly:
```yaml
kind: NetworkPolicy
metadata: {name: allow-dns-ingress, namespace: kube-system}
spec:
  podSelector: {matchLabels: {k8s-app: kube-dns}}
  ingress:
  - from: [{namespaceSelector: {}}]
    ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]
```

## References
- https://kubernetes.io/docs/concepts/services-networking/network-policies/#targeting-a-namespace-by-its-name
- https://kubernetes.io/docs/tasks/administer-cluster/dns-debugging-resolution/
"#;

fn check(ctx: &AuditCtx<'_>, out: &mut Vec<Diagnostic>) {
    let anywhere = RepPeer {
        namespace: RepNamespace::Selector(LabelSelector::everything()),
        pods: LabelSelector::everything(),
    };
    for dns in ctx.dns_endpoints() {
        if !ctx.ev.is_isolated(dns, Direction::Ingress) {
            continue;
        }
        let open = ctx
            .ev
            .direction_allowed(dns, Peer::Rep(&anywhere), Direction::Ingress);
        if open.contains(Protocol::Udp, 53) && open.contains(Protocol::Tcp, 53) {
            continue;
        }
        let mut blocked: Vec<String> = ctx
            .cluster
            .endpoints
            .iter()
            .filter(|ep| ep.namespace != dns.namespace)
            .filter(|ep| {
                let got = ctx
                    .ev
                    .direction_allowed(dns, Peer::Endpoint(ep), Direction::Ingress);
                !(got.contains(Protocol::Udp, 53) && got.contains(Protocol::Tcp, 53))
            })
            .map(|ep| ep.namespace.clone())
            .collect();
        blocked.sort();
        blocked.dedup();
        let policies = ctx.ev.isolating_policy_names(dns, Direction::Ingress);
        let id = ctx
            .cluster
            .endpoints
            .iter()
            .position(|e| e.display_name() == dns.display_name());
        out.push(finding(
            &RULE,
            id.map_or(Subject::Namespace(dns.namespace.clone()), Subject::Workload),
            format!("{} {}/{}", dns.kind, dns.namespace, dns.name),
            Some(dns.origin.clone()).filter(|o| !o.file.is_empty()),
            format!(
                "{} isolates cluster DNS ingress without admitting UDP and TCP 53 from every namespace{}",
                policies.join(", "),
                if blocked.is_empty() {
                    String::new()
                } else {
                    format!(": pods of {} cannot resolve names", blocked.join(", "))
                }
            ),
            "admit UDP and TCP 53 to k8s-app=kube-dns from `namespaceSelector: {}`, or leave kube-system out of namespace-wide default deny".into(),
        ));
    }
}
