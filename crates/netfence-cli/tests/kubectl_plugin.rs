//! `kubectl netfence`: the binary works as a kubectl plugin under the name `kubectl-netfence`
//! (kubectl v1.32 finds it on PATH; no cluster is needed for its plugin lookup).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a failed test"
)]
#![allow(clippy::disallowed_methods, reason = "the test links the binary")]

use std::path::PathBuf;

mod common;
use common::assert_success;

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
    assert_success(&out);
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

/// `deploy/krew/netfence.yaml` (a krew-release-bot template) rendered for a release: the
/// archive `deploy/krew/package.sh` makes of this binary is installed the way krew installs it
/// (checksum, the `files` copied, `bin` linked as `kubectl-netfence`) and runs as a plugin.
#[test]
fn the_krew_manifest_installs_the_packaged_binary() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = tempfile::tempdir().unwrap();
    let archives = dir.path().join("dist");
    let package = std::process::Command::new(root.join("deploy/krew/package.sh"))
        .args([env!("CARGO_BIN_EXE_netfence"), "linux", "amd64"])
        .arg(&archives)
        .output()
        .unwrap();
    assert!(
        package.status.success(),
        "{}",
        String::from_utf8_lossy(&package.stderr)
    );
    let sha = String::from_utf8(package.stdout)
        .unwrap()
        .trim()
        .to_string();
    assert_eq!(sha.len(), 64);

    // what krew-release-bot renders for tag v<version>
    let tag = format!("v{}", env!("CARGO_PKG_VERSION"));
    let template = std::fs::read_to_string(root.join("deploy/krew/netfence.yaml")).unwrap();
    let mut rendered = String::new();
    for line in template.lines() {
        match add_uri_and_sha(line) {
            Some((indent, url)) => {
                let url = url.replace("{{ .TagName }}", &tag);
                let sha = if url.ends_with("netfence_linux_amd64.tar.gz") {
                    sha.clone()
                } else {
                    "a".repeat(64)
                };
                rendered.push_str(&format!("{indent}uri: {url}\n{indent}sha256: {sha}\n"));
            }
            None => {
                rendered.push_str(&line.replace("{{ .TagName }}", &tag));
                rendered.push('\n');
            }
        }
    }
    let plugin: serde_json::Value = serde_saphyr::from_str(&rendered).unwrap();
    assert_eq!(
        plugin["apiVersion"],
        "krew.googlecontainertools.github.com/v1alpha2"
    );
    assert_eq!(plugin["kind"], "Plugin");
    assert_eq!(plugin["metadata"]["name"], "netfence");
    assert_eq!(plugin["spec"]["version"], tag.as_str());
    assert!(plugin["spec"]["shortDescription"].as_str().unwrap().len() <= 70);
    let platforms = plugin["spec"]["platforms"].as_array().unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for p in platforms {
        let labels = &p["selector"]["matchLabels"];
        let (os, arch) = (
            labels["os"].as_str().unwrap(),
            labels["arch"].as_str().unwrap(),
        );
        assert!(seen.insert((os, arch)), "one entry per platform");
        let uri = p["uri"].as_str().unwrap();
        assert!(
            uri.ends_with(&format!("/{tag}/netfence_{os}_{arch}.tar.gz")),
            "{uri}"
        );
        assert_eq!(p["sha256"].as_str().unwrap().len(), 64);
        assert_eq!(p["bin"], "netfence");
    }
    assert!(seen.contains(&("linux", "amd64")) && seen.contains(&("darwin", "arm64")));

    // install linux/amd64 as krew does: check the sum, copy `files`, link `bin`
    let linux = platforms
        .iter()
        .find(|p| {
            p["selector"]["matchLabels"]["os"] == "linux"
                && p["selector"]["matchLabels"]["arch"] == "amd64"
        })
        .unwrap();
    let archive = archives.join("netfence_linux_amd64.tar.gz");
    let sum = std::process::Command::new("sha256sum")
        .arg(&archive)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&sum.stdout).starts_with(linux["sha256"].as_str().unwrap()));
    let unpacked = dir.path().join("unpacked");
    let install = dir.path().join("store");
    std::fs::create_dir_all(&unpacked).unwrap();
    std::fs::create_dir_all(&install).unwrap();
    let tar = std::process::Command::new("tar")
        .arg("-xzf")
        .arg(&archive)
        .arg("-C")
        .arg(&unpacked)
        .status()
        .unwrap();
    assert!(tar.success());
    for f in linux["files"].as_array().unwrap() {
        let from = f["from"].as_str().unwrap();
        assert_eq!(f["to"], ".");
        std::fs::copy(unpacked.join(from), install.join(from))
            .unwrap_or_else(|e| panic!("the archive lacks `{from}`: {e}"));
    }
    let bin_dir = dir.path().join("bin");
    std::fs::create_dir_all(&bin_dir).unwrap();
    std::os::unix::fs::symlink(
        install.join(linux["bin"].as_str().unwrap()),
        bin_dir.join("kubectl-netfence"),
    )
    .unwrap();
    let out = std::process::Command::new("kubectl")
        .args(["netfence", "--version"])
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin_dir.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .output()
        .unwrap();
    assert_success(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains(env!("CARGO_PKG_VERSION")));
}

/// krew-release-bot's `{{addURIAndSha "URL" .TagName }}` line: its indent and URL.
fn add_uri_and_sha(line: &str) -> Option<(String, String)> {
    let trimmed = line.trim_start();
    let indent = line.get(..line.len() - trimmed.len())?.to_string();
    let rest = trimmed.strip_prefix("{{addURIAndSha \"")?;
    let (url, tail) = rest.split_once("\" ")?;
    (tail.trim() == ".TagName }}").then(|| (indent, url.to_string()))
}
