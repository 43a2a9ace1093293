//! XP102 `coredns-version`.

use super::on_workload;
use crate::context::AuditCtx;
use crate::diagnostic::{Diagnostic, Severity};
use crate::registry::RuleMeta;

pub(crate) static RULE: RuleMeta = RuleMeta {
    code: "XP102",
    name: "coredns-version",
    summary: "CoreDNS is older than the version the cluster's Kubernetes release ships",
    severity: Severity::Medium,
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Reads the CoreDNS version from the image tag of the cluster DNS workload
(`registry.k8s.io/coredns/coredns:v1.11.3`, the Deployment or pods in the input, or from
`--cluster`) and the Kubernetes release from the nodes' `status.nodeInfo.kubeletVersion` (the
oldest node), and reports CoreDNS older than the version kubeadm installs with that release.
Without a node version (manifests from Git rarely hold Nodes) the rule does not decide.

## Why is this bad?
Every DNS-based control the policies rely on — the DNS egress allowance to kube-dns, Cilium's
DNS proxy learning `toFQDNs` names, Calico's `domains` — sees what CoreDNS answers. A CoreDNS
left behind an upgraded control plane is the troubleshooting row "DNS policy has no effect: CoreDNS too old"
row: for example, CoreDNS before 1.8.1 watches Endpoints instead of EndpointSlices, and
Kubernetes releases since v1.22 expect the EndpointSlice-based one; before 1.7.0, metric names
differ from what dashboards of later releases query.

## Example
Nodes on `v1.32.1` with `registry.k8s.io/coredns/coredns:v1.8.0`.

## Use instead
Upgrade CoreDNS with the control plane (`kubeadm upgrade` does; managed clusters' add-on
managers do), at least to the version the table lists for the release.

## References
- https://github.com/coredns/deployment/blob/master/kubernetes/CoreDNS-k8s_version.md
- https://kubernetes.io/docs/tasks/administer-cluster/coredns/
"#;

/// `(Kubernetes minor, CoreDNS version kubeadm installs)`, from coredns/deployment's
/// CoreDNS-k8s_version.md (v1.1x releases of Kubernetes).
const KUBEADM_COREDNS: &[(u32, (u32, u32, u32))] = &[
    (19, (1, 7, 0)),
    (20, (1, 7, 0)),
    (21, (1, 8, 0)),
    (22, (1, 8, 4)),
    (23, (1, 8, 6)),
    (24, (1, 8, 6)),
    (25, (1, 9, 3)),
    (26, (1, 9, 3)),
    (27, (1, 10, 1)),
    (28, (1, 10, 1)),
    (29, (1, 11, 1)),
    (30, (1, 11, 1)),
    (31, (1, 11, 3)),
    (32, (1, 11, 3)),
    (33, (1, 12, 0)),
];

/// `major.minor.patch` of a version such as `v1.11.3`, `1.8.0-eks-1`, or an image tag.
pub(crate) fn semver(v: &str) -> Option<(u32, u32, u32)> {
    let mut parts = v.trim_start_matches('v').split(['.', '-', '+', '_']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    let patch = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    Some((major, minor, patch))
}

/// The version kubeadm installs with Kubernetes 1.`minor`: that release's row, or the newest
/// row for releases after the table.
fn expected(minor: u32) -> Option<(u32, (u32, u32, u32))> {
    KUBEADM_COREDNS
        .iter()
        .rev()
        .find(|(m, _)| *m <= minor)
        .filter(|(m, _)| *m == minor || minor > KUBEADM_COREDNS.last().map_or(0, |l| l.0))
        .copied()
}

fn check(ctx: &AuditCtx<'_>, out: &mut Vec<Diagnostic>) {
    let c = ctx.cluster;
    let Some(kube_minor) = c
        .nodes
        .iter()
        .filter_map(|n| semver(n.kubelet_version.as_deref()?))
        .filter(|v| v.0 == 1)
        .map(|v| v.1)
        .min()
    else {
        return;
    };
    let Some((row, want)) = expected(kube_minor) else {
        return;
    };
    for (id, ep) in c.endpoints.iter().enumerate() {
        if ep.namespace != "kube-system" {
            continue;
        }
        let Some((image, have)) = ep.images.iter().find_map(|img| {
            let name = img.split('@').next().unwrap_or_default();
            let (repo, tag) = name.rsplit_once(':')?;
            (repo.ends_with("/coredns") || repo == "coredns")
                .then(|| semver(tag).map(|v| (img, v)))
                .flatten()
        }) else {
            continue;
        };
        if have < want {
            out.push(on_workload(
                &RULE,
                ctx,
                id,
                format!(
                    "CoreDNS {}.{}.{} ({image}) is older than {}.{}.{}, what kubeadm installs with {}: DNS-based policies see what it answers",
                    have.0, have.1, have.2, want.0, want.1, want.2,
                    if row == kube_minor {
                        format!("Kubernetes 1.{row}, which the nodes run")
                    } else {
                        format!("Kubernetes 1.{row}, the newest release of its table (the nodes run 1.{kube_minor})")
                    }
                ),
                format!(
                    "upgrade CoreDNS to {}.{}.{} or later (kubeadm upgrade, or the managed add-on)",
                    want.0, want.1, want.2
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_the_table() {
        assert_eq!(semver("v1.32.1"), Some((1, 32, 1)));
        assert_eq!(semver("1.8.0-eks-1-29-1"), Some((1, 8, 0)));
        assert_eq!(semver("v1.30.2+k3s1"), Some((1, 30, 2)));
        assert_eq!(semver("latest"), None);
        assert_eq!(expected(32), Some((32, (1, 11, 3))));
        assert_eq!(
            expected(35),
            Some((33, (1, 12, 0))),
            "newer: the newest row"
        );
        assert_eq!(expected(18), None, "older than the table: not decided");
    }
}
