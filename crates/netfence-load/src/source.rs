//! Input text and its split into documents, keeping line numbers.

use serde_json::Value;

use crate::err::LoadError;

/// One input: a name for messages and its text.
#[derive(Debug, Clone)]
pub struct Source {
    /// The file name, or `<stdin>`.
    pub name: String,
    /// The text.
    pub text: String,
}

/// One parsed document.
#[derive(Debug)]
pub(crate) struct Document {
    pub file: String,
    /// 1-based index in the file.
    pub index: usize,
    /// 1-based line of the document's first line.
    pub line: usize,
    pub value: Value,
    /// For a NetworkPolicy document: the line of each ingress and egress rule.
    pub rule_lines: RuleLines,
}

/// Lines of the rules of a NetworkPolicy document, in order.
#[derive(Debug, Default, Clone)]
pub(crate) struct RuleLines {
    pub ingress: Vec<usize>,
    pub egress: Vec<usize>,
}

#[derive(serde::Deserialize)]
struct NpLines {
    spec: Option<SpecLines>,
}

#[derive(serde::Deserialize)]
struct SpecLines {
    ingress: Option<Vec<serde_saphyr::Spanned<serde::de::IgnoredAny>>>,
    egress: Option<Vec<serde_saphyr::Spanned<serde::de::IgnoredAny>>>,
}

/// Where each rule of a NetworkPolicy document starts (absolute lines).
fn rule_lines(text: &str, first_line: usize, value: &Value) -> RuleLines {
    if value.get("kind").and_then(Value::as_str) != Some("NetworkPolicy") {
        return RuleLines::default();
    }
    let Ok(NpLines { spec: Some(spec) }) = serde_saphyr::from_str::<NpLines>(text) else {
        return RuleLines::default();
    };
    let lines = |v: Option<Vec<serde_saphyr::Spanned<serde::de::IgnoredAny>>>| -> Vec<usize> {
        v.unwrap_or_default()
            .iter()
            .map(|s| first_line + s.referenced.line() as usize - 1)
            .collect()
    };
    RuleLines {
        ingress: lines(spec.ingress),
        egress: lines(spec.egress),
    }
}

fn is_json(src: &Source) -> bool {
    src.name.ends_with(".json") || src.text.trim_start().starts_with(['{', '['])
}

/// Splits a YAML stream at `---` lines, returning each document with its first line.
fn split_yaml(text: &str) -> Vec<(usize, String)> {
    let mut docs = Vec::new();
    let mut cur = String::new();
    let mut start = 1;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_end();
        if t == "---" || t.starts_with("--- ") || t == "..." {
            docs.push((start, std::mem::take(&mut cur)));
            start = i + 2;
            continue;
        }
        cur.push_str(line);
        cur.push('\n');
    }
    docs.push((start, cur));
    let is_content = |l: &str| !l.trim().is_empty() && !l.trim_start().starts_with('#');
    docs.retain(|(_, d)| d.lines().any(is_content));
    // A document's line is that of its first line of content, not of a leading comment.
    for (start, d) in &mut docs {
        let skip = d.lines().take_while(|l| !is_content(l)).count();
        *start += skip;
        *d = d.lines().skip(skip).fold(String::new(), |mut acc, l| {
            acc.push_str(l);
            acc.push('\n');
            acc
        });
    }
    docs
}

/// Parses a source into documents, pushing parse errors.
/// Leading tabs of every line replaced by one space each.
fn untab(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let tabs = line.len() - line.trim_start_matches('\t').len();
        out.push_str(&" ".repeat(tabs));
        out.push_str(&line[tabs..]);
        out.push('\n');
    }
    out
}

pub(crate) fn documents(
    src: &Source,
    errors: &mut Vec<LoadError>,
    warnings: &mut Vec<LoadError>,
) -> Vec<Document> {
    let mut out = Vec::new();
    if is_json(src) {
        match serde_json::from_str::<Value>(&src.text) {
            Ok(value) => out.push(Document {
                file: src.name.clone(),
                index: 1,
                line: 1,
                value,
                rule_lines: RuleLines::default(),
            }),
            Err(e) => errors.push(LoadError {
                file: src.name.clone(),
                document: 1,
                line: Some(e.line()),
                object: None,
                field: None,
                message: format!("invalid JSON: {e}"),
                help: None,
            }),
        }
        return out;
    }
    for (i, (line, text)) in split_yaml(&src.text).into_iter().enumerate() {
        // (each document parses on its own, so one bad document never hides the others)
        let mut parsed = serde_saphyr::from_str::<Value>(&text);
        if parsed
            .as_ref()
            .is_err_and(|e| e.to_string().contains("tab"))
        {
            // Go's YAML parser (and so kubectl) reads a tab in front of a flow-collection
            // entry; do the same, and say so.
            let untabbed = untab(&text);
            if let Ok(v) = serde_saphyr::from_str::<Value>(&untabbed) {
                warnings.push(LoadError {
                    file: src.name.clone(),
                    document: i + 1,
                    line: Some(line),
                    object: None,
                    field: None,
                    message: "tab characters in indentation were read as spaces".into(),
                    help: Some("YAML forbids tabs in indentation; replace them with spaces".into()),
                });
                parsed = Ok(v);
            }
        }
        match parsed {
            Ok(Value::Null) => {}
            Ok(value) => out.push(Document {
                file: src.name.clone(),
                index: i + 1,
                line,
                rule_lines: rule_lines(&text, line, &value),
                value,
            }),
            Err(e) => {
                let at = e.location().map(|l| line + l.line() as usize - 1);
                let msg = e.to_string();
                let mut first = msg.lines().next().unwrap_or("invalid YAML").to_string();
                if let (Some(key), Some(loc)) = (duplicate_key(&msg), e.location()) {
                    let (rel, col) = (loc.line() as usize, loc.column() as usize);
                    first = match first_duplicate_line(&text, rel, col, &key) {
                        Some(prev) => format!(
                            "duplicate key `{key}` at line {} was already set at line {}",
                            line + rel - 1,
                            line + prev - 1
                        ),
                        None => format!("duplicate key `{key}` at line {}", line + rel - 1),
                    };
                }
                errors.push(LoadError {
                    file: src.name.clone(),
                    document: i + 1,
                    line: at.or(Some(line)),
                    object: None,
                    field: None,
                    message: format!("invalid YAML: {first}"),
                    help: msg
                        .to_lowercase()
                        .contains("duplicate")
                        .then(|| "a mapping key appears twice; YAML keeps only one of them, so merge the two entries".to_string()),
                });
            }
        }
    }
    out
}

/// The key a "duplicate mapping key" parse error names.
fn duplicate_key(msg: &str) -> Option<String> {
    let rest = msg.split("duplicate mapping key: ").nth(1)?;
    Some(rest.split(',').next()?.trim().to_string())
}

/// The 1-based line, within `text`, where `key` was first set in the mapping whose duplicate
/// is at (`line`, `column`): the nearest earlier line at the same indentation, without leaving
/// the mapping.
fn first_duplicate_line(text: &str, line: usize, column: usize, key: &str) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let indent = column.saturating_sub(1);
    for i in (0..line.saturating_sub(1)).rev() {
        let l = lines.get(i)?;
        let t = l.trim_start();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let ind = l.len() - t.len();
        // A `- key:` list item starts its mapping two columns further in.
        let (ind, t) = match t.strip_prefix("- ") {
            Some(rest) => (
                ind + 2 + (rest.len() - rest.trim_start().len()),
                rest.trim_start(),
            ),
            None => (ind, t),
        };
        if ind < indent {
            return None;
        }
        if ind == indent {
            let k = t
                .split(':')
                .next()
                .unwrap_or_default()
                .trim()
                .trim_matches(['"', '\'']);
            if k == key {
                return Some(i + 1);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_keep_their_first_line() {
        let text = "a: 1\n---\n# only a comment\n---\n# about b\n\nb: 2\nc: 3\n";
        let docs = split_yaml(text);
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].0, 1);
        assert_eq!(docs[1].0, 7);
    }

    #[test]
    fn yaml_errors_point_at_the_absolute_line() {
        let src = Source {
            name: "x.yaml".into(),
            text: "a: 1\n---\nb: [\n".into(),
        };
        let mut errors = Vec::new();
        let docs = documents(&src, &mut errors, &mut Vec::new());
        assert_eq!(docs.len(), 1);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].document, 2);
        assert!(errors[0].line.unwrap() >= 3, "{:?}", errors[0]);
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let src = Source {
            name: "x.yaml".into(),
            text: "spec:\n  ingress: []\n  ingress: []\n".into(),
        };
        let mut errors = Vec::new();
        let docs = documents(&src, &mut errors, &mut Vec::new());
        assert!(docs.is_empty());
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].message.contains("invalid YAML"));
        assert!(
            errors[0]
                .message
                .contains("`ingress` at line 3 was already set at line 2"),
            "{errors:?}"
        );
    }

    #[test]
    fn duplicate_keys_in_lists_point_at_the_first_one() {
        let text = "spec:\n  ingress:\n  - fromEndpoints: []\n  egress: []\n  ingress:\n  - {}\n";
        assert_eq!(first_duplicate_line(text, 5, 3, "ingress"), Some(2));
        assert_eq!(first_duplicate_line(text, 4, 3, "ingress"), Some(2));
        assert_eq!(
            first_duplicate_line("a:\n  x: 1\nb:\n  x: 2\n", 4, 3, "x"),
            None
        );
    }
}
