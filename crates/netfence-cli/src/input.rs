//! Reading inputs: files, directories (recursive), standard input.

use std::io::Read;
use std::path::Path;

use anyhow::{bail, Context, Result};
use netfence_load::{Loaded, Source, MAX_INPUT_BYTES};

use crate::cli::Inputs;

fn is_manifest(p: &Path) -> bool {
    matches!(
        p.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "json")
    )
}

/// Directories already walked, by device and inode: a symbolic link back up the tree is
/// followed once, never in a loop.
type Visited = std::collections::HashSet<(u64, u64)>;

fn walk(dir: &Path, out: &mut Vec<Source>, visited: &mut Visited) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(dir)
        .with_context(|| format!("cannot read directory `{}`", dir.display()))?;
    if !visited.insert((meta.dev(), meta.ino())) {
        return Ok(());
    }
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read directory `{}`", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        // (metadata follows links: a link to a directory is walked, a dangling one is named)
        let Ok(meta) = std::fs::metadata(&p) else {
            if is_manifest(&p) {
                eprintln!("warning: `{}` is a broken link; skipped", p.display());
            }
            continue;
        };
        if meta.is_dir() {
            walk(&p, out, visited)?;
        } else if is_manifest(&p) {
            if meta.is_file() {
                out.push(read_file(&p)?);
            } else {
                // a FIFO or device would block or never end: only files named on the
                // command line are read whatever they are
                eprintln!(
                    "warning: `{}` is not a regular file; skipped (name it on the command line to read it)",
                    p.display()
                );
            }
        }
    }
    Ok(())
}

/// Reads at most [`MAX_INPUT_BYTES`] from `r`; more is an error naming `what`.
fn read_capped(r: impl Read, what: &str) -> Result<Vec<u8>> {
    read_at_most(r, what, MAX_INPUT_BYTES)
}

fn read_at_most(r: impl Read, what: &str, cap: u64) -> Result<Vec<u8>> {
    read_at_most_into(r, what, cap, Vec::new())
}

fn read_at_most_into(
    mut r: impl Read,
    what: &str,
    cap: u64,
    mut bytes: Vec<u8>,
) -> Result<Vec<u8>> {
    r.by_ref()
        .take(cap + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {what}"))?;
    if bytes.len() as u64 > cap {
        bail!(
            "{what} is larger than {}, the most netfence reads from one input",
            if cap >= 1 << 30 {
                format!("{} GiB", cap >> 30)
            } else {
                format!("{cap} bytes")
            }
        );
    }
    Ok(bytes)
}

fn decode(name: &str, bytes: Vec<u8>) -> Result<Source> {
    Source::from_bytes(name, bytes).map_err(|e| anyhow::anyhow!("{e}"))
}

fn read_file(p: &Path) -> Result<Source> {
    let f = std::fs::File::open(p).with_context(|| format!("cannot read `{}`", p.display()))?;
    // sized once from the file's length, not grown by doubling
    let len = f.metadata().map_or(0, |m| m.len()).min(MAX_INPUT_BYTES);
    let bytes = read_at_most_into(
        f,
        &format!("`{}`", p.display()),
        MAX_INPUT_BYTES,
        Vec::with_capacity(usize::try_from(len).unwrap_or(0).saturating_add(1)),
    )?;
    decode(&p.display().to_string(), bytes)
}

/// Reads one file, or standard input for `-`.
pub fn read_one(p: &Path) -> Result<Source> {
    if p.as_os_str() == "-" {
        let bytes = read_capped(std::io::stdin().lock(), "standard input")?;
        return decode("<stdin>", bytes);
    }
    read_file(p)
}

/// Reads every input into sources.
pub fn sources(inputs: &Inputs) -> Result<Vec<Source>> {
    let mut out = Vec::new();
    let mut visited = Visited::new();
    for p in &inputs.paths {
        if p.as_os_str() == "-" {
            out.push(read_one(p)?);
        } else if p.is_dir() {
            walk(p, &mut out, &mut visited)?;
        } else if p.exists() {
            out.push(read_file(p)?);
        } else {
            bail!("`{}` does not exist", p.display());
        }
    }
    if inputs.live.cluster {
        out.extend(live_sources(&inputs.live)?);
    }
    Ok(out)
}

/// The objects of the live cluster `--cluster` names.
#[cfg(feature = "live")]
fn live_sources(live: &crate::cli::LiveArgs) -> Result<Vec<Source>> {
    crate::live::sources(&crate::live::Target {
        kubeconfig: live.kubeconfig.clone(),
        context: live.context.clone(),
        namespaces: live.namespaces.clone(),
    })
}

/// Without the `live` feature, `--cluster` is refused.
#[cfg(not(feature = "live"))]
fn live_sources(_: &crate::cli::LiveArgs) -> Result<Vec<Source>> {
    bail!("this netfence was built without the `live` feature: --cluster is not available")
}

/// Reads and loads the inputs; any load error is fatal (exit 2) after all are printed.
pub fn load(inputs: &Inputs) -> Result<Loaded> {
    let live = &inputs.live;
    if !live.cluster && (!live.namespaces.is_empty() || live.all_namespaces) {
        bail!(
            "`--namespace` and `--all-namespaces` say which namespaces `--cluster` lists; \
             files are read whole (add --cluster, or leave the flag out)"
        );
    }
    load_sources(&sources(inputs)?, inputs.verbose)
}

/// Manifest files of `paths` at git revision `rev` of the repository around the current
/// directory, read with `git show` (paths are relative to the current directory).
pub fn git_sources(rev: &str, paths: &[std::path::PathBuf]) -> Result<Vec<Source>> {
    let commit = verify_revision(rev)?;
    let mut ls = std::process::Command::new("git");
    ls.args(["ls-tree", "-r", "--name-only", &commit, "--"]);
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
            .arg(format!("{commit}:./{f}"))
            .output()
            .context("cannot run git show")?;
        if !show.status.success() {
            bail!(
                "git show {rev}:{f} failed: {}",
                String::from_utf8_lossy(&show.stderr).trim()
            );
        }
        sources.push(decode(&format!("{rev}:{f}"), show.stdout)?);
    }
    Ok(sources)
}

/// The commit a revision names, checked by git itself (`rev-parse --verify --end-of-options`),
/// so that a revision starting with `-` is never read by git as an option.
fn verify_revision(rev: &str) -> Result<String> {
    if rev.is_empty() || rev.starts_with('-') {
        bail!(
            "`{rev}` is not a git revision (`--git` takes BASE or BASE..HEAD, e.g. `main..HEAD`)"
        );
    }
    let out = std::process::Command::new("git")
        .args(["rev-parse", "--verify", "--quiet", "--end-of-options"])
        .arg(format!("{rev}^{{commit}}"))
        .output()
        .context("cannot run git")?;
    if !out.status.success() {
        bail!("`{rev}` is not a commit of the git repository here");
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Loads sources; any load error is fatal (exit 2) after all are printed.
pub fn load_sources(sources: &[Source], verbose: bool) -> Result<Loaded> {
    let loaded = netfence_load::load(sources);
    if verbose {
        for (origin, kind, name) in &loaded.skipped {
            eprintln!("skipped: {origin}: {kind} {name} (kind not modelled)");
        }
    } else if !loaded.skipped.is_empty() {
        let mut by_kind = std::collections::BTreeMap::<&str, usize>::new();
        for (_, kind, _) in &loaded.skipped {
            *by_kind.entry(kind.as_str()).or_default() += 1;
        }
        let kinds: Vec<String> = by_kind.iter().map(|(k, n)| format!("{k} ({n})")).collect();
        eprintln!(
            "note: skipped {} object(s) of kinds that decide no verdict: {} (--verbose lists them)",
            loaded.skipped.len(),
            kinds.join(", ")
        );
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
    if is_empty(&loaded.cluster) {
        eprintln!(
            "warning: the input holds no object netfence reads (namespaces, workloads, services or policies)"
        );
    }
    Ok(loaded)
}

/// The cluster has no object at all.
pub fn is_empty(c: &netfence_model::Cluster) -> bool {
    c.namespaces.is_empty()
        && c.endpoints.is_empty()
        && c.services.is_empty()
        && c.policies.iter().next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endless_input_is_cut_at_the_cap_with_an_error() {
        // what `/dev/zero` does, with a small cap
        let e = read_at_most(std::io::repeat(0), "`/dev/zero`", 1000).unwrap_err();
        assert_eq!(
            e.to_string(),
            "`/dev/zero` is larger than 1000 bytes, the most netfence reads from one input"
        );
        assert_eq!(read_at_most(&b"abc"[..], "x", 3).unwrap(), b"abc");
    }
}
