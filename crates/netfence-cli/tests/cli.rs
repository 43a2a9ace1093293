//! End-to-end: the `netfence` binary on the shipped example and on bad input.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failed test"
)]
#![allow(
    clippy::disallowed_methods,
    reason = "tests read the files the binary writes and reads"
)]

use std::path::PathBuf;

use assert_cmd::Command;

mod common;
use common::{assert_success, run};

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/seed-production")
}

fn netfence() -> Command {
    let mut c = Command::cargo_bin("netfence").unwrap();
    c.current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."));
    c
}

/// The README's first map excerpt is what the binary prints.
#[test]
fn the_readme_map_excerpt_is_what_the_binary_prints() {
    let readme =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .unwrap();
    let prompt = "$ netfence connectivity examples/seed-production | grep '^production/'\n";
    let at = readme.find(prompt).expect("the excerpt is in the README") + prompt.len();
    let shown = &readme[at..at + readme[at..].find("```").unwrap()];
    let (code, out, err) = run(&["connectivity", "examples/seed-production"]);
    assert_eq!(code, 0, "{err}");
    let printed: String = out
        .lines()
        .filter(|l| l.starts_with("production/"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(shown, printed);
}

#[test]
fn connectivity_txt_on_the_example() {
    let (code, out, err) = run(&["connectivity", "examples/seed-production"]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!(out);
}

#[test]
fn connectivity_json_is_an_array_of_src_dst_conn() {
    let (code, out, _) = run(&[
        "connectivity",
        "examples/seed-production",
        "--format",
        "json",
        "--focus-workload",
        "production/api",
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let arr = v.as_array().unwrap();
    assert!(!arr.is_empty());
    for item in arr {
        let o = item.as_object().unwrap();
        assert_eq!(o.len(), 3);
        assert!(o.contains_key("src") && o.contains_key("dst") && o.contains_key("conn"));
    }
    insta::assert_snapshot!(out);
}

#[test]
fn exposure_of_the_example() {
    let (code, out, _) = run(&[
        "connectivity",
        "examples/seed-production",
        "--exposure",
        "--focus-workload",
        "production/web",
    ]);
    assert_eq!(code, 0);
    insta::assert_snapshot!(out);
}

#[test]
fn query_denied_explains_and_proposes_a_checked_fix() {
    let (code, out, _) = run(&[
        "query",
        "examples/seed-production",
        "--from",
        "production/web",
        "--to",
        "production/postgres",
        "--port",
        "5432",
    ]);
    assert_eq!(code, 1, "denied exits 1");
    insta::assert_snapshot!(out);
}

#[test]
fn query_allowed_exits_zero() {
    let (code, out, _) = run(&[
        "query",
        "examples/seed-production",
        "--from",
        "production/api",
        "--to",
        "kube-system/coredns",
        "--port",
        "53",
        "--protocol",
        "UDP",
    ]);
    assert_eq!(code, 0);
    insta::assert_snapshot!(out);
}

#[test]
fn query_json_for_scripts() {
    let (code, out, _) = run(&[
        "query",
        "examples/seed-production",
        "--from",
        "production/api",
        "--to",
        "production/redis",
        "--port",
        "6379",
        "--format",
        "json",
    ]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["allowed"], false);
    assert_eq!(v["layers"][0]["verdict"], "allow");
    assert_eq!(v["layers"][1]["verdict"], "deny");
    assert_eq!(v["fixes"][0]["verified"], true);
}

#[test]
fn query_from_an_external_address() {
    let (code, out, _) = run(&[
        "query",
        "examples/seed-production",
        "--from",
        "203.0.113.9",
        "--to",
        "production/web",
        "--port",
        "8080",
    ]);
    assert_eq!(code, 1);
    assert!(
        out.contains(
            "0.0.0.0-255.255.255.255[External] => production/web[Deployment] : TCP 8080 is DENIED"
        ),
        "{out}"
    );
}

#[test]
fn invalid_policy_is_an_error_with_place_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.yaml");
    std::fs::write(
        &f,
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: a}\nspec:\n  podSelector: {}\n  ingress:\n  - from:\n    - {}\n",
    )
    .unwrap();
    let out = netfence().args(["connectivity"]).arg(&f).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("bad.yaml:8: document 1 (NetworkPolicy a/p), field `spec.ingress[0].from[0]`"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "no partial analysis is printed");
}

#[test]
fn stdin_is_read_with_dash() {
    let out = netfence()
        .args(["connectivity", "-"])
        .write_stdin("apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x}\nspec: {containers: [{name: c}]}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: b, namespace: x}\nspec: {containers: [{name: c}]}\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let s = String::from_utf8(out.stdout).unwrap();
    assert!(s.contains("x/a[Pod] => x/b[Pod] : All Connections"), "{s}");
}

#[test]
fn unknown_workload_in_query_is_exit_2() {
    let (code, _, err) = run(&[
        "query",
        "examples/seed-production",
        "--from",
        "production/nope",
        "--to",
        "production/web",
        "--port",
        "80",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("no workload or pod `production/nope`"),
        "{err}"
    );
}

#[test]
fn example_path_exists() {
    assert!(example()
        .join("policies/pattern1-default-deny.yaml")
        .exists());
}

#[test]
fn published_test_spec_schema_is_up_to_date() {
    let (code, out, _) = run(&["test", "--print-schema"]);
    assert_eq!(code, 0);
    let published = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/test-spec.schema.json"),
    )
    .unwrap();
    assert_eq!(
        out, published,
        "regenerate with: netfence test --print-schema > docs/test-spec.schema.json"
    );
}

#[test]
fn test_command_on_the_example_spec() {
    let (code, out, _) = run(&[
        "test",
        "examples/seed-production",
        "--spec",
        "examples/tests/seed-production.yaml",
    ]);
    assert_eq!(
        code, 1,
        "the example spec records the seed's redis gap as a failing test"
    );
    insta::assert_snapshot!(out);
}

#[test]
fn test_command_junit() {
    let (code, out, _) = run(&[
        "test",
        "examples/seed-production",
        "--spec",
        "examples/tests/seed-production.yaml",
        "--format",
        "junit",
    ]);
    assert_eq!(code, 1);
    assert!(out.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"netfence\" tests=\"8\" failures=\"1\">"));
    assert_eq!(out.matches("<testcase ").count(), 8);
    assert_eq!(out.matches("<failure ").count(), 1);
    insta::assert_snapshot!(out);
}

#[test]
fn diff_default_deny_without_dns() {
    let (code, out, _) = run(&[
        "diff",
        "--with",
        "examples/seed-production/cluster",
        "examples/scenarios/default-deny-without-dns/before",
        "examples/scenarios/default-deny-without-dns/after",
        "--fail-on-change",
    ]);
    assert_eq!(code, 1, "--fail-on-change");
    assert!(
        out.contains("DNS: 4 workloads can no longer resolve names"),
        "{out}"
    );
    insta::assert_snapshot!(out);
}

#[test]
fn diff_of_the_seed_policies_as_markdown() {
    let (code, out, _) = run(&[
        "diff",
        "examples/seed-production/cluster",
        "examples/seed-production",
        "--format",
        "md",
    ]);
    assert_eq!(code, 0);
    assert!(out.starts_with("### netfence: connectivity changes"));
    insta::assert_snapshot!(out);
}

#[test]
fn diff_without_change_is_empty() {
    let (code, out, _) = run(&[
        "diff",
        "examples/seed-production",
        "examples/seed-production",
        "--fail-on-change",
    ]);
    assert_eq!(code, 0);
    assert_eq!(out, "no connectivity change\n");
}

#[test]
fn blast_radius_before_and_after_the_seed_policies() {
    let (_, before, _) = run(&[
        "blast-radius",
        "examples/seed-production/cluster",
        "--from",
        "production/web",
        "--target",
        "tier=database",
    ]);
    assert!(before.contains("reached in 1 hops: production/web[Deployment] -[All Connections]-> production/postgres[StatefulSet]"), "{before}");
    let (code, after, _) = run(&[
        "blast-radius",
        "examples/seed-production",
        "--from",
        "production/web",
        "--target",
        "tier=database",
    ]);
    assert_eq!(code, 0);
    assert!(after.contains("-[TCP 8080]-> production/api[Deployment] -[TCP 5432]-> production/postgres[StatefulSet]"), "{after}");
    insta::assert_snapshot!(after);
}

#[test]
fn blast_radius_json_and_cluster_view() {
    let (_, out, _) = run(&[
        "blast-radius",
        "examples/seed-production",
        "--from",
        "production/web",
        "--max-hops",
        "1",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let hops: Vec<u64> = v["reachable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["hops"].as_u64().unwrap())
        .collect();
    assert!(!hops.is_empty() && hops.iter().all(|h| *h == 1), "{hops:?}");
    let (_, view, _) = run(&["blast-radius", "examples/seed-production"]);
    insta::assert_snapshot!(view);
}

#[test]
fn diff_between_git_revisions() {
    let dir = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let st = std::process::Command::new("git")
            .args(args)
            .current_dir(dir.path())
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
            .output()
            .unwrap();
        assert!(
            st.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&st.stderr)
        );
    };
    let ex = example();
    let copy = |from: &str, to: &str| {
        let dest = dir.path().join(to);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(ex.join(from), dest).unwrap();
    };
    git(&["init", "-q"]);
    copy("cluster/namespaces.yaml", "k8s/namespaces.yaml");
    copy("cluster/workloads.yaml", "k8s/workloads.yaml");
    git(&["add", "."]);
    git(&["commit", "-qm", "inventory"]);
    copy(
        "policies/pattern1-default-deny.yaml",
        "k8s/default-deny.yaml",
    );
    git(&["add", "."]);
    git(&["commit", "-qm", "default deny"]);
    let out = Command::cargo_bin("netfence")
        .unwrap()
        .current_dir(dir.path())
        .args(["diff", "--git", "HEAD~1..HEAD", "k8s", "--format", "json"])
        .output()
        .unwrap();
    assert_success(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!v["removed"].as_array().unwrap().is_empty());
    assert!(
        v["dns_lost"].as_array().unwrap().is_empty(),
        "the DNS rule came with the default deny"
    );
    // Against the working tree: nothing changed since HEAD.
    let out = Command::cargo_bin("netfence")
        .unwrap()
        .current_dir(dir.path())
        .args(["diff", "--git", "HEAD", "k8s", "--fail-on-change"])
        .output()
        .unwrap();
    assert_success(&out);
}

#[test]
fn report_html_of_the_example() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.html");
    let st = netfence()
        .args(["report", "examples/seed-production", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(st.status.code(), Some(0));
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    insta::assert_snapshot!(html);
}

#[test]
fn audit_before_and_after_the_seed_policies() {
    let (code, before, _) = run(&["audit", "examples/seed-production/cluster"]);
    assert_eq!(code, 0, "no --fail-on: findings do not fail");
    let (_, after, _) = run(&["audit", "examples/seed-production"]);
    let score = |s: &str| -> f64 {
        let line = s
            .lines()
            .find(|l| l.starts_with("zero-trust score: "))
            .unwrap();
        line["zero-trust score: ".len()..]
            .split('/')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!(
        score(&after) > score(&before),
        "the seed's policies raise the score"
    );
    assert!(
        before.contains("NP101") && before.contains("namespace production has no default deny")
    );
    assert!(!after.contains("namespace production has no default deny"));
    assert!(
        after.contains("NP003"),
        "the frontend rule's AND selector matches nothing"
    );
    insta::assert_snapshot!("audit_before", before);
    insta::assert_snapshot!("audit_after", after);
}

#[test]
fn audit_fail_on_and_formats() {
    let (code, _, _) = run(&["audit", "examples/seed-production", "--fail-on", "high"]);
    assert_eq!(code, 1);
    let (code, _, _) = run(&["audit", "examples/seed-production", "--fail-on", "critical"]);
    assert_eq!(code, 0);
    let (_, junit, _) = run(&["audit", "examples/seed-production", "--format", "junit"]);
    assert!(junit.contains("<testcase name=\"NP101 missing-default-deny\""));
    let (_, md, _) = run(&[
        "audit",
        "examples/seed-production",
        "--format",
        "md",
        "--select",
        "NP1",
        "--ignore",
        "NP103",
    ]);
    assert!(md.contains("| high | NP101 |") && !md.contains("NP103") && !md.contains("NP003"));
    let (code, _, err) = run(&["audit", "examples/seed-production", "--select", "ZZ9"]);
    assert_eq!(code, 2);
    assert!(err.contains("no rule code starts with `ZZ9`"));
}

#[test]
fn rule_docs() {
    let (code, out, _) = run(&["rule", "np101"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("# NP101 missing-default-deny") && out.contains("## Use instead"));
    let (_, list, _) = run(&["rule"]);
    assert!(list.lines().count() >= 10);
}

#[test]
fn generate_default_deny_with_dns_is_proved() {
    let (code, out, _) = run(&[
        "generate",
        "default-deny",
        "examples/seed-production/cluster",
        "--all-namespaces",
        "--with-dns",
    ]);
    assert_eq!(code, 0);
    insta::assert_snapshot!(out);
    // Applying the output: rules NP001, NP002 and NP101 pass, and DNS still works.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("generated.yaml"), &out).unwrap();
    let audit = netfence()
        .args(["audit", "examples/seed-production/cluster"])
        .arg(dir.path())
        .args(["--select", "NP001,NP002,NP101", "--fail-on", "info"])
        .output()
        .unwrap();
    assert_eq!(
        audit.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&audit.stdout)
    );
    let q = netfence()
        .args(["query", "examples/seed-production/cluster"])
        .arg(dir.path())
        .args([
            "--from",
            "production/web",
            "--to",
            "kube-system/coredns",
            "--port",
            "53",
            "--protocol",
            "UDP",
        ])
        .output()
        .unwrap();
    assert_eq!(q.status.code(), Some(0), "DNS keeps working");
}

#[test]
fn generate_refuses_what_would_break_dns() {
    let (code, out, err) = run(&[
        "generate",
        "default-deny",
        "examples/seed-production/cluster",
        "--namespace",
        "production",
    ]);
    assert_eq!(code, 2);
    assert!(out.is_empty(), "nothing is emitted");
    assert!(err.contains("NP001") && err.contains("--with-dns"), "{err}");
}

#[test]
fn generate_dns_into_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    let st = netfence()
        .args([
            "generate",
            "dns",
            "examples/seed-production",
            "-n",
            "production",
            "-n",
            "staging",
            "--out-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_success(&st);
    let text = std::fs::read_to_string(dir.path().join("staging-netpol.yaml")).unwrap();
    assert!(text.contains("name: allow-dns-egress") && text.contains("namespace: staging"));
}

#[test]
fn query_names_the_likely_cause() {
    let (code, out, _) = run(&[
        "query",
        "examples/seed-production/cluster",
        "examples/scenarios/default-deny-without-dns/after",
        "--from",
        "production/web",
        "--to",
        "kube-system/coredns",
        "--port",
        "53",
        "--protocol",
        "UDP",
    ]);
    assert_eq!(code, 1);
    assert!(out.contains("likely cause: DNS is blocked"), "{out}");
    assert!(
        out.contains("netfence generate dns --namespace production"),
        "{out}"
    );
    let (code, out, _) = run(&[
        "query",
        "examples/seed-production",
        "--from",
        "ingress-nginx/ingress-nginx-controller",
        "--to",
        "production/web",
        "--port",
        "8080",
        "--format",
        "json",
    ]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let causes = v["likely_causes"].as_array().unwrap();
    assert!(
        causes
            .iter()
            .any(|c| c["fix"] == "kubectl label namespace ingress-nginx env=production"),
        "{causes:?}"
    );
}

#[test]
fn streamed_txt_lists_what_the_held_report_lists() {
    // txt is written source by source; md goes through the report held in memory
    for (dir, cni) in [
        ("examples/seed-production", "generic"),
        ("examples/seed-cilium", "cilium"),
        ("examples/seed-calico-istio", "calico"),
    ] {
        let path = example().join("../..").join(dir);
        let path = path.to_str().unwrap();
        for focus in [&[][..], &["--focus-conn", "tcp-8080"][..]] {
            let mut txt_args = vec!["connectivity", path, "--cni", cni];
            txt_args.extend_from_slice(focus);
            let mut md_args = txt_args.clone();
            md_args.extend_from_slice(&["-o", "md"]);
            let (code, txt, _) = run(&txt_args);
            let (code_md, md, _) = run(&md_args);
            assert_eq!((code, code_md), (0, 0));
            let from_md: Vec<String> = md
                .lines()
                .skip_while(|l| !l.starts_with("|-"))
                .skip(1)
                .take_while(|l| l.starts_with('|'))
                .map(|row| {
                    let cells: Vec<&str> =
                        row.trim_matches('|').split(" | ").map(str::trim).collect();
                    match cells.as_slice() {
                        [s, d] => format!("{s} => {d}"),
                        [s, d, c] => format!("{s} => {d} : {c}"),
                        other => other.join(" "),
                    }
                })
                .collect();
            let from_txt: Vec<String> = txt
                .lines()
                .filter(|l| l.contains(" => "))
                .map(|l| l.split(" (").next().unwrap().to_string())
                .collect();
            assert!(!from_txt.is_empty(), "{dir}: no lines");
            assert_eq!(from_txt, from_md, "{dir} {focus:?}");
        }
    }
}
