//! Renderers for `netfence test`: text for terminals, JUnit XML for CI systems, JSON for
//! scripts.

use std::fmt::Write as _;

/// The outcome of one test case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseResult {
    /// The case's name.
    pub name: String,
    /// How many workload pairs were checked.
    pub pairs: usize,
    /// One line per pair that did not get the expected verdict.
    pub failures: Vec<String>,
    /// Notes (for example facts the loaded dialects cannot use).
    pub notes: Vec<String>,
}

impl CaseResult {
    /// Whether the case passed.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Plain text, ending with `N passed, N failed`.
pub fn text(results: &[CaseResult]) -> String {
    let mut out = String::new();
    for r in results {
        let status = if r.passed() { "PASS" } else { "FAIL" };
        let _ = writeln!(
            out,
            "{status} {} ({} pair{})",
            r.name,
            r.pairs,
            if r.pairs == 1 { "" } else { "s" }
        );
        for f in &r.failures {
            let _ = writeln!(out, "    {f}");
        }
        for n in &r.notes {
            let _ = writeln!(out, "    note: {n}");
        }
    }
    let failed = results.iter().filter(|r| !r.passed()).count();
    let _ = writeln!(out, "{} passed, {failed} failed", results.len() - failed);
    out
}

/// JSON (schema: `docs/schema/test.schema.json`).
pub fn json(spec: &str, results: &[CaseResult]) -> String {
    use crate::output::{TestCase, TestOutput};
    let failed = results.iter().filter(|r| !r.passed()).count();
    crate::output::to_json(&TestOutput {
        spec: spec.to_string(),
        passed: results.len() - failed,
        failed,
        cases: results
            .iter()
            .map(|r| TestCase {
                name: r.name.clone(),
                passed: r.passed(),
                pairs: r.pairs,
                failures: r.failures.clone(),
                notes: r.notes.clone(),
            })
            .collect(),
    })
}

/// Escapes text for XML attributes and content.
pub(crate) fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// JUnit XML (the dialect GitHub, GitLab and Jenkins read).
pub fn junit(suite: &str, results: &[CaseResult]) -> String {
    let failed = results.iter().filter(|r| !r.passed()).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"netfence\" tests=\"{}\" failures=\"{failed}\">",
        results.len()
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\" errors=\"0\" skipped=\"0\">",
        xml_escape(suite),
        results.len()
    );
    for r in results {
        let _ = write!(
            out,
            "    <testcase name=\"{}\" classname=\"netfence.connectivity\"",
            xml_escape(&r.name)
        );
        if r.passed() && r.notes.is_empty() {
            out.push_str("/>\n");
            continue;
        }
        out.push_str(">\n");
        if !r.passed() {
            let _ = writeln!(
                out,
                "      <failure message=\"{} of {} pairs did not match\">{}</failure>",
                r.failures.len(),
                r.pairs,
                xml_escape(&r.failures.join("\n"))
            );
        }
        if !r.notes.is_empty() {
            let _ = writeln!(
                out,
                "      <system-out>{}</system-out>",
                xml_escape(&r.notes.join("\n"))
            );
        }
        out.push_str("    </testcase>\n");
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junit_escapes_and_counts() {
        let r = vec![
            CaseResult {
                name: "a<b".into(),
                pairs: 1,
                failures: vec![],
                notes: vec![],
            },
            CaseResult {
                name: "c".into(),
                pairs: 2,
                failures: vec!["x => y & z".into()],
                notes: vec![],
            },
        ];
        let x = junit("spec.yaml", &r);
        assert!(x.contains("tests=\"2\" failures=\"1\""));
        assert!(x.contains("name=\"a&lt;b\""));
        assert!(x.contains("x =&gt; y &amp; z"));
        assert!(text(&r).ends_with("1 passed, 1 failed\n"));
    }
}
