//! `kubectl netfence`: the binary works as a kubectl plugin under the name `kubectl-netfence`
//! (kubectl v1.32 finds it on PATH; no cluster is needed for its plugin lookup).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a failed test"
)]
#![allow(clippy::disallowed_methods, reason = "the test links the binary")]

use std::path::PathBuf;

#[test]
fn kubectl_finds_and_runs_netfence_as_a_plugin() {
    if std::process::Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_err()
    {
        panic!("kubectl is needed for this test (preinstalled on these machines; apt-get install kubectl)");
    }
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_netfence"));
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(&bin, dir.path().join("kubectl-netfence")).unwrap();
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = std::process::Command::new("kubectl")
        .args([
            "netfence",
            "audit",
            "examples/seed-production",
            "--select",
            "NP106",
        ])
        .current_dir(&root)
        .env("PATH", &path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("NP106"), "{stdout}");
    let list = std::process::Command::new("kubectl")
        .args(["plugin", "list"])
        .env("PATH", &path)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&list.stdout).contains("kubectl-netfence"));
}

/// Shell completions and the man page are generated from the command-line definitions, so they
/// know every command and flag.
#[test]
fn completions_and_man_page_know_every_command() {
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_netfence"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8(out.stdout).unwrap()
    };
    for shell in ["bash", "zsh", "fish"] {
        let text = run(&["completions", shell]);
        for word in [
            "snapshot",
            "cluster",
            "kubeconfig",
            "blast-radius",
            "policy-map-max",
        ] {
            assert!(text.contains(word), "{shell} completions lack {word}");
        }
    }
    let man = run(&["man"]);
    assert!(man.contains(".TH netfence 1"));
    assert!(man.contains("snapshot") && man.contains("audit"));
}
