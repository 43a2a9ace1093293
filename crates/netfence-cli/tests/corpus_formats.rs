//! netpol-analyzer's expected json, csv and md outputs, against netfence's. The corpus lives in
//! `../shared/conformance` (data, not in the repository): without it this test does nothing.
//! Cases listed in KNOWN_GAPS.md are skipped; every other case must match.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failed test"
)]
#![allow(clippy::disallowed_methods, reason = "the test reads the corpus files")]

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn known_gaps() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("KNOWN_GAPS.md")).unwrap();
    text.lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_string)
        .collect()
}

fn args_for(case: &Path) -> Vec<String> {
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(case.join("case.json")).unwrap()).unwrap();
    let o = &meta["options"];
    let mut a = Vec::new();
    if o["exposureAnalysis"].as_bool() == Some(true) {
        a.push("--exposure".to_string());
    }
    for (key, flag) in [
        ("focusWorkloads", "--focus-workload"),
        ("focusWorkloadPeers", "--focus-workload-peer"),
    ] {
        for w in o[key].as_array().into_iter().flatten() {
            a.push(flag.to_string());
            a.push(w.as_str().unwrap().to_string());
        }
    }
    for (key, flag) in [
        ("focusDirection", "--focus-direction"),
        ("focusConn", "--focus-conn"),
    ] {
        if let Some(v) = o[key].as_str() {
            a.push(flag.to_string());
            a.push(v.to_string());
        }
    }
    a
}

fn lines(s: &str) -> Vec<String> {
    s.lines()
        .map(|l| l.trim_end().to_string())
        .filter(|l| !l.trim().is_empty())
        .collect()
}

#[test]
fn json_csv_md_match_netpol_analyzer() {
    let corpus = root().join("../shared/conformance/netpol-analyzer");
    if !corpus.is_dir() {
        eprintln!("skipped: no corpus at {}", corpus.display());
        return;
    }
    let gaps = known_gaps();
    assert!(
        !gaps.is_empty(),
        "KNOWN_GAPS.md lists the deliberate differences"
    );
    let mut checked = 0;
    let mut failures = Vec::new();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("case.json").exists())
        .collect();
    cases.sort();
    for case in cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        if gaps.contains(&name) {
            continue;
        }
        for fmt in ["json", "csv", "md"] {
            let expected = case.join(format!("expected.{fmt}"));
            let Ok(want) = std::fs::read_to_string(&expected) else {
                continue;
            };
            let out = Command::cargo_bin("netfence")
                .unwrap()
                .arg("connectivity")
                .arg(case.join("resources"))
                .args(["--format", fmt])
                .args(args_for(&case))
                .output()
                .unwrap();
            let got = String::from_utf8(out.stdout).unwrap();
            let same = if fmt == "json" {
                serde_json::from_str::<serde_json::Value>(&got).ok()
                    == serde_json::from_str::<serde_json::Value>(&want).ok()
            } else {
                lines(&got) == lines(&want)
            };
            checked += 1;
            if !same {
                failures.push(format!("{name} ({fmt})"));
            }
        }
    }
    assert!(checked > 300, "only {checked} outputs checked");
    assert!(
        failures.is_empty(),
        "{} differ: {}",
        failures.len(),
        failures.join(", ")
    );
}
