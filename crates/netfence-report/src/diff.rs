//! Renderers for `netfence diff`: txt for terminals, json for scripts, md for pull-request
//! comments.

use std::fmt::Write as _;

use netfence_engine::diff::{Diff, PairChange};

fn summary(d: &Diff) -> String {
    format!(
        "{} added, {} removed, {} changed connections; {} workloads added, {} removed",
        d.added.len(),
        d.removed.len(),
        d.changed.len(),
        d.workloads_added.len(),
        d.workloads_removed.len()
    )
}

/// Plain text.
pub fn txt(d: &Diff) -> String {
    if d.is_empty() {
        return "no connectivity change\n".to_string();
    }
    let mut out = format!("{}\n", summary(d));
    if !d.dns_lost.is_empty() {
        let _ = writeln!(
            out,
            "DNS: {} workloads can no longer resolve names through kube-dns (UDP and TCP 53): {}",
            d.dns_lost.len(),
            d.dns_lost.join(", ")
        );
    }
    let section =
        |out: &mut String, title: &str, items: &[PairChange], f: &dyn Fn(&PairChange) -> String| {
            if items.is_empty() {
                return;
            }
            let _ = writeln!(out, "\n{title}:");
            for c in items {
                let _ = writeln!(out, "{}", f(c));
            }
        };
    section(&mut out, "added", &d.added, &|c| {
        format!("+ {} => {} : {}", c.src, c.dst, c.after)
    });
    section(&mut out, "removed", &d.removed, &|c| {
        format!("- {} => {} : {}", c.src, c.dst, c.before)
    });
    section(&mut out, "changed", &d.changed, &|c| {
        let mut s = format!("~ {} => {} : {} -> {}", c.src, c.dst, c.before, c.after);
        let (opened, closed) = (c.opened(), c.closed());
        if !opened.is_empty() {
            let _ = write!(s, "\n    opened: {opened}");
        }
        if !closed.is_empty() {
            let _ = write!(s, "\n    closed: {closed}");
        }
        s
    });
    for (title, sign, items) in [
        ("workloads added", '+', &d.workloads_added),
        ("workloads removed", '-', &d.workloads_removed),
    ] {
        if !items.is_empty() {
            let _ = writeln!(out, "\n{title}:");
            for w in items {
                let _ = writeln!(out, "{sign} {w}");
            }
        }
    }
    out
}

/// JSON: `{"added": [...], "removed": [...], "changed": [...], "workloads_added": [...],
/// "workloads_removed": [...]}`.
pub fn json(d: &Diff) -> String {
    let pair = |c: &PairChange| crate::output::PairChange {
        src: c.src.clone(),
        dst: c.dst.clone(),
        before: c.before.to_string(),
        after: c.after.to_string(),
        opened: c.opened().to_string(),
        closed: c.closed().to_string(),
    };
    crate::output::to_json(&crate::output::DiffOutput {
        added: d.added.iter().map(pair).collect(),
        removed: d.removed.iter().map(pair).collect(),
        changed: d.changed.iter().map(pair).collect(),
        workloads_added: d.workloads_added.clone(),
        workloads_removed: d.workloads_removed.clone(),
        dns_lost: d.dns_lost.clone(),
    })
}

/// Markdown for a pull-request comment: a summary line and one table.
pub fn md(d: &Diff) -> String {
    let mut out = String::from("### netfence: connectivity changes\n\n");
    if d.is_empty() {
        out.push_str("No connectivity change.\n");
        return out;
    }
    let _ = writeln!(out, "**{}**\n", summary(d));
    if !d.dns_lost.is_empty() {
        let _ = writeln!(
            out,
            "> **DNS**: {} workloads lose name resolution through kube-dns: {}\n",
            d.dns_lost.len(),
            d.dns_lost
                .iter()
                .map(|w| format!("`{w}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let code = |s: &str| format!("`{}`", s.replace('`', "'"));
    out.push_str("| change | source | destination | before | after |\n|---|---|---|---|---|\n");
    for (label, items) in [
        ("added", &d.added),
        ("removed", &d.removed),
        ("changed", &d.changed),
    ] {
        for c in items {
            let show = |x: &netfence_model::ConnSet| {
                if x.is_empty() {
                    String::new()
                } else {
                    x.to_string()
                }
            };
            let _ = writeln!(
                out,
                "| {label} | {} | {} | {} | {} |",
                code(&c.src),
                code(&c.dst),
                show(&c.before),
                show(&c.after)
            );
        }
    }
    for (label, items) in [
        ("workload added", &d.workloads_added),
        ("workload removed", &d.workloads_removed),
    ] {
        for w in items {
            let _ = writeln!(out, "| {label} | {} | | | |", code(w));
        }
    }
    out
}
