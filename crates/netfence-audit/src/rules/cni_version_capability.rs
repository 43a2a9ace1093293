//! XP101 `cni-version-capability`.

use netfence_model::{CiliumPeer, PortRef};

use super::on_workload;
use crate::context::AuditCtx;
use crate::diagnostic::{Diagnostic, Severity};
use crate::registry::RuleMeta;

pub(crate) static RULE: RuleMeta = RuleMeta {
    code: "XP101",
    name: "cni-version-capability",
    summary: "the CNI agent's version or configuration cannot enforce rules the policies use",
    severity: Severity::High,
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Reads the Cilium agent's version from its image tag (the DaemonSet or pods in the input, or
from `--cluster`) and its `kube-system/cilium-config` ConfigMap, and checks them against what
the Cilium policies use:
- L7 rules (HTTP, Kafka, DNS) with an agent older than 1.14;
- L7 rules on a port range (`endPort`) with an agent older than 1.17, which rejects them;
- `toFQDNs` rules with `enable-l7-proxy: "false"`: without the DNS proxy no name is learned and
  the rules match nothing.

## Why is this bad?
The API server accepts any CiliumNetworkPolicy the CRD validates; whether the agent enforces it
depends on its version and configuration. A policy the agent cannot apply leaves the traffic it
should govern decided otherwise, and nothing in `kubectl get cnp` says so.

## Example
`quay.io/cilium/cilium:v1.16.3` with a rule `toPorts: [{ports: [{port: "8000", endPort: 8100}],
rules: {http: [...]}}]`.

## Use instead
Upgrade the agent, or write the rule on single ports; keep the L7 proxy enabled where FQDN
rules are used.

## References
- https://docs.cilium.io/en/stable/security/policy/language/ (Layer 7 examples, DNS-based policies)
- https://docs.cilium.io/en/stable/operations/upgrade/
"#;

/// The `major.minor` of an image tag such as `quay.io/cilium/cilium:v1.16.3@sha256:...`.
pub(crate) fn version(image: &str) -> Option<(u32, u32)> {
    netfence_engine::Release::from_image(image).map(|r| (u32::from(r.major), u32::from(r.minor)))
}

/// The Cilium agent workload and its version, when the input has one.
pub(crate) fn cilium_agent(ctx: &AuditCtx<'_>) -> Option<(usize, (u32, u32))> {
    ctx.cluster.endpoints.iter().enumerate().find_map(|(i, e)| {
        e.images
            .iter()
            .filter(|img| {
                let name = img.split('@').next().unwrap_or_default();
                let repo = name.rsplit_once(':').map_or(name, |(r, _)| r);
                repo.ends_with("/cilium") || repo == "cilium"
            })
            .find_map(|img| version(img))
            .map(|v| (i, v))
    })
}

fn check(ctx: &AuditCtx<'_>, out: &mut Vec<Diagnostic>) {
    let c = ctx.cluster;
    if c.policies.cilium_policies().is_empty() {
        return;
    }
    let rules = || {
        c.policies
            .cilium_policies()
            .iter()
            .flat_map(|p| p.rules.iter().map(move |r| (p, r)))
    };
    let port_rules = || {
        rules().flat_map(|(p, r)| {
            r.ingress
                .iter()
                .chain(&r.egress)
                .flat_map(|pr| pr.ports.iter().flatten())
                .map(move |port_rule| (p, port_rule))
        })
    };
    let l7 = port_rules().find(|(_, pr)| pr.l7.is_some()).map(|(p, _)| p);
    let l7_range = port_rules()
        .find(|(_, pr)| {
            pr.l7.is_some()
                && pr
                    .ports
                    .iter()
                    .any(|x| matches!(x.port, Some(PortRef::Number(_))) && x.end_port.is_some())
        })
        .map(|(p, _)| p);
    let fqdn = rules()
        .find(|(_, r)| {
            r.egress
                .iter()
                .flat_map(|pr| pr.peers.iter().flatten())
                .any(|x| matches!(x, CiliumPeer::Fqdn(_)))
        })
        .map(|(p, _)| p);
    if let Some((agent, (major, minor))) = cilium_agent(ctx) {
        let v = (major, minor);
        let mut gaps = Vec::new();
        if let (Some(p), true) = (l7, v < (1, 14)) {
            gaps.push(format!(
                "L7 rules (first in {}) need Cilium 1.14 or later",
                p.qualified_name()
            ));
        }
        if let (Some(p), true) = (l7_range, v < (1, 17)) {
            gaps.push(format!(
                "L7 rules on a port range (first in {}) need Cilium 1.17 or later",
                p.qualified_name()
            ));
        }
        for g in gaps {
            out.push(on_workload(
                &RULE,
                ctx,
                agent,
                format!("the Cilium agent is {major}.{minor}: {g}"),
                "upgrade the agent, or rewrite the rules for this version".into(),
            ));
        }
    }
    if let (Some(p), Some(cfg)) = (fqdn, &c.cilium_config) {
        if cfg.get("enable-l7-proxy").map(String::as_str) == Some("false") {
            let at = cilium_agent(ctx).map(|(i, _)| i);
            let message = format!(
                "cilium-config sets enable-l7-proxy: \"false\": without the DNS proxy the toFQDNs rules (first in {}) learn no address and match nothing",
                p.qualified_name()
            );
            let help = "enable the L7 proxy (enable-l7-proxy: \"true\") where FQDN rules are used"
                .to_string();
            match at {
                Some(i) => out.push(on_workload(&RULE, ctx, i, message, help)),
                None => out.push(super::finding(
                    &RULE,
                    crate::diagnostic::Subject::Cluster,
                    "ConfigMap kube-system/cilium-config".into(),
                    Some(cfg.origin.clone()),
                    message,
                    help,
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_from_image_tags() {
        assert_eq!(
            version("quay.io/cilium/cilium:v1.16.3@sha256:abc"),
            Some((1, 16))
        );
        assert_eq!(version("cilium/cilium:1.13.0-rc1"), Some((1, 13)));
        assert_eq!(version("quay.io/cilium/cilium@sha256:abc"), None);
        assert_eq!(version("registry:5000/cilium/cilium:latest"), None);
    }
}
