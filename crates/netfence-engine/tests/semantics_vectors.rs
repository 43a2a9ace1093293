//! Test vectors of `docs/semantics.md` §1.9 (NetworkPolicy) and §1B.3 (ANP/BANP), written from
//! the specification. Vectors marked INVALID are loader tests (netfence-load); IMPL vectors
//! are checked under both CNI profiles.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failed test"
)]

mod support;

use netfence_engine::eval::{Evaluator, Peer};
use netfence_engine::Profile;
use netfence_model::*;
use support::*;

/// Namespaces `a{team=x}`, `b{team=y}`; pods `a/web{app=web}` (8080 named `http`),
/// `a/cli{app=cli}`, `b/cli{app=cli}`.
fn base() -> (Cluster, usize, usize, usize) {
    let mut c = Cluster::default();
    mk_ns(&mut c, "a", &[("team", "x")]);
    mk_ns(&mut c, "b", &[("team", "y")]);
    let web = mk_pod(
        &mut c,
        "a",
        "web",
        &[("app", "web")],
        &[("http", 8080, Protocol::Tcp)],
    );
    let acli = mk_pod(&mut c, "a", "cli", &[("app", "cli")], &[]);
    let bcli = mk_pod(&mut c, "b", "cli", &[("app", "cli")], &[]);
    (c, web, acli, bcli)
}

fn allowed(
    c: &Cluster,
    profile: Profile,
    src: usize,
    dst: usize,
    proto: Protocol,
    port: u16,
) -> bool {
    let ev = Evaluator::new(c, profile);
    ev.pair_allowed(
        Peer::Endpoint(&c.endpoints[src]),
        Peer::Endpoint(&c.endpoints[dst]),
    )
    .contains(proto, port)
}

fn allowed_from_ip(c: &Cluster, ip: &str, dst: usize, port: u16) -> bool {
    let ev = Evaluator::new(c, Profile::Generic);
    let ip: std::net::IpAddr = ip.parse().unwrap();
    let r = IpSet::from_ip(ip).ranges()[0];
    ev.pair_allowed(Peer::Ip(&r), Peer::Endpoint(&c.endpoints[dst]))
        .contains(Protocol::Tcp, port)
}

fn allowed_to_ip(c: &Cluster, src: usize, ip: &str, proto: Protocol, port: u16) -> bool {
    let ev = Evaluator::new(c, Profile::Generic);
    let r = IpSet::from_ip(ip.parse().unwrap()).ranges()[0];
    ev.pair_allowed(Peer::Endpoint(&c.endpoints[src]), Peer::Ip(&r))
        .contains(proto, port)
}

const G: Profile = Profile::Generic;
const T: Protocol = Protocol::Tcp;

fn web_sel() -> LabelSelector {
    sel(&[("app", "web")])
}

#[test]
fn k1_no_policy_allows() {
    let (c, web, _, bcli) = base();
    assert!(allowed(&c, G, bcli, web, T, 8080));
}

#[test]
fn k2_k3_selected_without_rules_isolates_ingress_only() {
    let (mut c, web, acli, bcli) = base();
    mk_np(&mut c, "a", "p", web_sel(), Some(vec![]), None);
    assert!(!allowed(&c, G, acli, web, T, 8080));
    assert!(allowed(&c, G, web, bcli, T, 80));
}

#[test]
fn k4_egress_type_denies_egress() {
    let (mut c, web, _, bcli) = base();
    mk_np(
        &mut c,
        "a",
        "p",
        LabelSelector::everything(),
        None,
        Some(vec![]),
    );
    assert!(!allowed(&c, G, web, bcli, T, 80));
}

#[test]
fn k6_pod_selector_is_namespace_local() {
    let (mut c, web, acli, bcli) = base();
    let r = rule(Some(vec![pods(None, Some(sel(&[("app", "cli")])))]), None);
    mk_np(&mut c, "a", "p", web_sel(), Some(vec![r]), None);
    assert!(!allowed(&c, G, bcli, web, T, 8080));
    assert!(allowed(&c, G, acli, web, T, 8080));
}

#[test]
fn k7_k8_k9_namespace_and_pod_selectors_and_vs_or() {
    let (c0, web, _, bcli) = base();
    let mut c = c0.clone();
    mk_np(
        &mut c,
        "a",
        "p",
        web_sel(),
        Some(vec![rule(
            Some(vec![pods(Some(sel(&[("team", "y")])), None)]),
            None,
        )]),
        None,
    );
    assert!(allowed(&c, G, bcli, web, T, 8080), "K7");
    let mut c = c0.clone();
    let and = pods(Some(sel(&[("team", "y")])), Some(sel(&[("app", "db")])));
    mk_np(
        &mut c,
        "a",
        "p",
        web_sel(),
        Some(vec![rule(Some(vec![and]), None)]),
        None,
    );
    assert!(
        !allowed(&c, G, bcli, web, T, 8080),
        "K8: one element is AND"
    );
    let mut c = c0;
    let or = vec![
        pods(Some(sel(&[("team", "y")])), None),
        pods(None, Some(sel(&[("app", "db")]))),
    ];
    mk_np(
        &mut c,
        "a",
        "p",
        web_sel(),
        Some(vec![rule(Some(or), None)]),
        None,
    );
    assert!(
        allowed(&c, G, bcli, web, T, 8080),
        "K9: two elements are OR"
    );
}

#[test]
fn k10_absent_from_allows_external() {
    let (mut c, web, _, _) = base();
    mk_np(
        &mut c,
        "a",
        "p",
        web_sel(),
        Some(vec![rule(None, None)]),
        None,
    );
    assert!(allowed_from_ip(&c, "8.8.8.8", web, 8080));
}

#[test]
fn k12_k13_named_port_resolves_on_receiver_with_protocol() {
    let (c0, web, acli, _) = base();
    let mut c = c0.clone();
    let named = port(T, Some(PortRef::Name("http".into())), None);
    mk_np(
        &mut c,
        "a",
        "p",
        web_sel(),
        Some(vec![rule(None, Some(vec![named]))]),
        None,
    );
    assert!(allowed(&c, G, acli, web, T, 8080), "K12");
    let mut c = c0;
    let named_udp = port(Protocol::Udp, Some(PortRef::Name("http".into())), None);
    mk_np(
        &mut c,
        "a",
        "p",
        web_sel(),
        Some(vec![rule(None, Some(vec![named_udp]))]),
        None,
    );
    assert!(!allowed(&c, G, acli, web, T, 8080), "K13");
}

#[test]
fn k14_end_port_is_inclusive() {
    let (mut c, web, acli, _) = base();
    let r = port(T, Some(PortRef::Number(8000)), Some(8080));
    mk_np(
        &mut c,
        "a",
        "p",
        web_sel(),
        Some(vec![rule(None, Some(vec![r]))]),
        None,
    );
    assert!(allowed(&c, G, acli, web, T, 8080));
    assert!(!allowed(&c, G, acli, web, T, 8081));
}

#[test]
fn k18_k19_ipblock_except() {
    let (mut c, _, acli, _) = base();
    let r = rule(Some(vec![ipblock("0.0.0.0/0", &["10.0.0.0/8"])]), None);
    mk_np(
        &mut c,
        "a",
        "p",
        sel(&[("app", "cli")]),
        None,
        Some(vec![r]),
    );
    assert!(allowed_to_ip(&c, acli, "8.8.8.8", Protocol::Udp, 53), "K18");
    assert!(!allowed_to_ip(&c, acli, "10.9.9.9", T, 443), "K19");
}

#[test]
fn k20_ipblock_on_pod_ips_depends_on_the_cni() {
    let (mut c, web, acli, _) = base();
    c.endpoints[web].ips = vec!["10.244.1.5".parse().unwrap()];
    let r = rule(Some(vec![ipblock("10.244.0.0/16", &[])]), None);
    mk_np(
        &mut c,
        "a",
        "p",
        sel(&[("app", "cli")]),
        None,
        Some(vec![r]),
    );
    assert!(
        !allowed(&c, Profile::Generic, acli, web, T, 8080),
        "generic/Cilium: DENY"
    );
    assert!(
        allowed(&c, Profile::Calico, acli, web, T, 8080),
        "Calico: ALLOW"
    );
}

#[test]
fn k23_k24_egress_named_port_resolves_on_destination() {
    let (mut c, web, acli, _) = base();
    let named = port(T, Some(PortRef::Name("http".into())), None);
    let to_pods = rule(
        Some(vec![pods(None, Some(LabelSelector::everything()))]),
        Some(vec![named.clone()]),
    );
    let to_all = rule(Some(vec![ipblock("0.0.0.0/0", &[])]), Some(vec![named]));
    mk_np(
        &mut c,
        "a",
        "p",
        sel(&[("app", "cli")]),
        None,
        Some(vec![to_pods, to_all]),
    );
    assert!(allowed(&c, G, acli, web, T, 8080), "K23");
    assert!(!allowed_to_ip(&c, acli, "1.1.1.1", T, 8080), "K24");
}

#[test]
fn k25_not_in_selects_pods_without_the_key() {
    let (mut c, web, acli, _) = base();
    let s = LabelSelector {
        match_labels: Labels::new(),
        match_expressions: vec![Requirement {
            key: "tier".into(),
            operator: Operator::NotIn,
            values: vec!["db".into()],
        }],
    };
    mk_np(&mut c, "a", "p", s, Some(vec![]), None);
    assert!(!allowed(&c, G, acli, web, T, 8080));
}

#[test]
fn k26_namespace_name_label() {
    let (mut c, web, _, bcli) = base();
    let r = rule(
        Some(vec![pods(
            Some(sel(&[("kubernetes.io/metadata.name", "b")])),
            None,
        )]),
        None,
    );
    mk_np(&mut c, "a", "p", web_sel(), Some(vec![r]), None);
    assert!(allowed(&c, G, bcli, web, T, 8080));
}

#[test]
fn k28_policies_are_a_union() {
    let (mut c, web, acli, _) = base();
    mk_np(
        &mut c,
        "a",
        "p1",
        web_sel(),
        Some(vec![rule(
            Some(vec![pods(None, Some(sel(&[("app", "cli")])))]),
            None,
        )]),
        None,
    );
    mk_np(&mut c, "a", "p2", web_sel(), Some(vec![]), None);
    assert!(allowed(&c, G, acli, web, T, 8080));
}

// ---- ANP/BANP (§1B.3): pods a/web, b/cli; a{env=prod}, b{env=dev}.

fn admin_base() -> (Cluster, usize, usize) {
    let mut c = Cluster::default();
    mk_ns(&mut c, "a", &[("env", "prod")]);
    mk_ns(&mut c, "b", &[("env", "dev")]);
    let web = mk_pod(&mut c, "a", "web", &[("app", "web")], &[]);
    let cli = mk_pod(&mut c, "b", "cli", &[("app", "cli")], &[]);
    (c, web, cli)
}

fn anp(
    name: &str,
    prio: i32,
    subject_env: &str,
    ingress: Vec<AdminRule>,
    egress: Vec<AdminRule>,
) -> AdminPolicy {
    AdminPolicy {
        kind: netfence_model::AdminKind::AdminNetworkPolicy,
        name: name.into(),
        priority: Some(prio),
        subject: AdminSubject::Namespaces(sel(&[("env", subject_env)])),
        ingress,
        egress,
        origin: Origin::default(),
    }
}

fn arule(action: AdminAction, peer: AdminPeer) -> AdminRule {
    AdminRule {
        name: format!("{action:?}"),
        action,
        peers: vec![peer],
        ports: None,
    }
}

fn from_env(env: &str) -> AdminPeer {
    AdminPeer::Namespaces(sel(&[("env", env)]))
}

fn banp_deny_all_ingress() -> AdminPolicy {
    AdminPolicy {
        kind: netfence_model::AdminKind::BaselineAdminNetworkPolicy,
        name: "default".into(),
        priority: None,
        subject: AdminSubject::Namespaces(LabelSelector::everything()),
        ingress: vec![arule(
            AdminAction::Deny,
            AdminPeer::Namespaces(LabelSelector::everything()),
        )],
        egress: vec![],
        origin: Origin::default(),
    }
}

#[test]
fn a1_a2_anp_deny_beats_network_policy() {
    let (mut c, web, cli) = admin_base();
    let _ = c.policies.add(anp(
        "d",
        10,
        "prod",
        vec![arule(AdminAction::Deny, from_env("dev"))],
        vec![],
    ));
    assert!(!allowed(&c, G, cli, web, T, 80), "A1");
    mk_np(
        &mut c,
        "a",
        "all",
        LabelSelector::everything(),
        Some(vec![rule(None, None)]),
        None,
    );
    assert!(!allowed(&c, G, cli, web, T, 80), "A2");
}

#[test]
fn a3_anp_allow_beats_default_deny() {
    let (mut c, web, cli) = admin_base();
    let _ = c.policies.add(anp(
        "al",
        10,
        "prod",
        vec![arule(AdminAction::Allow, from_env("dev"))],
        vec![],
    ));
    mk_np(
        &mut c,
        "a",
        "deny",
        LabelSelector::everything(),
        Some(vec![]),
        None,
    );
    assert!(allowed(&c, G, cli, web, T, 80));
}

#[test]
fn a4_to_a7_pass_reaches_network_policy_then_baseline() {
    let (c0, web, cli) = admin_base();
    let mut c = c0;
    let _ = c.policies.add(anp(
        "pass",
        5,
        "prod",
        vec![arule(AdminAction::Pass, from_env("dev"))],
        vec![],
    ));
    let _ = c.policies.add(anp(
        "deny",
        10,
        "prod",
        vec![arule(
            AdminAction::Deny,
            AdminPeer::Namespaces(LabelSelector::everything()),
        )],
        vec![],
    ));
    assert!(allowed(&c, G, cli, web, T, 80), "A4");
    let _ = c.policies.add(banp_deny_all_ingress());
    assert!(!allowed(&c, G, cli, web, T, 80), "A5");
    let mut c6 = c.clone();
    mk_np(
        &mut c6,
        "a",
        "np",
        web_sel(),
        Some(vec![rule(
            Some(vec![pods(Some(sel(&[("env", "dev")])), None)]),
            None,
        )]),
        None,
    );
    assert!(allowed(&c6, G, cli, web, T, 80), "A6");
    let mut c7 = c;
    mk_np(
        &mut c7,
        "a",
        "np",
        web_sel(),
        Some(vec![rule(
            Some(vec![pods(Some(sel(&[("env", "qa")])), None)]),
            None,
        )]),
        None,
    );
    assert!(!allowed(&c7, G, cli, web, T, 80), "A7");
}

#[test]
fn a8_baseline_is_not_consulted_when_a_network_policy_isolates() {
    let (mut c, web, cli) = admin_base();
    let mut b = banp_deny_all_ingress();
    b.ingress = vec![arule(AdminAction::Allow, from_env("dev"))];
    let _ = c.policies.add(b);
    mk_np(&mut c, "a", "deny", web_sel(), Some(vec![]), None);
    assert!(!allowed(&c, G, cli, web, T, 80));
}

#[test]
fn a9_networks_match_pod_ips() {
    let (mut c, web, cli) = admin_base();
    c.endpoints[web].ips = vec!["10.244.0.7".parse().unwrap()];
    let all = AdminPeer::Networks(IpSet::parse_cidr("0.0.0.0/0").unwrap());
    let _ = c.policies.add(anp(
        "n",
        1,
        "dev",
        vec![],
        vec![arule(AdminAction::Deny, all)],
    ));
    assert!(!allowed(&c, G, cli, web, T, 80));
}

#[test]
fn a10_no_implicit_isolation() {
    let (mut c, web, cli) = admin_base();
    let _ = c.policies.add(anp(
        "eg",
        1,
        "prod",
        vec![],
        vec![arule(AdminAction::Deny, from_env("dev"))],
    ));
    assert!(allowed(&c, G, cli, web, T, 80));
}
