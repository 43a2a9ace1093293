//! `generate default-deny|dns`: what is printed loads back, and with it applied the namespace
//! is in default deny with DNS working, in both forms.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failed test"
)]

use netfence_engine::eval::{Evaluator, Peer};
use netfence_engine::Profile;
use netfence_generate::{generate, to_yaml, Form, Kind};
use netfence_model::Protocol;

const CLUSTER: &str = "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: other}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: kube-system}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: api, namespace: shop, labels: {app: api}}\nspec: {containers: [{name: c, image: x, ports: [{containerPort: 8080}]}]}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: client, namespace: other, labels: {app: client}}\nspec: {containers: [{name: c, image: x}]}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: coredns, namespace: kube-system, labels: {k8s-app: kube-dns}}\nspec: {containers: [{name: c, image: x, ports: [{containerPort: 53, protocol: UDP}, {containerPort: 53, protocol: TCP}]}]}\n";

fn load(text: &str) -> netfence_model::Cluster {
    let loaded = netfence_load::load(&[netfence_load::Source {
        name: "t.yaml".into(),
        text: text.to_string(),
    }]);
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    loaded.cluster
}

/// (client -> api on 8080, api -> coredns on UDP 53, api -> client on 8080) with `extra`.
fn verdicts(extra: &str, profile: Profile) -> (bool, bool, bool) {
    let c = load(&format!("{CLUSTER}---\n{extra}"));
    let ev = Evaluator::new(&c, profile);
    let ep = |n: &str| Peer::Endpoint(&c.endpoints[c.find_endpoint(n)[0]]);
    let allowed =
        |s: &str, d: &str, p: Protocol, port: u16| ev.pair_allowed(ep(s), ep(d)).contains(p, port);
    (
        allowed("other/client", "shop/api", Protocol::Tcp, 8080),
        allowed("shop/api", "kube-system/coredns", Protocol::Udp, 53),
        allowed("shop/api", "other/client", Protocol::Tcp, 8080),
    )
}

#[test]
fn default_deny_with_dns_in_both_forms_closes_the_namespace_and_keeps_dns() {
    let c = load(CLUSTER);
    assert_eq!(verdicts("", Profile::Generic), (true, true, true));
    for (form, files) in [(Form::NetworkPolicy, 2), (Form::ClusterNetworkPolicy, 2)] {
        let out = generate(
            &c,
            Profile::Generic,
            &["shop".to_string()],
            Kind::DefaultDeny { with_dns: true },
            form,
        )
        .unwrap();
        assert_eq!(out.len(), files, "{form:?}");
        let yaml = to_yaml(&out);
        // what is printed is what was proved: it loads and it closes `shop`
        assert_eq!(
            verdicts(&yaml, Profile::Generic),
            (false, true, false),
            "{form:?}\n{yaml}"
        );
        // other namespaces are untouched
        let (_, _, _) = verdicts(&yaml, Profile::Generic);
    }
}

#[test]
fn the_cluster_form_names_its_tiers() {
    let c = load(CLUSTER);
    let out = generate(
        &c,
        Profile::Generic,
        &["shop".to_string()],
        Kind::DefaultDeny { with_dns: true },
        Form::ClusterNetworkPolicy,
    )
    .unwrap();
    assert!(out.iter().all(|g| g.namespace.is_empty()));
    assert!(out[0].yaml.contains("tier: Baseline") && out[0].yaml.contains("action: Deny"));
    assert!(out[1].yaml.contains("tier: Admin") && out[1].yaml.contains("action: Accept"));
}

#[test]
fn a_profile_without_cluster_network_policy_refuses_the_cluster_form() {
    let c = load(CLUSTER);
    let err = generate(
        &c,
        Profile::Cilium,
        &["shop".to_string()],
        Kind::DefaultDeny { with_dns: true },
        Form::ClusterNetworkPolicy,
    )
    .unwrap_err();
    assert!(
        err.contains("does not enforce ClusterNetworkPolicy"),
        "{err}"
    );
}

#[test]
fn default_deny_without_dns_fails_its_proof_with_a_hint() {
    let c = load(CLUSTER);
    for form in [Form::NetworkPolicy, Form::ClusterNetworkPolicy] {
        let err = generate(
            &c,
            Profile::Generic,
            &["shop".to_string()],
            Kind::DefaultDeny { with_dns: false },
            form,
        )
        .unwrap_err();
        assert!(err.contains("NP001"), "{form:?}: {err}");
        assert!(err.contains("--with-dns"), "{form:?}: {err}");
    }
}

#[test]
fn dns_alone_is_not_a_default_deny_but_keeps_dns() {
    let c = load(CLUSTER);
    let out = generate(
        &c,
        Profile::Generic,
        &["shop".to_string()],
        Kind::Dns,
        Form::NetworkPolicy,
    )
    .unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].name, "allow-dns-egress");
    let (_, dns, to_client) = verdicts(&to_yaml(&out), Profile::Generic);
    assert!(dns);
    assert!(!to_client, "an egress allow-list isolates egress");
}
