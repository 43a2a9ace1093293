//! Renderers for `netfence audit`: text, json, SARIF 2.1.0 (GitHub code scanning), JUnit, md.

use std::fmt::Write as _;

use netfence_audit::score::Score;
use netfence_audit::{AuditResult, Diagnostic, Severity, RULES};

fn place(d: &Diagnostic) -> String {
    d.origin
        .as_ref()
        .filter(|o| !o.file.is_empty())
        .map(|o| o.to_string())
        .unwrap_or_else(|| "<cluster>".into())
}

fn score_text(s: &Score) -> String {
    let mut out = format!(
        "zero-trust score: {:.0}/100, maturity level {}/6\n",
        s.score, s.maturity
    );
    for n in &s.namespaces {
        let _ = writeln!(
            out,
            "  {}: {:.0}/100, level {} ({} workloads)",
            n.namespace, n.score, n.maturity, n.workloads
        );
        for p in n
            .patterns
            .iter()
            .filter(|p| p.pattern <= 2 && p.points < p.weight)
        {
            let _ = writeln!(
                out,
                "    pattern {} {}: {:.0}/{:.0} - {}",
                p.pattern, p.name, p.points, p.weight, p.note
            );
        }
    }
    // Patterns 3-6 are the same for every namespace (cluster-wide dialects): said once.
    if let Some(n) = s.namespaces.first() {
        for p in n.patterns.iter().filter(|p| p.pattern >= 3) {
            let _ = writeln!(
                out,
                "  pattern {} {}: {:.0}/{:.0} everywhere{}",
                p.pattern,
                p.name,
                p.points,
                p.weight,
                if p.note.is_empty() {
                    String::new()
                } else {
                    format!(" - {}", p.note)
                }
            );
        }
    }
    out
}

/// Text for terminals: one block per finding, then the score.
pub fn text(r: &AuditResult, s: &Score) -> String {
    let mut out = String::new();
    for d in &r.diagnostics {
        let _ = writeln!(
            out,
            "{}: {} [{}] {}",
            place(d),
            d.code,
            d.severity,
            d.message
        );
        let _ = writeln!(out, "  = help: {}", d.help);
    }
    let _ = writeln!(
        out,
        "{} finding{}{}",
        r.diagnostics.len(),
        if r.diagnostics.len() == 1 { "" } else { "s" },
        if r.suppressed > 0 {
            format!(" ({} suppressed)", r.suppressed)
        } else {
            String::new()
        }
    );
    out.push('\n');
    out.push_str(&score_text(s));
    out
}

fn finding(d: &Diagnostic) -> crate::output::Finding {
    crate::output::Finding {
        code: d.code.to_string(),
        rule: d.rule.to_string(),
        severity: d.severity.as_str().to_string(),
        message: d.message.clone(),
        object: d.object.clone(),
        file: d.origin.as_ref().map(|o| o.file.clone()),
        line: d.origin.as_ref().and_then(|o| o.line),
        help: d.help.clone(),
    }
}

/// JSON: findings, suppressed count, score (schema: `docs/schema/audit.schema.json`).
pub fn json(r: &AuditResult, s: &Score, data_path: &str) -> String {
    use crate::output::{AuditOutput, NamespaceScore, PatternScore, ScoreOutput};
    let round = |x: f64| (x * 10.0).round() / 10.0;
    crate::output::to_json(&AuditOutput {
        findings: r.diagnostics.iter().map(finding).collect(),
        suppressed: r.suppressed,
        score: ScoreOutput {
            cluster: round(s.score),
            maturity: s.maturity,
            namespaces: s
                .namespaces
                .iter()
                .map(|n| NamespaceScore {
                    namespace: n.namespace.clone(),
                    score: round(n.score),
                    maturity: n.maturity,
                    patterns: n
                        .patterns
                        .iter()
                        .map(|p| PatternScore {
                            pattern: p.pattern,
                            name: p.name.to_string(),
                            points: round(p.points),
                            weight: p.weight,
                            note: p.note.clone(),
                        })
                        .collect(),
                })
                .collect(),
        },
        data_path: data_path.to_string(),
    })
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// SARIF 2.1.0, as GitHub code scanning accepts it.
pub fn sarif(r: &AuditResult) -> String {
    let rules: Vec<serde_json::Value> = RULES
        .iter()
        .map(|m| {
            serde_json::json!({
                "id": m.code,
                "name": m.name,
                "shortDescription": {"text": m.summary},
                "fullDescription": {"text": m.summary},
                "help": {"text": m.summary, "markdown": m.docs},
                "defaultConfiguration": {"level": level(m.severity)},
                "properties": {"tags": ["security", "kubernetes", "network-policy"]},
            })
        })
        .collect();
    let results: Vec<serde_json::Value> = r
        .diagnostics
        .iter()
        .map(|d| {
            let mut res = serde_json::json!({
                "ruleId": d.code,
                "ruleIndex": RULES.iter().position(|m| m.code == d.code).unwrap_or(0),
                "level": level(d.severity),
                "message": {"text": format!("{} ({}). Fix: {}", d.message, d.object, d.help)},
            });
            if let (Some(o), Some(m)) = (
                d.origin.as_ref().filter(|o| !o.file.is_empty()),
                res.as_object_mut(),
            ) {
                m.insert(
                    "locations".into(),
                    serde_json::json!([{
                        "physicalLocation": {
                            "artifactLocation": {"uri": o.file.trim_start_matches("./")},
                            "region": {"startLine": o.line.unwrap_or(1)},
                        }
                    }]),
                );
            }
            res
        })
        .collect();
    let v = serde_json::json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "netfence",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/netfence/netfence",
                "rules": rules,
            }},
            "results": results,
        }],
    });
    let mut out = serde_json::to_string_pretty(&v).unwrap_or_default();
    out.push('\n');
    out
}

/// JUnit: one test case per rule, failing with its findings.
pub fn junit(r: &AuditResult) -> String {
    let failing = RULES
        .iter()
        .filter(|m| r.diagnostics.iter().any(|d| d.code == m.code))
        .count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"netfence audit\" tests=\"{}\" failures=\"{failing}\">",
        RULES.len()
    );
    let _ = writeln!(out, "  <testsuite name=\"netfence audit\" tests=\"{}\" failures=\"{failing}\" errors=\"0\" skipped=\"0\">", RULES.len());
    for m in RULES {
        let found: Vec<&Diagnostic> = r.diagnostics.iter().filter(|d| d.code == m.code).collect();
        let _ = write!(
            out,
            "    <testcase name=\"{} {}\" classname=\"netfence.audit\"",
            m.code, m.name
        );
        if found.is_empty() {
            out.push_str("/>\n");
            continue;
        }
        let body: Vec<String> = found
            .iter()
            .map(|d| format!("{}: {} (fix: {})", place(d), d.message, d.help))
            .collect();
        let _ = writeln!(
            out,
            ">\n      <failure message=\"{} finding(s)\">{}</failure>\n    </testcase>",
            found.len(),
            crate::tests_report::xml_escape(&body.join("\n"))
        );
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// Markdown for a pull-request comment.
pub fn md(r: &AuditResult, s: &Score) -> String {
    let mut out = format!("### netfence audit\n\n**Zero-trust score {:.0}/100, maturity level {}/6; {} findings**\n\n", s.score, s.maturity, r.diagnostics.len());
    if !r.diagnostics.is_empty() {
        out.push_str("| severity | code | finding | where | fix |\n|---|---|---|---|---|\n");
        for d in &r.diagnostics {
            let _ = writeln!(
                out,
                "| {} | {} | {} | `{}` | {} |",
                d.severity,
                d.code,
                d.message.replace('|', "\\|"),
                place(d),
                d.help.replace('|', "\\|")
            );
        }
    }
    out
}
