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
    let loaded = netfence_load::load(&sources(inputs)?);
    if inputs.verbose {
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
        bail!(
            "{} error(s) in the input; no analysis was run, so no policy is silently ignored",
            loaded.errors.len()
        );
    }
    Ok(loaded)
}
