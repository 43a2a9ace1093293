//! XP001 `policy-not-enforced`.

#![expect(
    clippy::indexing_slicing,
    reason = "endpoint, class, rule and flow ids index the cluster and tables they were built from"
)]
use super::finding;
use crate::context::AuditCtx;
use crate::diagnostic::{Diagnostic, Severity, Subject};
use crate::registry::RuleMeta;

pub(crate) static RULE: RuleMeta = RuleMeta {
    code: "XP001",
    name: "policy-not-enforced",
    summary: "NetworkPolicies exist but the cluster's network plugin does not enforce them",
    severity: Severity::Critical,
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Detects the CNI from the workloads of the inventory (calico-node, cilium, antrea-agent,
kube-flannel, weave-net) and reports NetworkPolicies that nothing enforces: flannel alone is a
pure layer-3 network with no policy support (Calico on top of it, "Canal", does enforce). When
no CNI can be detected it says so at `info` level, since the answer depends on it.

## Why is this bad?
Policies are accepted by the API server whatever the CNI, so a cluster
can carry a full zero-trust policy set that does nothing.

## Example
A cluster running `kube-flannel-ds` with NetworkPolicies in `production`.

## Use instead
Run a policy-enforcing CNI (Calico, Cilium, Antrea; or Calico with flannel as Canal) and check
with `netfence audit` after every change of network plugin.

## References
- https://kubernetes.io/docs/concepts/services-networking/network-policies/#prerequisites
- https://docs.tigera.io/calico/latest/getting-started/kubernetes/flannel/install-for-flannel
"#;

fn check(ctx: &AuditCtx<'_>, out: &mut Vec<Diagnostic>) {
    if ctx.cluster.policies.network_policies().is_empty() {
        return;
    }
    let found = crate::cni::detect(ctx.cluster);
    let n = ctx.cluster.policies.network_policies().len();
    if found.is_empty() {
        let mut d = finding(
            &RULE,
            Subject::Cluster,
            "Cluster".into(),
            None,
            format!("no CNI found among the workloads: whether the {n} NetworkPolicies are enforced cannot be told"),
            "include the kube-system manifests (kubectl get ds -n kube-system -o yaml) or pass --cni".into(),
        );
        d.severity = Severity::Info;
        out.push(d);
        return;
    }
    if found.iter().all(|d| !d.enforces) {
        let evidence: Vec<String> = found
            .iter()
            .map(|d| {
                format!(
                    "{} ({})",
                    d.cni,
                    ctx.cluster.endpoints[d.workload].display_name()
                )
            })
            .collect();
        let origin = found
            .first()
            .map(|d| ctx.cluster.endpoints[d.workload].origin.clone());
        out.push(finding(
            &RULE,
            Subject::Cluster,
            "Cluster".into(),
            origin,
            format!("the cluster runs {} which does not enforce NetworkPolicy: none of the {n} policies has any effect", evidence.join(", ")),
            "add a policy engine (Calico on flannel, i.e. Canal) or move to Calico, Cilium or Antrea".into(),
        ));
    }
}
