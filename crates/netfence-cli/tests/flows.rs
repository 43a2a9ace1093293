//! `flows explain`, `flows replay` and `generate from-flows` over the four hand-written Hubble
//! samples vendored in `tests/fixtures/hubble` (see its README).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failed test"
)]
#![allow(
    clippy::disallowed_methods,
    reason = "tests read the vendored fixtures and write generated policies to a temp dir"
)]

use std::path::PathBuf;

mod common;

const SAMPLES: [&str; 4] = ["enforced-drops", "audit-mode", "l7", "legacy-bare-flow"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn sample(name: &str) -> String {
    let p = root().join(format!("tests/fixtures/hubble/{name}.jsonl"));
    assert!(p.exists(), "{} is part of the repository", p.display());
    p.display().to_string()
}

use common::run;

fn json(args: &[&str]) -> (i32, serde_json::Value) {
    let (code, out, err) = run(args);
    (
        code,
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}")),
    )
}

/// The `connection` of every item of list `key` of a JSON answer.
fn connections(v: &serde_json::Value, key: &str) -> Vec<String> {
    v[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["connection"].as_str().unwrap().to_string())
        .collect()
}

const CLUSTER: &str = "examples/hubble-shop/cluster";
const POLICIES: &str = "examples/hubble-shop/policies";

#[test]
fn explain_blames_policy_only_for_policy_drops() {
    let f = sample("enforced-drops");
    let (code, v) = json(&[
        "flows", "explain", &f, CLUSTER, POLICIES, "--format", "json",
    ]);
    assert_eq!(code, 0, "no drift: {v:#}");
    let drops = v["policy_drops"].as_array().unwrap();
    let conns: Vec<&str> = drops
        .iter()
        .map(|d| d["connection"].as_str().unwrap())
        .collect();
    assert_eq!(drops.len(), 3, "{conns:?}");
    assert!(drops.iter().all(|d| d["offline_denies"] == true));
    // The explicit deny is named and gets no allow rule.
    let smtp = drops
        .iter()
        .find(|d| d["connection"].as_str().unwrap().contains("TCP 25"))
        .unwrap();
    assert_eq!(smtp["explicit_deny"], true);
    assert!(smtp["offline"]
        .as_str()
        .unwrap()
        .contains("shop/deny-smtp-egress"));
    // frontend -> postgres is denied on both sides: one checked allow per side.
    let pg = drops
        .iter()
        .find(|d| d["connection"].as_str().unwrap().contains("TCP 5432"))
        .unwrap();
    let fixes = pg["fixes"].as_array().unwrap();
    assert_eq!(fixes.len(), 2);
    assert!(fixes.iter().all(|x| x["verified"] == true));
    // The routing drop is reported apart.
    let other = v["non_policy_drops"].as_array().unwrap();
    assert_eq!(other.len(), 1);
    assert_eq!(other[0]["reason"], "STALE_OR_UNROUTABLE_IP");
    assert!(!conns.iter().any(|c| c.contains("9092")));
}

#[test]
fn explain_text_of_the_enforced_sample() {
    let f = sample("enforced-drops");
    let (_, out, _) = run(&["flows", "explain", &f, CLUSTER, POLICIES]);
    insta::assert_snapshot!(out.replace(&f, "enforced-drops.jsonl"));
}

#[test]
fn explain_l7_refusal_and_audit_mode() {
    let f = sample("l7");
    let (code, v) = json(&[
        "flows", "explain", &f, CLUSTER, POLICIES, "--format", "json",
    ]);
    assert_eq!(code, 0);
    let drops = v["policy_drops"].as_array().unwrap();
    assert_eq!(drops.len(), 1);
    assert!(
        drops[0]["offline"]
            .as_str()
            .unwrap()
            .starts_with("DENIED at L7"),
        "{drops:?}"
    );
    for name in ["audit-mode", "legacy-bare-flow"] {
        let f = sample(name);
        let (code, v) = json(&[
            "flows", "explain", &f, CLUSTER, POLICIES, "--format", "json",
        ]);
        assert_eq!(code, 0, "{name}");
        assert!(!v["audit"].as_array().unwrap().is_empty(), "{name}");
        assert!(v["policy_drops"].as_array().unwrap().is_empty(), "{name}");
    }
}

#[test]
fn drift_when_the_cluster_forwards_what_the_manifests_deny() {
    let f = sample("enforced-drops");
    // Against the tightened proposal, the forwarded api -> postgres flow is drift.
    let (code, v) = json(&[
        "flows",
        "explain",
        &f,
        CLUSTER,
        "examples/hubble-shop/proposed",
        "--format",
        "json",
    ]);
    assert_eq!(code, 1);
    let drift: Vec<String> = connections(&v, "drift");
    assert!(
        drift
            .iter()
            .any(|c| c.contains("shop/postgres") && c.contains("TCP 5432")),
        "{drift:?}"
    );
}

#[test]
fn replay_groups_what_a_change_breaks() {
    let f = sample("audit-mode");
    let (code, v) = json(&[
        "flows",
        "replay",
        &f,
        CLUSTER,
        "examples/hubble-shop/proposed",
        "--format",
        "json",
    ]);
    assert_eq!(code, 1);
    let breaks: Vec<String> = connections(&v, "would_break");
    assert_eq!(breaks.len(), 7, "{breaks:?}");
    // ICMP is judged by type: the proposal's NetworkPolicies open TCP 5432 only
    assert!(breaks
        .iter()
        .any(|b| b == "shop/api[Deployment] => shop/postgres[StatefulSet] : ICMP type 8"));
    assert!(breaks
        .iter()
        .any(|b| b == "shop/frontend[Deployment] => kube-system/coredns[Deployment] : UDP 53"));
    assert!(!breaks
        .iter()
        .any(|b| b.contains("shop/frontend[Deployment] => shop/api")));
    assert_eq!(v["not_evaluated"], 0, "every record names its protocol");
    let (code, v) = json(&["flows", "replay", &f, CLUSTER, POLICIES, "--format", "json"]);
    assert_eq!(
        code, 1,
        "prometheus -> api:9090 was only allowed by audit mode"
    );
    // and so was the ICMP echo (its record's verdict is AUDIT: policy would drop it)
    let breaks: Vec<String> = connections(&v, "would_break");
    assert_eq!(breaks.len(), 2, "{breaks:?}");
    assert!(breaks.iter().any(|b| b.ends_with(": ICMP type 8")));
}

/// Generation over every sample, both dialects: the proof holds, and the peer's known
/// mistakes are absent.
#[test]
fn generate_from_flows_is_least_privilege_and_proved() {
    for name in SAMPLES {
        let f = sample(name);
        for dialect in [
            &["--dialect", "cilium", "--l7", "--fqdn"][..],
            &["--dialect", "networkpolicy"][..],
        ] {
            let mut args = vec!["generate", "from-flows", f.as_str(), "--format", "json"];
            args.extend_from_slice(dialect);
            let (code, v) = json(&args);
            assert_eq!(code, 0, "{name} {dialect:?}: {v:#}");
            assert_eq!(v["proof"]["holds"], true);
            assert_eq!(v["proof"]["learned_allowed"], v["proof"]["learned_total"]);
            assert_eq!(v["proof"]["dropped_denied"], v["proof"]["dropped_total"]);
            let yaml = v["yaml"].as_str().unwrap();
            assert!(!yaml.contains("pod-template-hash"));
            assert!(
                !yaml.contains("0.0.0.0/0") && !yaml.contains("- world"),
                "{name}: no allow-world"
            );
            // DNS egress is kept for every workload given egress rules.
            assert!(yaml.contains("kube-dns"), "{name}");
            // No rule on an ephemeral (reply) port, none for the dropped SMTP and SSH.
            for port in [
                "\"41830\"",
                "\"60411\"",
                "\"25\"",
                "\"22\"",
                "port: 41830",
                "port: 25",
                "port: 22",
            ] {
                assert!(!yaml.contains(port), "{name}: {port}");
            }
        }
    }
}

#[test]
fn generate_uses_destination_names_and_l7_requests() {
    let f = sample("l7");
    let (code, out, err) = run(&["generate", "from-flows", &f, "--l7", "--fqdn"]);
    assert_eq!(code, 0, "{err}");
    let yaml: String = out
        .lines()
        .filter(|l| !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(yaml.contains("matchName: api.stripe.com"));
    assert!(yaml.contains("method: GET"));
    assert!(
        !yaml.contains("DELETE"),
        "the refused request is not learned"
    );
    assert!(yaml.contains("apiKey: produce") && yaml.contains("topic: orders"));
    // Without L7 rules the refusal cannot be kept, and the output says so.
    let (code, v) = json(&[
        "generate",
        "from-flows",
        &f,
        "--dialect",
        "networkpolicy",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0);
    let widened = v["proof"]["widened"].as_array().unwrap();
    assert_eq!(widened.len(), 1);
    assert!(widened[0]
        .as_str()
        .unwrap()
        .contains("DELETE /v1/products/42"));
    insta::assert_snapshot!(out.replace(&f, "l7.jsonl"));
}

/// The round trip through the binary: the generated file, replayed with `flows replay`,
/// breaks nothing that was learned.
#[test]
fn generated_policies_replay_clean() {
    for name in SAMPLES {
        let f = sample(name);
        let (code, out, _) = run(&["generate", "from-flows", &f, CLUSTER, "--l7", "--fqdn"]);
        assert_eq!(code, 0, "{name}");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("generated.yaml"), &out).unwrap();
        let (code, v) = json(&[
            "flows",
            "replay",
            &f,
            CLUSTER,
            dir.path().to_str().unwrap(),
            "--format",
            "json",
        ]);
        let breaks = v["would_break"].as_array().unwrap();
        // Audit-mode flows the generator learned are allowed, the ICMP echo by its type.
        assert!(breaks.is_empty(), "{name}: {breaks:?}");
        assert_eq!(code, 0);
    }
}

/// L3/L4 records of an HTTP connection (from a second capture) do not stop L7 rules from being
/// written: the refused DELETE stays refused.
#[test]
fn generate_keeps_l7_refusals_when_l4_records_of_the_same_port_are_mixed_in() {
    let (a, b) = (sample("enforced-drops"), sample("l7"));
    let dir = tempfile::tempdir().unwrap();
    let mixed = dir.path().join("mixed.jsonl");
    let text = std::fs::read_to_string(a).unwrap() + &std::fs::read_to_string(b).unwrap();
    std::fs::write(&mixed, text).unwrap();
    let (code, v) = json(&[
        "generate",
        "from-flows",
        mixed.to_str().unwrap(),
        "--l7",
        "--fqdn",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["proof"]["dropped_denied"], 4);
    assert!(v["yaml"].as_str().unwrap().contains("method: GET"));
}

/// An observed ICMP echo becomes a Cilium `icmps` rule for its type (and nothing else); a
/// NetworkPolicy cannot allow ICMP by type, so with that dialect the flow is left out, said why.
#[test]
fn icmp_flows_are_learned_as_cilium_icmps_and_refused_for_networkpolicy() {
    let f = sample("audit-mode");
    let (code, v) = json(&["generate", "from-flows", &f, CLUSTER, "--format", "json"]);
    assert_eq!(code, 0, "{v:#}");
    let yaml = v["yaml"].as_str().unwrap();
    assert!(
        yaml.contains("icmps:") && yaml.contains("type: 8") && yaml.contains("family: IPv4"),
        "{yaml}"
    );
    let (code, v) = json(&[
        "generate",
        "from-flows",
        &f,
        CLUSTER,
        "--dialect",
        "networkpolicy",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{v:#}");
    assert!(!v["yaml"].as_str().unwrap().contains("ICMP"));
    let excluded = v["excluded"].to_string();
    assert!(
        excluded.contains("ICMP type 8") && excluded.contains("cannot allow ICMP by type"),
        "{excluded}"
    );
}
