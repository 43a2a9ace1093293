//! The data path from the command line and the input: `--cni NAME@RELEASE`, `--cni-setting`,
//! agent image tags and `cilium-config`; and addresses resolved as the data path resolves them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failed test"
)]

mod common;
use common::run;

const DIR: &str = "crates/netfence-cli/tests/data_path";

#[test]
fn cni_resolves_the_release_and_settings_from_the_input() {
    let agent = format!("{DIR}/cilium-agent.yaml");
    let (code, out, err) = run(&["cni", &agent, "-o", "json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let dp = &v["data_path"];
    assert_eq!(dp["data_path"], "cilium@1.20", "{dp}");
    assert_eq!(dp["cluster_network_policy"], true, "{dp}");
    let facts = dp["facts"].as_array().unwrap();
    assert!(facts.iter().any(|f| f["name"] == "cilium release"
        && f["source"]
            .as_str()
            .unwrap()
            .contains("quay.io/cilium/cilium:v1.20.1")));
    // the command line wins over the input
    let (_, out, _) = run(&[
        "cni",
        &agent,
        "--cni",
        "cilium@1.19",
        "--cni-setting",
        "enable-k8s-cluster-network-policy=false",
    ]);
    assert!(out.contains("data path: cilium@1.19"), "{out}");
    assert!(
        out.contains("enforces ClusterNetworkPolicy: no (Cilium enforces it from 1.20"),
        "{out}"
    );
}

#[test]
fn an_unknown_release_is_the_newest_and_said_once() {
    let (code, _, err) = run(&[
        "connectivity",
        "examples/seed-production",
        "--cni",
        "calico",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        err.matches("judged as calico 3.32, the newest release netfence models")
            .count(),
        1,
        "{err}"
    );
}

#[test]
fn bad_data_path_flags_are_errors() {
    let (code, _, err) = run(&["cni", "--cni", "cilium@one"]);
    assert_eq!(code, 2);
    assert!(err.contains("MAJOR.MINOR"), "{err}");
    let (code, _, err) = run(&["cni", "--cni", "weave@2.8"]);
    assert_eq!(code, 2);
    assert!(err.contains("models no release of weave"), "{err}");
    let (code, _, err) = run(&[
        "cni",
        "--cni",
        "cilium",
        "--cni-setting",
        "enable-magic=true",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown data-path setting"), "{err}");
}

#[test]
fn an_address_is_the_pod_that_has_it() {
    let f = format!("{DIR}/addresses.yaml");
    let by_name = run(&[
        "query", &f, "--from", "a/client", "--to", "a/web", "--port", "80",
    ]);
    let (code, out, err) = run(&[
        "query",
        &f,
        "--from",
        "a/client",
        "--to",
        "10.244.1.5",
        "--port",
        "80",
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(out, by_name.1, "the address answers as the pod's name does");
    assert!(
        err.contains("10.244.1.5 is the address of a/web[Pod]"),
        "{err}"
    );
    // a source address too
    let (code, out, _) = run(&[
        "query",
        &f,
        "--from",
        "10.244.1.9",
        "--to",
        "a/web",
        "--port",
        "80",
    ]);
    assert_eq!(code, 1);
    assert!(out.starts_with("a/client[Pod] => a/web[Pod]"), "{out}");
}

#[test]
fn a_cluster_ip_is_the_services_backends_after_dnat() {
    let f = format!("{DIR}/addresses.yaml");
    let (code, out, err) = run(&[
        "query",
        &f,
        "--from",
        "a/client",
        "--to",
        "10.96.3.4",
        "--port",
        "80",
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.starts_with("a/client[Pod] => a/web[Pod] : TCP 8080 is DENIED"),
        "{out}"
    );
    assert!(err.contains("ClusterIP of Service a/web"), "{err}");
    assert!(err.contains("port 80 of the Service is port 8080"), "{err}");
    let (code, _, err) = run(&[
        "query",
        &f,
        "--from",
        "a/client",
        "--to",
        "10.96.3.4",
        "--port",
        "81",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("has no port TCP 81"), "{err}");
    // an address nothing in the input has stays external
    let (code, out, _) = run(&[
        "query", &f, "--from", "a/client", "--to", "1.2.3.4", "--port", "80",
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("[External]"), "{out}");
}
