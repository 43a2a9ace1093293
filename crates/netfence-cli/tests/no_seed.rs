//! No message, help text or rule doc speaks of "the seed" (a document users never saw): every
//! command runs on the examples, every help page and rule doc is printed, and none says it.
//! (The example directories are named after the article they reproduce; paths are not
//! messages, so they are left out of the search.)
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a failed test"
)]

use std::path::PathBuf;

use assert_cmd::Command;

fn output(args: &[&str]) -> String {
    let out = Command::cargo_bin("netfence")
        .unwrap()
        .current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    text.replace("seed-production", "EXAMPLE")
        .replace("seed-cilium", "EXAMPLE")
        .replace("seed-calico-istio", "EXAMPLE")
}

#[test]
fn no_output_help_or_rule_doc_says_seed() {
    let ex = "examples/seed-production";
    let mut runs: Vec<Vec<String>> = [
        vec!["audit", ex],
        vec!["audit", "examples/seed-production/cluster"],
        vec!["audit", "examples/seed-cilium", "--cni", "cilium"],
        vec!["audit", "examples/seed-calico-istio", "--cni", "calico"],
        vec!["connectivity", ex, "--exposure"],
        vec![
            "query",
            ex,
            "--from",
            "production/api",
            "--to",
            "production/redis",
            "--port",
            "6379",
        ],
        vec![
            "query",
            ex,
            "--from",
            "production/web",
            "--to",
            "production/api",
            "--port",
            "8080",
            "--cni",
            "flannel",
        ],
        vec!["blast-radius", ex, "--from", "production/web"],
        vec!["blast-radius", ex],
        vec!["diff", "examples/seed-production/cluster", ex],
        vec!["cni", ex],
        vec![
            "generate",
            "default-deny",
            ex,
            "--all-namespaces",
            "--with-dns",
        ],
        vec!["generate", "default-deny", ex, "--all-namespaces"],
        vec!["rule"],
        vec!["rule", "score"],
        vec!["--help"],
    ]
    .iter()
    .map(|v| v.iter().map(|s| s.to_string()).collect())
    .collect();
    for cmd in [
        "connectivity",
        "query",
        "diff",
        "blast-radius",
        "test",
        "report",
        "audit",
        "cni",
        "rule",
    ] {
        runs.push(vec![cmd.into(), "--help".into()]);
    }
    for sub in ["default-deny", "dns", "from-flows"] {
        runs.push(vec!["generate".into(), sub.into(), "--help".into()]);
    }
    for sub in ["explain", "replay"] {
        runs.push(vec!["flows".into(), sub.into(), "--help".into()]);
    }
    let codes = output(&["rule"]);
    for line in codes.lines() {
        if let Some(code) = line.split_whitespace().next() {
            runs.push(vec!["rule".into(), code.into()]);
        }
    }
    assert!(runs.len() > 40, "every rule is read");
    for args in runs {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let text = output(&args);
        assert!(!text.is_empty(), "{args:?} printed nothing");
        assert!(
            !text.to_lowercase().contains("seed"),
            "{args:?} says `seed`:\n{}",
            text.lines()
                .filter(|l| l.to_lowercase().contains("seed"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}
