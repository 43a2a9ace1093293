//! End-to-end on the seed's Cilium examples (patterns 3 and 4): L7 and FQDN verdicts of
//! `query`, L7 constraints in `connectivity`, and the seed's duplicate `ingress:` key.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failed test"
)]

mod common;

const EXAMPLE: &str = "examples/seed-cilium";
// The article's pattern 3 has a Kafka rule: Cilium enforces those up to 1.19 (1.20 removed
// them), so these tests run on cilium@1.19; `kafka_rules_on_cilium_1_20` checks the newer one.

use common::run;

/// `query` on the example with extra flags; returns (exit code, verdict) from the JSON.
fn verdict(from: &str, to: &str, port: &str, extra: &[&str]) -> (i32, String) {
    let mut args = vec![
        "query",
        EXAMPLE,
        "--cni",
        "cilium@1.19",
        "--from",
        from,
        "--to",
        to,
        "--port",
        port,
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let (code, out, err) = run(&args);
    let v: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}"));
    (code, v["verdict"].as_str().unwrap().to_string())
}

#[test]
fn http_rules_allow_get_and_refuse_delete_with_403() {
    let get = ["--http-method", "GET", "--http-path", "/api/v1/users"];
    assert_eq!(
        verdict("production/web", "production/api", "8080", &get),
        (0, "allow".into())
    );
    let delete = ["--http-method", "DELETE", "--http-path", "/api/v1/users"];
    assert_eq!(
        verdict("production/web", "production/api", "8080", &delete),
        (1, "l7-deny".into())
    );
    // The path regex is anchored and sees the query string.
    let post = ["--http-method", "POST", "--http-path", "/api/v1/orders?x=1"];
    assert_eq!(
        verdict("production/web", "production/api", "8080", &post),
        (1, "l7-deny".into())
    );
    // Another port is refused at L3/L4, not by the proxy.
    assert_eq!(
        verdict("production/web", "production/api", "9090", &[]),
        (1, "deny".into())
    );
}

#[test]
fn kafka_topics_per_client() {
    let produce = |topic: &str| {
        verdict(
            "production/order-service",
            "production/kafka",
            "9092",
            &["--kafka-role", "produce", "--kafka-topic", topic],
        )
    };
    assert_eq!(produce("orders"), (0, "allow".into()));
    assert_eq!(produce("payments"), (1, "l7-deny".into()));
    let fetch = ["--kafka-role", "consume", "--kafka-topic", "payments"];
    assert_eq!(
        verdict(
            "production/payment-service",
            "production/kafka",
            "9092",
            &fetch
        ),
        // payment-service's own egress policy (allow-external-services) is default deny.
        (1, "deny".into())
    );
}

#[test]
fn kafka_rules_on_cilium_1_20() {
    let args = |cni: &'static str| {
        [
            "query",
            EXAMPLE,
            "--cni",
            cni,
            "--from",
            "production/order-service",
            "--to",
            "production/kafka",
            "--port",
            "9092",
            "--kafka-role",
            "produce",
            "--kafka-topic",
            "payments",
        ]
    };
    let (code, out, err) = run(&args("cilium@1.20"));
    // the rule is pruned by the API server: the port is allowed whole, and netfence says so
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("production/kafka-policy has Kafka rules, which Cilium 1.20 removed"),
        "{err}"
    );
    assert!(out.contains("data path: cilium@1.20"), "{out}");
    let (code, _, err) = run(&args("cilium@1.19"));
    assert_eq!(code, 1);
    assert!(!err.contains("Kafka rules"), "{err}");
}

#[test]
fn fqdn_egress_follows_ciliums_wildcards() {
    for (name, expected) in [
        ("api.stripe.com", "allow"),
        ("evil.example.com", "deny"),
        ("s3.amazonaws.com", "allow"),
        ("a.b.amazonaws.com", "deny"),
    ] {
        let to = format!("fqdn:{name}");
        let (code, v) = verdict("production/api", &to, "443", &[]);
        assert_eq!(v, expected, "{name}");
        assert_eq!(code, i32::from(expected != "allow"), "{name}");
    }
    // DNS itself: the proxy answers names its rule matches.
    let dns = ["--protocol", "UDP", "--dns-name", "api.stripe.com"];
    assert_eq!(
        verdict("production/api", "kube-system/coredns", "53", &dns),
        (0, "allow".into())
    );
}

#[test]
fn query_text_names_the_deciding_rule() {
    let (code, out, _) = run(&[
        "query",
        EXAMPLE,
        "--cni",
        "cilium@1.19",
        "--from",
        "production/web",
        "--to",
        "production/api",
        "--port",
        "8080",
        "--http-method",
        "DELETE",
        "--http-path",
        "/api/v1/users",
    ]);
    assert_eq!(code, 1);
    insta::assert_snapshot!(out);
}

#[test]
fn connectivity_shows_l7_constraints_and_fqdn_destinations() {
    let (code, out, err) = run(&["connectivity", EXAMPLE, "--cni", "cilium@1.19"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("production/web[Deployment] => production/api[Deployment] : TCP 8080 (TCP 8080: HTTP GET /api/v1/.*"));
    assert!(out.contains("production/api[Deployment] => api.stripe.com[FQDN] : TCP 443\n"));
    insta::assert_snapshot!(out);
}

#[test]
fn the_seeds_duplicate_ingress_key_is_an_error_with_both_lines() {
    let (code, _, err) = run(&["connectivity", "examples/scenarios/duplicate-key"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("allow-mtls-traffic.yaml:17")
            && err.contains("duplicate key `ingress` at line 17 was already set at line 9"),
        "{err}"
    );
}

#[test]
fn cilium_policies_under_another_profile_are_reported_not_enforced() {
    let (code, _, err) = run(&[
        "query",
        EXAMPLE,
        "--cni",
        "generic",
        "--from",
        "production/web",
        "--to",
        "production/api",
        "--port",
        "9090",
    ]);
    assert_eq!(code, 0);
    assert!(
        err.contains("CiliumNetworkPolicy/CiliumClusterwideNetworkPolicy object(s) are not enforced under --cni generic"),
        "{err}"
    );
    // Without --cni the contract's default, generic, applies; auto detects Cilium.
    let (_, _, err) = run(&["connectivity", EXAMPLE]);
    assert!(err.contains("not enforced under --cni generic"), "{err}");
    let (code, out, _) = run(&["connectivity", EXAMPLE, "--cni", "auto"]);
    assert_eq!(code, 0);
    assert!(out.contains("api.stripe.com[FQDN]"));
}

#[test]
fn test_spec_with_l7_facts() {
    let spec = "examples/tests/seed-cilium.yaml";
    let (code, out, err) = run(&["test", EXAMPLE, "--cni", "cilium@1.19", "--spec", spec]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("5 passed, 0 failed"), "{out}");
    // Under a profile without L7 the refusals are not enforced: those tests fail, saying why.
    let (code, out, _) = run(&["test", EXAMPLE, "--spec", spec]);
    assert_eq!(code, 1);
    assert!(
        out.contains("3 passed, 2 failed") && out.contains("enforces no layer-7 rules"),
        "{out}"
    );
}

#[test]
fn score_counts_l7_and_fqdn_patterns_under_cilium() {
    let (_, out, _) = run(&["audit", EXAMPLE, "--cni", "cilium@1.19"]);
    // web, api and kafka serve HTTP/Kafka; only web's clients are unconstrained at L7
    // (nothing selects web), so 2 of 3 meet pattern 3.
    assert!(
        out.contains("pattern 3 L7 rules on HTTP/Kafka ports: 10/15"),
        "{out}"
    );
    // api and payment-service reach the internet only through toFQDNs: 2 of 5.
    assert!(
        out.contains("pattern 4 internet egress only by FQDN: 6/15"),
        "{out}"
    );
    // kafka-policy isolates kafka for ingress under Cilium: no NP103 for its ingress.
    assert!(
        out.contains("no policy isolates production/kafka[StatefulSet] for egress\n"),
        "{out}"
    );
    let (_, out, _) = run(&["audit", EXAMPLE]);
    assert!(
        out.contains("pattern 3 L7 rules on HTTP/Kafka ports: 0/15"),
        "{out}"
    );
}

#[test]
fn tls_server_names_with_the_tls_sni_flag() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("c.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: a, labels: {app: web}}\nspec: {containers: [{name: c, image: x}]}\n---\napiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: p, namespace: a}\nspec:\n  endpointSelector: {matchLabels: {app: web}}\n  egress:\n  - toCIDRSet: [{cidr: 2.2.2.0/24}]\n    toPorts: [{ports: [{port: '443', protocol: TCP}], serverNames: [api.example.com]}]\n",
    )
    .unwrap();
    let path = dir.path().to_str().unwrap();
    let q = |sni: &str| {
        run(&[
            "query",
            path,
            "--cni",
            "cilium@1.19",
            "--from",
            "a/web",
            "--to",
            "2.2.2.2",
            "--port",
            "443",
            "--tls-sni",
            sni,
        ])
    };
    let (code, out, err) = q("api.example.com");
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("ALLOWED"), "{out}");
    let (code, out, _) = q("other.example.com");
    assert_ne!(code, 0);
    assert!(out.contains("TLS server name not allowed"), "{out}");
    // without a server name the connection is allowed only for the listed names, and says so
    let (_, out, _) = run(&["connectivity", path, "--cni", "cilium@1.19"]);
    assert!(out.contains("TLS SNI api.example.com"), "{out}");
}

/// `query --protocol ICMP --icmp-type N` asks about Cilium `icmps` rules, and the map shows the
/// types; `--port` with ICMP is refused with what to pass instead.
#[test]
fn icmp_echo_is_queried_by_type_and_shown_in_the_map() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.yaml");
    std::fs::write(
        &path,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: fe, namespace: a, labels: {role: frontend}}\nspec: {containers: [{name: c, image: x}]}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: be, namespace: a, labels: {role: backend}}\nspec: {containers: [{name: c, image: x}]}\n---\napiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: ping, namespace: a}\nspec:\n  endpointSelector: {matchLabels: {role: backend}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {role: frontend}}]\n    icmps: [{fields: [{type: EchoRequest}]}]\n",
    )
    .unwrap();
    let p = path.to_str().unwrap();
    let query = |extra: &[&str]| {
        let mut args = vec![
            "query",
            p,
            "--cni",
            "cilium@1.19",
            "--from",
            "a/fe",
            "--to",
            "a/be",
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    let (code, out, _) = query(&["--protocol", "ICMP", "--icmp-type", "8"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("a/fe[Pod] => a/be[Pod] : ICMP type 8 is ALLOWED"),
        "{out}"
    );
    let (code, out, _) = query(&["--protocol", "icmp", "--icmp-type", "0"]);
    assert_eq!(code, 1, "{out}");
    let (code, _, _) = query(&["--port", "80"]);
    assert_eq!(code, 1, "no TCP port is open");
    let (code, _, err) = query(&["--protocol", "ICMP", "--port", "8"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("ICMP has types, not ports: pass --icmp-type"),
        "{err}"
    );
    let (code, out, _) = run(&["connectivity", p, "--cni", "cilium@1.19"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("a/fe[Pod] => a/be[Pod] : ICMP type 8"),
        "{out}"
    );
}
