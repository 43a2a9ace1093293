//! CIL101 `policy-map-pressure`.

use netfence_engine::Profile;

use super::on_workload;
use crate::context::AuditCtx;
use crate::diagnostic::{Diagnostic, Severity};
use crate::registry::RuleMeta;

pub(crate) static RULE: RuleMeta = RuleMeta {
    code: "CIL101",
    name: "policy-map-pressure",
    summary: "an endpoint's Cilium policy map may overflow (traffic dropped)",
    severity: Severity::High,
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Under `--cni cilium`, estimates for every endpoint the entries of its BPF policy map: one per
allowed or denied (identity, direction, protocol, port prefix). It reports endpoints above
`--policy-map-max` (Cilium's `bpf-policy-map-max`, default 16384, at most 65536), and those
above 80 % of it. `netfence cni --cni cilium` prints the largest estimates.

The estimate sums, over the rules selecting the endpoint (Cilium rules and the NetworkPolicies
Cilium translates), the identities the rule's peers match times its port entries. Identities:
distinct identity label sets of the selected pods, one per CIDR prefix (an `except` splits a
CIDR into many), one per reserved entity, node selector and FQDN pattern. Port entries: one per
port, one per power-of-two block of a range, three for protocol `ANY`. Known error: keys shared
by two rules are counted twice (over-estimate); FQDN rules are under-estimated (each learned
address becomes an identity).

## Why is this bad?
When the map is full, the agent cannot regenerate the endpoint and its traffic is dropped
(cilium issues #46189, #45788): a policy change that adds a namespace's worth of identities or
a wide port range can take an endpoint offline.

## Example
```yaml
kind: CiliumNetworkPolicy
metadata: {name: db, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: db}}
  ingress:
  - fromCIDRSet: [{cidr: 10.0.0.0/8, except: [10.0.0.1/32, 10.0.0.2/32]}]
    toPorts: [{ports: [{port: "1", endPort: 65535}]}]
```

## Use instead
Select peers by labels (one identity per label set) rather than many CIDRs, name protocols
instead of `ANY`, use narrow port ranges, or raise `bpf-policy-map-max`.

## References
- https://docs.cilium.io/en/stable/operations/performance/scalability/report/
- https://docs.cilium.io/en/stable/network/kubernetes/configuration/ (`bpf-policy-map-max`)
"#;

fn check(ctx: &AuditCtx<'_>, out: &mut Vec<Diagnostic>) {
    if ctx.profile != Profile::Cilium || ctx.cluster.policies.cilium_policies().is_empty() {
        return;
    }
    let max = ctx.config.policy_map_max;
    for e in netfence_engine::policy_map::estimates(ctx.cluster) {
        let total = e.total();
        if total * 5 < max * 4 {
            break;
        }
        let ep = &ctx.cluster.endpoints[e.endpoint];
        let state = if total > max {
            format!("exceeds bpf-policy-map-max {max}: Cilium drops its traffic")
        } else {
            format!(
                "is at {}% of bpf-policy-map-max {max}",
                total * 100 / max.max(1)
            )
        };
        out.push(on_workload(
            &RULE,
            ctx,
            e.endpoint,
            format!(
                "{}: an estimated {total} policy map entries ({} ingress, {} egress) {state}",
                ep.display_name(),
                e.ingress,
                e.egress
            ),
            "select peers by labels rather than many CIDRs, name protocols, narrow port ranges, or raise bpf-policy-map-max (--policy-map-max)".into(),
        ));
    }
}
