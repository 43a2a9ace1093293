//! The malformed-input suite (`tests/malformed/cases.yaml`): every case runs the binary on its
//! files and checks the exit code and the messages, with their file:line. All failures are
//! reported together.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    reason = "test code: a panic is a failed test, and files and the environment are its input"
)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Suite {
    inventory: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    family: String,
    #[serde(default)]
    files: BTreeMap<String, String>,
    #[serde(default)]
    args: Option<Vec<String>>,
    exit: i32,
    #[serde(default)]
    stderr: Vec<String>,
    #[serde(default)]
    stdout: Vec<String>,
    #[serde(default)]
    encoding: BTreeMap<String, String>,
    #[serde(default)]
    append: Vec<Append>,
    #[serde(default)]
    links: BTreeMap<String, String>,
    #[serde(default)]
    fifos: Vec<String>,
    #[serde(default)]
    stdin: Option<String>,
    #[serde(default)]
    stdout_to: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Append {
    file: String,
    count: usize,
    template: String,
}

/// `{P}` and `{REPEAT:c:n}` expanded.
fn expand(text: &str, inventory: &str) -> String {
    let mut s = text.replace("{P}", inventory);
    while let Some(start) = s.find("{REPEAT:") {
        let rest = &s[start + 8..];
        let end = rest.find('}').expect("closing brace of REPEAT");
        let (c, n) = rest[..end].rsplit_once(':').expect("REPEAT:c:n");
        let n: usize = n.parse().expect("REPEAT count");
        s = format!("{}{}{}", &s[..start], c.repeat(n), &rest[end + 1..]);
    }
    s
}

fn encode(text: &str, how: &str) -> Vec<u8> {
    match how {
        "bom" => [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat(),
        "crlf" => text.replace('\n', "\r\n").into_bytes(),
        "utf16le" => [0xFF, 0xFE]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
            .collect(),
        "utf16be" => [0xFE, 0xFF]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_be_bytes))
            .collect(),
        "utf16le-odd" => [[0xFF, 0xFE].as_slice(), text.as_bytes()].concat(),
        "append-ff" => [text.as_bytes(), b"\xFF\n"].concat(),
        "latin1" => text.chars().map(|c| c as u32 as u8).collect(),
        other => panic!("unknown encoding {other}"),
    }
}

fn run_case(case: &Case, inventory: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let root = dir.path();
    for (name, text) in &case.files {
        let mut text = expand(text, inventory);
        for a in case.append.iter().filter(|a| &a.file == name) {
            for i in 0..a.count {
                text.push_str(&a.template.replace("{i}", &i.to_string()));
            }
        }
        let bytes = match case.encoding.get(name) {
            Some(how) => encode(&text, how),
            None => text.into_bytes(),
        };
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
    }
    for (link, target) in &case.links {
        let path = root.join(link);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target, &path).unwrap();
    }
    for fifo in &case.fifos {
        let status = Command::new("mkfifo")
            .arg(root.join(fifo))
            .status()
            .unwrap();
        assert!(status.success(), "mkfifo");
    }
    let default_args = vec!["connectivity".to_string(), ".".to_string()];
    let args = case.args.as_ref().unwrap_or(&default_args);
    // NETFENCE_BIN runs the suite against another build (to see what an older one did)
    let bin = std::env::var("NETFENCE_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_netfence").to_string());
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .current_dir(root)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped());
    match case.stdout_to.as_deref() {
        Some("/dev/full") => {
            cmd.stdout(
                std::fs::OpenOptions::new()
                    .write(true)
                    .open("/dev/full")
                    .unwrap(),
            );
        }
        _ => {
            cmd.stdout(Stdio::piped());
        }
    }
    let mut child = cmd.spawn().map_err(|e| e.to_string())?;
    {
        let mut stdin = child.stdin.take().unwrap();
        if let Some(text) = &case.stdin {
            let _ = stdin.write_all(expand(text, inventory).as_bytes());
        }
    }
    if case.stdout_to.as_deref() == Some("closed") {
        // read one byte, then close the pipe, as `| head -c1` does
        use std::io::Read;
        let mut out = child.stdout.take().unwrap();
        let mut byte = [0u8; 1];
        let _ = out.read(&mut byte);
        drop(out);
    }
    // Drain both pipes while waiting, and stop a case that runs away (an older build on a
    // symlink loop or a FIFO): 60 s is far beyond what any case needs.
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = std::io::Read::read_to_end(&mut p, &mut buf);
            }
            buf
        })
    };
    let out_reader = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
    );
    let err_reader = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(st) = child.try_wait().map_err(|e| e.to_string())? {
            break Some(st);
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let stdout_bytes = out_reader.join().unwrap_or_default();
    let stderr_bytes = err_reader.join().unwrap_or_default();
    let code = match status {
        Some(st) => st.code().unwrap_or(-1),
        None => {
            return Err(format!(
                "{} [{}]: still running after 60 s",
                case.name, case.family
            ))
        }
    };
    let stdout = String::from_utf8_lossy(&stdout_bytes);
    let stderr = String::from_utf8_lossy(&stderr_bytes);
    let mut wrong = Vec::new();
    if code != case.exit {
        wrong.push(format!("exit {code}, expected {}", case.exit));
    }
    if stderr.contains("panicked") || code == 101 {
        wrong.push("panicked".into());
    }
    for want in &case.stderr {
        if !stderr.contains(want.as_str()) {
            wrong.push(format!("stderr lacks {want:?}"));
        }
    }
    for want in &case.stdout {
        if !stdout.contains(want.as_str()) {
            wrong.push(format!("stdout lacks {want:?}"));
        }
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        let cut = |s: &str| s.chars().take(1500).collect::<String>();
        Err(format!(
            "{} [{}]: {}\n  stderr: {}\n  stdout: {}",
            case.name,
            case.family,
            wrong.join("; "),
            cut(&stderr).replace('\n', "\n          "),
            cut(&stdout).replace('\n', "\n          ")
        ))
    }
}

#[test]
fn malformed_input_suite() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/malformed/cases.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let suite: Suite = serde_saphyr::from_str(&text).unwrap();
    assert!(suite.cases.len() >= 200, "{} cases", suite.cases.len());
    let mut names = std::collections::HashSet::new();
    for c in &suite.cases {
        assert!(names.insert(c.name.as_str()), "case {} twice", c.name);
        assert!(
            c.exit == 0 && c.stdout_to.is_some()
                || !c.stderr.is_empty()
                || !c.stdout.is_empty()
                || c.exit != 2,
            "case {} asserts nothing but its exit code",
            c.name
        );
    }
    let failures: Vec<String> = std::thread::scope(|s| {
        let chunks: Vec<&[Case]> = suite.cases.chunks(suite.cases.len().div_ceil(4)).collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                let inv = suite.inventory.as_str();
                s.spawn(move || {
                    chunk
                        .iter()
                        .filter_map(|c| run_case(c, inv).err())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        suite.cases.len(),
        failures.join("\n")
    );
}
