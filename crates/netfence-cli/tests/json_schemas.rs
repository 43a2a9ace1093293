//! Every command's `-o json` output on the examples validates against its published schema
//! (`docs/schema/*.schema.json`, generated from the output types), so scripts piping it to
//! `jq` can rely on it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failed test"
)]
#![allow(
    clippy::disallowed_methods,
    reason = "the test reads the published schemas"
)]

use std::path::PathBuf;

use assert_cmd::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `netfence ARGS` in the repository and returns its standard output as JSON.
fn run(args: &[&str]) -> serde_json::Value {
    let out = Command::cargo_bin("netfence")
        .unwrap()
        .current_dir(root())
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "{args:?}: not JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn check(schema: &str, args: &[&str]) {
    let path = root().join(format!("docs/schema/{schema}.schema.json"));
    let schema_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema_json).unwrap();
    let value = run(args);
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{args:?} against {schema}: {errors:#?}");
}

#[test]
fn every_json_output_validates_against_its_schema() {
    let ex = "examples/seed-production";
    check("audit", &["audit", ex, "-o", "json"]);
    check("connectivity", &["connectivity", ex, "-o", "json"]);
    check(
        "connectivity",
        &["connectivity", ex, "-o", "json", "--exposure"],
    );
    check(
        "diff",
        &["diff", "examples/seed-production/cluster", ex, "-o", "json"],
    );
    check(
        "query",
        &[
            "query",
            ex,
            "--from",
            "production/web",
            "--to",
            "production/api",
            "--port",
            "8080",
            "-o",
            "json",
        ],
    );
    check(
        "query",
        &[
            "query",
            ex,
            "--from",
            "production/api",
            "--to",
            "production/redis",
            "--port",
            "6379",
            "-o",
            "json",
        ],
    );
    check(
        "query",
        &[
            "query",
            "examples/seed-cilium",
            "--cni",
            "cilium",
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
            "-o",
            "json",
        ],
    );
    check(
        "blast-radius",
        &[
            "blast-radius",
            ex,
            "--from",
            "production/web",
            "--target",
            "tier=database",
            "-o",
            "json",
        ],
    );
    check("blast-radius-cluster", &["blast-radius", ex, "-o", "json"]);
    check("cni", &["cni", "-o", "json"]);
    check(
        "test",
        &[
            "test",
            ex,
            "--spec",
            "examples/tests/seed-production.yaml",
            "-o",
            "json",
        ],
    );
    check(
        "cni",
        &[
            "cni",
            "examples/seed-cilium",
            "--cni",
            "cilium",
            "-o",
            "json",
        ],
    );
    let fx = "tests/fixtures/hubble";
    check(
        "flows-explain",
        &[
            "flows",
            "explain",
            &format!("{fx}/enforced-drops.jsonl"),
            "examples/hubble-shop/cluster",
            "examples/hubble-shop/policies",
            "-o",
            "json",
        ],
    );
    check(
        "flows-replay",
        &[
            "flows",
            "replay",
            &format!("{fx}/audit-mode.jsonl"),
            "examples/hubble-shop/cluster",
            "examples/hubble-shop/proposed",
            "-o",
            "json",
        ],
    );
    check(
        "generate-from-flows",
        &[
            "generate",
            "from-flows",
            &format!("{fx}/l7.jsonl"),
            "--l7",
            "--fqdn",
            "-o",
            "json",
        ],
    );
}

#[test]
fn a_field_the_schema_does_not_know_fails_validation() {
    // the schemas are strict: an output that grows a field must publish it
    let path = root().join("docs/schema/query.schema.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let mut v = run(&[
        "query",
        "examples/seed-production",
        "--from",
        "production/web",
        "--to",
        "production/api",
        "--port",
        "8080",
        "-o",
        "json",
    ]);
    assert!(validator.is_valid(&v));
    v["surprise"] = serde_json::json!(1);
    assert!(!validator.is_valid(&v));
}
