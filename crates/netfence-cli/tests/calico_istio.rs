//! End-to-end on the seed's Calico (allow-external-dns, deny-suspicious) and Istio (default,
//! backend-mtls, backend-authz) examples: one layered verdict per flow, audit findings, and
//! the same flows under flannel.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failed test"
)]

mod common;

const EXAMPLE: &str = "examples/seed-calico-istio";

use common::run;

fn query(cni: &str, from: &str, extra: &[&str]) -> (i32, String) {
    let mut args = vec![
        "query",
        EXAMPLE,
        "--cni",
        cni,
        "--from",
        from,
        "--to",
        "production/api",
        "--port",
        "8080",
    ];
    args.extend_from_slice(extra);
    let (code, out, _) = run(&args);
    (code, out)
}

const GET: [&str; 4] = ["--http-method", "GET", "--http-path", "/api/v1/x"];

#[test]
fn the_order_50_deny_beats_the_networkpolicy_allow() {
    let (code, out) = query("calico", "production/compromised", &GET);
    assert_eq!(code, 1);
    assert!(
        out.contains("GlobalNetworkPolicy        deny  deny-suspicious ingress[0]"),
        "{out}"
    );
    insta::assert_snapshot!(out);
}

#[test]
fn frontend_service_account_allowed_another_denied_at_l7() {
    let (code, out) = query("calico", "production/frontend", &GET);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("caller identity cluster.local/ns/production/sa/frontend"));
    insta::assert_snapshot!(out);
    let (code, out) = query("calico", "production/reporting", &GET);
    assert_eq!(code, 1);
    assert!(
        out.contains("DENIED at L7") && out.contains("production/backend-authz"),
        "{out}"
    );
    // DELETE is not among the frontend's methods.
    let (code, out) = query(
        "calico",
        "production/frontend",
        &["--http-method", "DELETE", "--http-path", "/api/v1/x"],
    );
    assert_eq!(code, 1, "{out}");
    // A pod without a sidecar is refused by STRICT mTLS before any authorization.
    let (code, out) = query("calico", "production/batch", &GET);
    assert_eq!(code, 1);
    assert!(out.contains("STRICT on port 8080: plaintext"), "{out}");
}

#[test]
fn under_flannel_the_cni_enforces_nothing_and_says_so() {
    let (code, out, err) = run(&[
        "query",
        EXAMPLE,
        "--cni",
        "flannel",
        "--from",
        "production/frontend",
        "--to",
        "production/api",
        "--port",
        "8080",
        "--http-method",
        "GET",
        "--http-path",
        "/api/v1/x",
    ]);
    assert_eq!(code, 0);
    assert!(
        out.contains("--cni flannel enforces no NetworkPolicy"),
        "{out}"
    );
    assert!(
        err.contains("1 NetworkPolicy object(s) are not enforced under --cni flannel"),
        "{err}"
    );
    assert!(
        err.contains("2 Calico NetworkPolicy/GlobalNetworkPolicy object(s) are not enforced"),
        "{err}"
    );
    // The Deny that protected the API is gone with flannel; the mesh still refuses the
    // compromised pod's identity.
    let (code, out) = query("flannel", "production/compromised", &GET);
    assert_eq!(code, 1);
    assert!(
        !out.contains("deny-suspicious") && out.contains("backend-authz"),
        "{out}"
    );
}

#[test]
fn audit_findings_of_the_example() {
    let (_, out, _) = run(&["audit", EXAMPLE, "--cni", "calico"]);
    // deny-suspicious selects all(): the end of tier `default` now blocks DNS for everyone.
    assert!(
        out.contains("NP004 [critical] GlobalNetworkPolicy deny-suspicious isolates cluster DNS"),
        "{out}"
    );
    assert!(
        out.contains("IST002 [medium] production/batch[Deployment] has no Istio proxy"),
        "{out}"
    );
    let findings: Vec<&str> = out
        .lines()
        .filter(|l| l.contains(": CAL") || l.contains(": IST"))
        .collect();
    insta::assert_snapshot!(findings.join("\n"));
}

#[test]
fn connectivity_applies_the_mesh() {
    let (code, out, _) = run(&["connectivity", EXAMPLE, "--cni", "calico"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("production/frontend[Deployment] => production/api[Deployment] : TCP 8080\n")
    );
    // reporting is admitted by the NetworkPolicy, refused by the AuthorizationPolicy.
    assert!(
        !out.contains("production/reporting[Deployment] => production/api"),
        "{out}"
    );
    assert!(
        !out.contains("production/batch[Deployment] => production/api"),
        "{out}"
    );
    insta::assert_snapshot!(out);
}

#[test]
fn cni_table_and_detection() {
    let (code, out, _) = run(&["cni", EXAMPLE]);
    assert_eq!(code, 0);
    assert!(
        out.contains("detected: calico-node (kube-system/calico-node[DaemonSet])"),
        "{out}"
    );
    assert!(out.contains("--cni auto picks: calico"));
    insta::assert_snapshot!(out);
}
