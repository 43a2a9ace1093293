//! Reading inputs: files, directories (recursive), standard input.

use std::io::Read;
use std::path::Path;

use anyhow::{bail, Context, Result};
use netfence_load::{Loaded, Source};

use crate::cli::Inputs;

fn is_manifest(p: &Path) -> bool {
    matches!(
        p.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "json")
    )
}

fn walk(dir: &Path, out: &mut Vec<Source>) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read directory `{}`", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out)?;
        } else if is_manifest(&p) {
            out.push(read_file(&p)?);
        }
    }
    Ok(())
}

fn read_file(p: &Path) -> Result<Source> {
    let text =
        std::fs::read_to_string(p).with_context(|| format!("cannot read `{}`", p.display()))?;
    Ok(Source {
        name: p.display().to_string(),
        text,
    })
}

/// Reads every input into sources.
pub fn sources(inputs: &Inputs) -> Result<Vec<Source>> {
    let mut out = Vec::new();
    for p in &inputs.paths {
        if p.as_os_str() == "-" {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("cannot read standard input")?;
            out.push(Source {
                name: "<stdin>".into(),
                text,
            });
        } else if p.is_dir() {
            walk(p, &mut out)?;
        } else if p.exists() {
            out.push(read_file(p)?);
        } else {
            bail!("`{}` does not exist", p.display());
        }
    }
    Ok(out)
}

/// Reads and loads the inputs; any load error is fatal (exit 2) after all are printed.
pub fn load(inputs: &Inputs) -> Result<Loaded> {
    load_sources(&sources(inputs)?, inputs.verbose)
}

/// Manifest files of `paths` at git revision `rev` of the repository around the current
/// directory, read with `git show` (paths are relative to the current directory).
pub fn git_sources(rev: &str, paths: &[std::path::PathBuf]) -> Result<Vec<Source>> {
    let mut ls = std::process::Command::new("git");
    ls.args(["ls-tree", "-r", "--name-only", rev, "--"]);
    if paths.is_empty() {
        ls.arg(".");
    } else {
        ls.args(paths);
    }
    let out = ls.output().context("cannot run git")?;
    if !out.status.success() {
        bail!(
            "git ls-tree {rev} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let mut files: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|f| is_manifest(Path::new(f)))
        .map(str::to_string)
        .collect();
    files.sort();
    let mut sources = Vec::new();
    for f in files {
        let show = std::process::Command::new("git")
            .arg("show")
            .arg(format!("{rev}:./{f}"))
            .output()
            .context("cannot run git show")?;
        if !show.status.success() {
            bail!(
                "git show {rev}:{f} failed: {}",
                String::from_utf8_lossy(&show.stderr).trim()
            );
        }
        sources.push(Source {
            name: format!("{rev}:{f}"),
            text: String::from_utf8_lossy(&show.stdout).into_owned(),
        });
    }
    Ok(sources)
}

/// Loads sources; any load error is fatal (exit 2) after all are printed.
pub fn load_sources(sources: &[Source], verbose: bool) -> Result<Loaded> {
    let loaded = netfence_load::load(sources);
    if verbose {
        for (origin, kind, name) in &loaded.skipped {
            eprintln!("skipped: {origin}: {kind} {name} (kind not modelled)");
        }
    }
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    if !loaded.errors.is_empty() {
        for e in &loaded.errors {
            eprintln!("error: {e}");
        }
        anyhow::bail!(
            "{} error(s) in the input; no analysis was run, so no policy is silently ignored",
            loaded.errors.len()
        );
    }
    Ok(loaded)
}
