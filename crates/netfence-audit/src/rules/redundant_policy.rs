//! NP203 `redundant-policy`.

use netfence_engine::connectivity::external_ranges;
use netfence_engine::eval::{rules_of, Peer};
use netfence_engine::exposure::representative_peers;
use netfence_engine::Direction;
use netfence_model::{NetworkPolicy, NpPeer, NpRule};

use super::{on_policy, policy_subjects};
use crate::context::AuditCtx;
use crate::diagnostic::{Diagnostic, Severity};
use crate::registry::RuleMeta;

pub(crate) static RULE: RuleMeta = RuleMeta {
    code: "NP203",
    name: "redundant-policy",
    summary: "removing a NetworkPolicy would change no connection",
    severity: Severity::Low,
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
For each NetworkPolicy that selects workloads, compares what its workloads allow with and without
it, in each of its directions, towards every workload, every external range and every potential
peer its rules or others' name (so a rule for pods that do not exist yet is not called
redundant). When nothing changes, and another policy keeps the workloads isolated, the policy is
reported as redundant.

Two identical policies are each reported: delete one of them. Namespace-wide policies
(`podSelector: {}`) are never reported: they also govern pods created later.

## Why is this bad?
"Policy explosion": policies nobody dares delete because nobody can tell what they
do. Redundant policies make reviews longer and hide the ones that matter.

## Example
```yaml
# allows web -> api on 8080, which another policy of the namespace already allows
kind: NetworkPolicy
metadata: {name: api-from-web-again, namespace: production}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: 8080}]}]
```

## Use instead
Delete it, then check with `netfence diff OLD NEW --fail-on-change` that nothing moved.

## References
- https://kubernetes.io/docs/concepts/services-networking/network-policies/
"#;

fn check(ctx: &AuditCtx<'_>, out: &mut Vec<Diagnostic>) {
    let c = ctx.cluster;
    let (src_ranges, dst_ranges) = external_ranges(c);
    let reps = representative_peers(c);
    use rayon::prelude::*;
    let all: Vec<usize> = (0..c.endpoints.len()).collect();
    // each policy on its own, on every core; reported in policy order
    let found: Vec<Diagnostic> = c.policies.network_policies().par_iter().enumerate().filter_map(|(i, p)| {
        let subjects: Vec<_> = policy_subjects(ctx, p).collect();
        // A namespace-wide policy also governs every pod created later: what the other policies
        // cover today says nothing about those, so it is never called redundant.
        if subjects.is_empty() || p.pod_selector.is_empty() {
            return None; // NP201 reports the first case
        }
        let changes = [Direction::Ingress, Direction::Egress].iter().any(|&dir| {
            let Some(rules) = rules_of(p, dir) else {
                return false;
            };
            // The only policy isolating a workload: removing it opens everything.
            if subjects
                .iter()
                .any(|&ep| ctx.ev.selecting_policies(ep, dir).len() == 1)
            {
                return true;
            }
            // Otherwise only peers one of its rules matches can change, among the endpoints
            // its rules can name at all (found lazily: the first change ends the search).
            let matched = |peer: &Peer<'_>| {
                rules.iter().any(|r| match &r.peers {
                    None => true,
                    Some(elems) => elems.iter().any(|e| ctx.ev.np_peer_matches(p, e, *peer)),
                })
            };
            let ranges = if dir == Direction::Ingress {
                &src_ranges
            } else {
                &dst_ranges
            };
            let slices: Vec<&[usize]> =
                candidate_endpoints(ctx, p, rules).unwrap_or_else(|| vec![all.as_slice()]);
            subjects.iter().any(|&ep| {
                slices
                    .iter()
                    .flat_map(|s| s.iter())
                    .map(|&id| Peer::Endpoint(&c.endpoints[id]))
                    .chain(reps.iter().map(Peer::Rep))
                    .chain(ranges.iter().map(Peer::Ip))
                    .filter(|peer| matched(peer))
                    .any(|peer| {
                        ctx.ev.np_allowed(ep, peer, dir)
                            != ctx.ev.np_allowed_without(ep, peer, dir, Some(p))
                    })
            })
        });
        if changes {
            return None;
        }
        Some(on_policy(&RULE, i, p, p.origin.clone(), format!("removing {} changes no connection: other policies already allow everything it allows", p.qualified_name()),
            "delete it (check with `netfence diff OLD NEW --fail-on-change`)".into(),
        ))
    }).collect();
    out.extend(found);
}

/// The endpoints `rules` of `p` can match (a superset, as slices of ids that may repeat),
/// from the namespaces their peers name; `None` when a rule may match any endpoint.
fn candidate_endpoints<'c>(
    ctx: &'c AuditCtx<'_>,
    p: &NetworkPolicy,
    rules: &[NpRule],
) -> Option<Vec<&'c [usize]>> {
    let mut out: Vec<&[usize]> = Vec::new();
    for r in rules {
        for e in r.peers.as_ref()? {
            match e {
                NpPeer::Pods {
                    namespaces: None, ..
                } => out.push(ctx.endpoints_in(&p.namespace)),
                NpPeer::Pods {
                    namespaces: Some(sel),
                    ..
                } => {
                    for ns in ctx.endpoint_namespaces() {
                        if sel.matches(ctx.cluster.namespace_labels(ns)) {
                            out.push(ctx.endpoints_in(ns));
                        }
                    }
                }
                // under profiles where ipBlocks match pod addresses, any endpoint may
                NpPeer::IpBlock { .. } if ctx.profile.ipblock_matches_pod_ips() => return None,
                NpPeer::IpBlock { .. } => {}
            }
        }
    }
    Some(out)
}
