//! One module per rule. Each declares `RULE` (code, name, docs) and its check.

#![expect(
    clippy::indexing_slicing,
    reason = "endpoint, class, rule and flow ids index the cluster and tables they were built from"
)]
pub(crate) mod admin_priority_tie;
pub(crate) mod allow_all_peers;
pub(crate) mod audit_policy_gaps;
pub(crate) mod calico_deny_shadowed;
pub(crate) mod calico_pass_to_profile;
pub(crate) mod cni_version_capability;
pub(crate) mod coredns_version;
pub(crate) mod deny_overridden;
pub(crate) mod dns_blocked;
pub(crate) mod dns_udp_only;
pub(crate) mod exposed_workload;
pub(crate) mod hubble_disabled;
pub(crate) mod istio_http_on_tcp;
pub(crate) mod istio_mtls_not_strict;
pub(crate) mod istio_no_sidecar;
pub(crate) mod istio_port_exception;
pub(crate) mod istio_principal_without_strict;
pub(crate) mod kube_dns_blocked;
pub(crate) mod mesh_certificate_health;
pub(crate) mod missing_default_deny;
pub(crate) mod non_production_into_production;
pub(crate) mod one_sided_allow;
pub(crate) mod policy_map_pressure;
pub(crate) mod policy_not_enforced;
pub(crate) mod policy_selects_nothing;
pub(crate) mod redundant_policy;
pub(crate) mod rule_never_matches;
pub(crate) mod selector_matches_nothing;
pub(crate) mod unprotected_workload;

use netfence_model::{Endpoint, Origin, Protocol};

use crate::context::AuditCtx;
use crate::diagnostic::{Diagnostic, Subject};
use crate::registry::RuleMeta;

/// A finding of `rule`.
pub(crate) fn finding(
    rule: &RuleMeta,
    subject: Subject,
    object: String,
    origin: Option<Origin>,
    message: String,
    help: String,
) -> Diagnostic {
    Diagnostic {
        code: rule.code,
        rule: rule.name,
        severity: rule.severity,
        message,
        object,
        subject,
        origin,
        help,
    }
}

/// A finding about workload `id`, located where the workload is declared.
pub(crate) fn on_workload(
    rule: &RuleMeta,
    ctx: &AuditCtx<'_>,
    id: usize,
    message: String,
    help: String,
) -> Diagnostic {
    let ep = &ctx.cluster.endpoints[id];
    finding(
        rule,
        Subject::Workload(id),
        workload_object(ep),
        Some(ep.origin.clone()),
        message,
        help,
    )
}

/// A finding about NetworkPolicy `i`, at `origin` (the policy's place, or one of its rules').
pub(crate) fn on_policy(
    rule: &RuleMeta,
    i: usize,
    np: &netfence_model::NetworkPolicy,
    origin: Origin,
    message: String,
    help: String,
) -> Diagnostic {
    finding(
        rule,
        Subject::NetworkPolicy(i),
        format!("NetworkPolicy {}", np.qualified_name()),
        Some(origin),
        message,
        help,
    )
}

/// The workloads of the inventory that policy `np` selects.
pub(crate) fn policy_subjects<'c>(
    ctx: &'c AuditCtx<'_>,
    np: &'c netfence_model::NetworkPolicy,
) -> impl Iterator<Item = &'c Endpoint> + 'c {
    let cluster: &'c netfence_model::Cluster = ctx.cluster;
    ctx.endpoints_in(&np.namespace)
        .iter()
        .filter_map(move |&id| cluster.endpoints.get(id))
        .filter(move |e| np.pod_selector.matches(&e.labels))
}

/// Where a policy's rule is written: the policy's place, at the rule's own line when known.
pub(crate) fn rule_origin(
    np: &netfence_model::NetworkPolicy,
    rule: &netfence_model::NpRule,
) -> Origin {
    let mut origin = np.origin.clone();
    if rule.line.is_some() {
        origin.line = rule.line;
    }
    origin
}

/// The workloads the DNS rules check: those whose egress a policy isolates or an admin-tier
/// policy governs (cluster DNS pods themselves excepted).
pub(crate) fn dns_clients<'c>(
    ctx: &'c AuditCtx<'_>,
) -> impl Iterator<Item = (usize, &'c Endpoint)> + 'c {
    ctx.cluster
        .endpoints
        .iter()
        .enumerate()
        .filter(move |(_, ep)| {
            let egress = netfence_engine::Direction::Egress;
            !ep.is_cluster_dns()
                && (ctx.ev.is_isolated(ep, egress) || ctx.ev.admin_subject_has_rules(ep, egress))
        })
}

/// Whether namespace `ns` has a default deny for `dir` under the profile, in any dialect
/// (NetworkPolicy `podSelector: {}`, Cilium `endpointSelector: {}`, Calico `all()`, a Baseline
/// ClusterNetworkPolicy): a pod added to it tomorrow, with labels no policy names, is isolated
/// (or denied every port by an admin or baseline rule) against a pod of a namespace no policy
/// names, and is not allowed everything with it. Decided by the layered evaluation, never by
/// policy names.
pub(crate) fn namespace_default_deny(
    ctx: &AuditCtx<'_>,
    ns: &str,
    dir: netfence_engine::Direction,
) -> bool {
    use netfence_engine::eval::Peer;
    let fresh = |namespace: &str| Endpoint {
        labels: [("netfence.io/new-pod".to_string(), "true".to_string())].into(),
        service_account: "netfence-new-pod".into(),
        ..Endpoint::bare(namespace, "netfence-new-pod", "Pod")
    };
    let subject = fresh(ns);
    let stranger = fresh("netfence-unnamed-namespace");
    ctx.ev
        .default_denies(&subject, Peer::Endpoint(&stranger), dir)
        && !ctx
            .ev
            .direction_allowed(&subject, Peer::Endpoint(&stranger), dir)
            .is_all()
}

/// Whether `ep` reaches some cluster DNS pod on `protocol` 53, through both sides' policies.
pub(crate) fn reaches_dns(ctx: &AuditCtx<'_>, ep: &Endpoint, protocol: Protocol) -> bool {
    use netfence_engine::eval::Peer;
    ctx.dns_endpoints().iter().any(|dns| {
        ctx.ev
            .pair_allowed(Peer::Endpoint(ep), Peer::Endpoint(dns))
            .contains(protocol, 53)
    })
}

/// The workloads with an Istio proxy that AuthorizationPolicy `ap` applies to.
pub(crate) fn authorization_subjects<'c>(
    ctx: &'c AuditCtx<'_>,
    ap: &'c netfence_model::istio::AuthorizationPolicy,
) -> impl Iterator<Item = &'c Endpoint> + 'c {
    ctx.cluster
        .endpoints
        .iter()
        .filter(move |ep| ctx.ev.proxy(ep).is_some() && ctx.ev.authorization_applies(ap, ep))
}

/// A finding about AuthorizationPolicy `ap`, where it is declared.
pub(crate) fn on_authorization_policy(
    rule: &RuleMeta,
    ap: &netfence_model::istio::AuthorizationPolicy,
    message: String,
    help: String,
) -> Diagnostic {
    finding(
        rule,
        Subject::Object(netfence_model::cluster::object_key(
            "AuthorizationPolicy",
            Some(&ap.namespace),
            &ap.name,
        )),
        format!("AuthorizationPolicy {}", ap.qualified_name()),
        Some(ap.origin.clone()),
        message,
        help,
    )
}

/// `Kind namespace/name` of a workload.
pub(crate) fn workload_object(ep: &Endpoint) -> String {
    format!("{} {}/{}", ep.kind, ep.namespace, ep.name)
}
