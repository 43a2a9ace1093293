//! XP301 `audit-policy-gaps`.

#![expect(
    clippy::indexing_slicing,
    reason = "endpoint, class, rule and flow ids index the cluster and tables they were built from"
)]
use netfence_model::AuditLevel;

use super::finding;
use crate::context::AuditCtx;
use crate::diagnostic::{Diagnostic, Severity, Subject};
use crate::registry::RuleMeta;

pub(crate) static RULE: RuleMeta = RuleMeta {
    code: "XP301",
    name: "audit-policy-gaps",
    summary: "the API server audit policy does not record changes to network policies",
    severity: Severity::Medium,
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Evaluates each `audit.k8s.io` Policy of the input the way the API server does (the first rule
that matches a request decides its level; rules limited to some users, groups or namespaces do
not cover the cluster at large) for `create`, `update`, `patch` and `delete` of:
`networkpolicies` (networking.k8s.io), which must be logged at `RequestResponse`, and the
Cilium, Calico and AdminNetworkPolicy resources, which must be logged at least at `Metadata`.
When the input has no audit policy, it says so at `info` level.

## Why is this bad?
A zero-trust posture needs to know who changed which policy and how. With
`Metadata` you learn that a NetworkPolicy changed, not what it now allows; with `None` (or no
matching rule) a policy can be weakened without a trace.

## Example
```yaml
apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: Metadata
```

## Use instead
```yaml
apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: RequestResponse
  verbs: [create, update, patch, delete]
  resources:
  - {group: networking.k8s.io, resources: [networkpolicies]}
- level: Metadata
  resources:
  - {group: cilium.io, resources: [ciliumnetworkpolicies, ciliumclusterwidenetworkpolicies]}
  - {group: crd.projectcalico.org, resources: [networkpolicies, globalnetworkpolicies]}
  - {group: policy.networking.k8s.io, resources: [adminnetworkpolicies, baselineadminnetworkpolicies]}
```

## References
- https://kubernetes.io/docs/tasks/debug/debug-cluster/audit/
"#;

const VERBS: [&str; 4] = ["create", "update", "patch", "delete"];

/// `(group, resource, minimum level)` the policy must record.
const REQUIRED: [(&str, &str, AuditLevel); 9] = [
    (
        "networking.k8s.io",
        "networkpolicies",
        AuditLevel::RequestResponse,
    ),
    ("cilium.io", "ciliumnetworkpolicies", AuditLevel::Metadata),
    (
        "cilium.io",
        "ciliumclusterwidenetworkpolicies",
        AuditLevel::Metadata,
    ),
    (
        "crd.projectcalico.org",
        "networkpolicies",
        AuditLevel::Metadata,
    ),
    (
        "crd.projectcalico.org",
        "globalnetworkpolicies",
        AuditLevel::Metadata,
    ),
    ("projectcalico.org", "networkpolicies", AuditLevel::Metadata),
    (
        "projectcalico.org",
        "globalnetworkpolicies",
        AuditLevel::Metadata,
    ),
    (
        "policy.networking.k8s.io",
        "adminnetworkpolicies",
        AuditLevel::Metadata,
    ),
    (
        "policy.networking.k8s.io",
        "baselineadminnetworkpolicies",
        AuditLevel::Metadata,
    ),
];

/// The gaps of every audit policy; `None` when the input has none.
pub(crate) fn gaps(ctx: &AuditCtx<'_>) -> Option<Vec<(usize, Vec<String>)>> {
    if ctx.cluster.policies.audit_policies().is_empty() {
        return None;
    }
    Some(
        ctx.cluster
            .policies
            .audit_policies()
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut g = Vec::new();
                for (group, resource, min) in REQUIRED {
                    let low: Vec<String> = VERBS
                        .iter()
                        .filter_map(|v| {
                            let l = p.level(v, group, resource);
                            (l < min).then(|| format!("{v} at {l:?}"))
                        })
                        .collect();
                    if !low.is_empty() {
                        g.push(format!(
                            "{group}/{resource} ({}; needs {min:?})",
                            low.join(", ")
                        ));
                    }
                }
                (i, g)
            })
            .collect(),
    )
}

fn check(ctx: &AuditCtx<'_>, out: &mut Vec<Diagnostic>) {
    let Some(all) = gaps(ctx) else {
        let mut d = finding(
            &RULE,
            Subject::Cluster,
            "Cluster".into(),
            None,
            "no audit.k8s.io Policy in the input: whether changes to network policies are audited cannot be told".into(),
            "include the API server's audit policy file in the input".into(),
        );
        d.severity = Severity::Info;
        out.push(d);
        return;
    };
    for (i, g) in all {
        if g.is_empty() {
            continue;
        }
        let p = &ctx.cluster.policies.audit_policies()[i];
        out.push(finding(
            &RULE,
            Subject::Cluster,
            format!("Policy {}", if p.name.is_empty() { "(audit)" } else { &p.name }),
            Some(p.origin.clone()),
            format!("the audit policy under-records policy changes: {}", g.join("; ")),
            "add a RequestResponse rule for networkpolicies and a Metadata rule for Cilium, Calico and admin policies before any broader rule".into(),
        ));
    }
}
