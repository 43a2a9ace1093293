//! The HTML report, end to end in headless Chromium: the file loads with no network, the
//! script draws every workload and connection, no console message is printed, and a
//! screenshot is saved in the test output. Chromium is Debian's `chromium` package; `.ci/run`
//! installs it, so under CI its absence is a failure, elsewhere the test is skipped.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failed test"
)]
#![allow(
    clippy::disallowed_methods,
    reason = "the test reads the report and runs chromium"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|b| {
            let out = Command::new("which").arg(b).output().ok()?;
            out.status
                .success()
                .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
        })
}

fn headless(bin: &Path, profile: &Path) -> Command {
    let mut c = Command::new(bin);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=5000",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

#[test]
fn report_renders_in_headless_chromium() {
    let Some(bin) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium is missing under CI: .ci/run installs Debian's chromium package"
        );
        eprintln!("skipped: no chromium on PATH");
        return;
    };
    let out_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report");
    std::fs::create_dir_all(&out_dir).unwrap();
    let html = out_dir.join("report.html");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let st = assert_cmd::Command::cargo_bin("netfence")
        .unwrap()
        .current_dir(&root)
        .args(["report", "examples/seed-production", "--out"])
        .arg(&html)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let text = std::fs::read_to_string(&html).unwrap();
    assert!(
        !text.contains("src=\"http") && !text.contains("href=\"http"),
        "nothing is fetched at view time"
    );

    let profile = tempfile::tempdir().unwrap();
    let dom = headless(&bin, profile.path())
        .arg("--dump-dom")
        .arg(format!("file://{}", html.display()))
        .output()
        .unwrap();
    assert!(
        dom.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let dom_text = String::from_utf8_lossy(&dom.stdout);
    // With --enable-logging, page console messages and uncaught errors appear as CONSOLE lines.
    let stderr = String::from_utf8_lossy(&dom.stderr);
    let console: Vec<&str> = stderr.lines().filter(|l| l.contains("CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:?}");
    assert!(
        dom_text.contains("data-rendered=\"true\""),
        "the script ran"
    );
    // The example: 8 workloads, 22 allowed workload pairs.
    assert!(dom_text.contains("data-nodes=\"8\""), "node count");
    assert!(dom_text.contains("data-edges=\"22\""), "edge count");
    assert_eq!(dom_text.matches("class=\"node\"").count(), 8);
    assert_eq!(dom_text.matches("class=\"edge\"").count(), 22);
    assert_eq!(
        dom_text.matches("class=\"ns\"").count(),
        5,
        "one group per namespace"
    );
    assert!(
        dom_text.matches("class=\"finding\"").count() >= 5,
        "the audit's findings are listed"
    );
    for section in [
        "id=\"summary\"",
        "id=\"findings\"",
        "id=\"matrix\"",
        "id=\"blast\"",
    ] {
        assert!(dom_text.contains(section), "{section}");
    }

    let shot = out_dir.join("report.png");
    let _ = std::fs::remove_file(&shot);
    let s = headless(&bin, profile.path())
        .args(["--window-size=1400,1000"])
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .unwrap();
    assert!(s.status.success(), "{}", String::from_utf8_lossy(&s.stderr));
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.len() > 10_000 && png.starts_with(b"\x89PNG"),
        "a screenshot was saved at {}",
        shot.display()
    );
    eprintln!("screenshot: {}", shot.display());
}
