//! YAML streams to [`Node`] trees, straight from the parser's events (granit-parser, the event
//! parser under serde-saphyr): one pass, the parser's own document boundaries, the line of
//! every key and item, and no intermediate serde layer.
//!
//! Scalars resolve as Kubernetes' YAML reader (sigs.k8s.io/yaml, YAML 1.1 flavoured) resolves
//! them: `~`/`null`/empty are null, `y|yes|on|true` and `n|no|off|false` (any case) are
//! booleans, decimal, `0x`, `0o` and `0b` integers and decimal floats are numbers; quoted and
//! block scalars are strings. Tags `!!str`, `!!int`, `!!float`, `!!bool` and `!!null` force a
//! type. Anchors, aliases (with a bound on what they expand to) and merge keys (`<<`) are
//! supported; repeated keys are kept for the loader to report.

use std::collections::HashMap;

use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle, Tag};

use crate::node::{Entry, Node, NodeValue};

/// A parse error: its 1-based line and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct YamlError {
    pub line: Option<usize>,
    pub message: String,
}

/// Deepest nesting of collections read (Kubernetes objects nest far less).
pub(crate) const MAX_DEPTH: usize = 128;

/// The most nodes aliases may add to a stream, beyond its own: an alias bomb stops here.
const MAX_ALIAS_NODES: usize = 1_000_000;

/// A collection being built.
enum Open {
    Seq {
        line: usize,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        line: usize,
        anchor: usize,
        entries: Vec<Entry>,
        /// The key read, waiting for its value.
        key: Option<(String, usize)>,
        /// Mappings merged in with `<<`, applied when the mapping closes.
        merges: Vec<Node>,
    },
}

/// Parses every document of a stream; empty and null documents are left out.
pub(crate) fn parse(text: &str) -> Result<Vec<Node>, YamlError> {
    let mut docs = Vec::new();
    let mut stack: Vec<Open> = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut alias_nodes = 0usize;
    for ev in Parser::new_from_str(text) {
        let (ev, span) = ev.map_err(|e| YamlError {
            line: Some(e.marker().line()),
            message: e.info(),
        })?;
        let line = span.start.line();
        let node = match ev {
            Event::StreamStart | Event::StreamEnd => continue,
            Event::DocumentStart(..) => {
                anchors.clear();
                continue;
            }
            Event::DocumentEnd => continue,
            Event::Alias(id) => {
                let Some(n) = anchors.get(&id) else {
                    return Err(YamlError {
                        line: Some(line),
                        message: "an alias names no anchor".into(),
                    });
                };
                // an alias of a scalar in a key's place is that key
                if let Some(Open::Map {
                    key: key @ None, ..
                }) = stack.last_mut()
                {
                    let k = match &n.value {
                        NodeValue::Str(s) => s.clone(),
                        NodeValue::Number(x) => x.to_string(),
                        NodeValue::Bool(b) => b.to_string(),
                        NodeValue::Null => "null".into(),
                        NodeValue::Seq(_) | NodeValue::Map(_) => {
                            return Err(YamlError {
                                line: Some(line),
                                message:
                                    "a mapping key must be a plain value, not a list or mapping"
                                        .into(),
                            })
                        }
                    };
                    *key = Some((k, line));
                    continue;
                }
                alias_nodes += count(n);
                if alias_nodes > MAX_ALIAS_NODES {
                    return Err(YamlError {
                        line: Some(line),
                        message: "aliases expand to more than netfence reads (an alias bomb?)"
                            .into(),
                    });
                }
                Node {
                    line,
                    value: n.value.clone(),
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                let value = scalar(&text, style, tag.as_deref()).map_err(|message| YamlError {
                    line: Some(line),
                    message,
                })?;
                // a key is its text as written
                if let Some(Open::Map {
                    key: key @ None, ..
                }) = stack.last_mut()
                {
                    let k = match &value {
                        NodeValue::Null if style == ScalarStyle::Plain => text.to_string(),
                        NodeValue::Str(s) => s.clone(),
                        _ => text.to_string(),
                    };
                    *key = Some((k, line));
                    if anchor != 0 {
                        anchors.insert(anchor, Node { line, value });
                    }
                    continue;
                }
                let n = Node { line, value };
                if anchor != 0 {
                    anchors.insert(anchor, n.clone());
                }
                n
            }
            Event::SequenceStart(_, anchor, _) | Event::MappingStart(_, anchor, _) => {
                if let Some(Open::Map { key: None, .. }) = stack.last() {
                    return Err(YamlError {
                        line: Some(line),
                        message: "a mapping key must be a plain value, not a list or mapping"
                            .into(),
                    });
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(YamlError {
                        line: Some(line),
                        message: format!("collections nest deeper than {MAX_DEPTH} levels"),
                    });
                }
                stack.push(if matches!(ev, Event::SequenceStart(..)) {
                    Open::Seq {
                        line,
                        anchor,
                        items: Vec::new(),
                    }
                } else {
                    Open::Map {
                        line,
                        anchor,
                        entries: Vec::new(),
                        key: None,
                        merges: Vec::new(),
                    }
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(open) = stack.pop() else { continue };
                let (n, anchor) = match open {
                    Open::Seq {
                        line,
                        anchor,
                        items,
                    } => (
                        Node {
                            line,
                            value: NodeValue::Seq(items),
                        },
                        anchor,
                    ),
                    Open::Map {
                        line,
                        anchor,
                        mut entries,
                        merges,
                        ..
                    } => {
                        merge(&mut entries, merges).map_err(|message| YamlError {
                            line: Some(line),
                            message,
                        })?;
                        (
                            Node {
                                line,
                                value: NodeValue::Map(entries),
                            },
                            anchor,
                        )
                    }
                };
                if anchor != 0 {
                    anchors.insert(anchor, n.clone());
                }
                n
            }
            _ => continue,
        };
        // a finished node goes into its parent, or is a document
        match stack.last_mut() {
            None => {
                if node.value != NodeValue::Null {
                    docs.push(node);
                }
            }
            Some(Open::Seq { items, .. }) => items.push(node),
            Some(Open::Map {
                entries,
                key,
                merges,
                ..
            }) => match key.take() {
                Some((k, _)) if k == "<<" => merges.push(node),
                Some((k, key_line)) => entries.push(Entry {
                    key: k,
                    key_line,
                    value: node,
                }),
                None => {
                    return Err(YamlError {
                        line: Some(node.line),
                        message: "a mapping key must be a plain value, not a list or mapping"
                            .into(),
                    })
                }
            },
        }
    }
    Ok(docs)
}

fn count(n: &Node) -> usize {
    1 + match &n.value {
        NodeValue::Seq(items) => items.iter().map(count).sum(),
        NodeValue::Map(entries) => entries.iter().map(|e| count(&e.value)).sum(),
        _ => 0,
    }
}

/// Applies merge keys: entries of the merged mappings whose keys the mapping does not set
/// itself (earlier merged mappings win over later ones, as YAML's merge type says).
fn merge(entries: &mut Vec<Entry>, merges: Vec<Node>) -> Result<(), String> {
    let mut sources = Vec::new();
    for m in merges {
        match m.value {
            NodeValue::Map(e) => sources.push(e),
            NodeValue::Seq(items) => {
                for item in items {
                    match item.value {
                        NodeValue::Map(e) => sources.push(e),
                        _ => {
                            return Err(
                                "a merge key (`<<`) takes a mapping or a list of mappings".into()
                            )
                        }
                    }
                }
            }
            _ => return Err("a merge key (`<<`) takes a mapping or a list of mappings".into()),
        }
    }
    for source in sources {
        for e in source {
            if !entries.iter().any(|x| x.key == e.key) {
                entries.push(e);
            }
        }
    }
    Ok(())
}

/// The value of a scalar.
fn scalar(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> Result<NodeValue, String> {
    let core = tag.and_then(|t| {
        ["str", "int", "float", "bool", "null", "binary", "timestamp"]
            .into_iter()
            .find(|s| t.is_yaml_core_schema_tag(s))
    });
    let non_specific = tag.is_some_and(|t| t.handle() == "!" && t.suffix().is_empty());
    match core {
        Some("str" | "binary" | "timestamp") => return Ok(NodeValue::Str(text.to_string())),
        Some("null") => return Ok(NodeValue::Null),
        Some("bool") => {
            return bool_of(text)
                .map(NodeValue::Bool)
                .ok_or_else(|| format!("`{text}` is not a boolean (!!bool)"))
        }
        Some("int") => {
            return int_of(text).ok_or_else(|| format!("`{text}` is not an integer (!!int)"))
        }
        Some("float") => {
            return float_of(text)
                .or_else(|| int_of(text))
                .ok_or_else(|| format!("`{text}` is not a number (!!float)"))
        }
        _ => {}
    }
    if style != ScalarStyle::Plain || non_specific {
        return Ok(NodeValue::Str(text.to_string()));
    }
    if matches!(text, "" | "~" | "null" | "Null" | "NULL") {
        return Ok(NodeValue::Null);
    }
    if let Some(b) = bool_of(text) {
        return Ok(NodeValue::Bool(b));
    }
    Ok(int_of(text)
        .or_else(|| float_of(text))
        .unwrap_or_else(|| NodeValue::Str(text.to_string())))
}

fn bool_of(t: &str) -> Option<bool> {
    let is = |words: &[&str]| words.iter().any(|w| t.eq_ignore_ascii_case(w));
    if is(&["true", "yes", "y", "on"]) {
        Some(true)
    } else if is(&["false", "no", "n", "off"]) {
        Some(false)
    } else {
        None
    }
}

/// Decimal (optionally signed, `_` between digits), `0x`, `0o` or `0b` integers.
fn int_of(t: &str) -> Option<NodeValue> {
    let (neg, rest) = match t.as_bytes().first() {
        Some(b'-') => (true, t.get(1..)?),
        Some(b'+') => (false, t.get(1..)?),
        _ => (false, t),
    };
    let (radix, digits) = if let Some(d) = rest.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = rest.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = rest.strip_prefix("0b") {
        (2, d)
    } else {
        (10, rest)
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || !digits.chars().all(|c| c == '_' || c.is_digit(radix))
    {
        return None;
    }
    let clean: String = digits.chars().filter(|c| *c != '_').collect();
    let magnitude = u64::from_str_radix(&clean, radix).ok()?;
    if neg {
        let v = i64::try_from(magnitude)
            .ok()
            .map(|m| -m)
            .or_else(|| (magnitude == 1 << 63).then_some(i64::MIN))?;
        Some(NodeValue::Number(v.into()))
    } else {
        Some(NodeValue::Number(magnitude.into()))
    }
}

/// Decimal floats (`1.5`, `-2e3`, `.5`); infinities and NaN stay text (JSON has none).
fn float_of(t: &str) -> Option<NodeValue> {
    let body = t.strip_prefix(['-', '+']).unwrap_or(t);
    let ok = !body.is_empty()
        && body.chars().any(|c| c.is_ascii_digit())
        && body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+' | '_'))
        && body.starts_with(|c: char| c.is_ascii_digit() || c == '.');
    if !ok {
        return None;
    }
    let clean: String = t.chars().filter(|c| *c != '_').collect();
    let f: f64 = clean.parse().ok()?;
    serde_json::Number::from_f64(f).map(NodeValue::Number)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Node {
        let mut d = parse(text).unwrap();
        assert_eq!(d.len(), 1);
        d.remove(0)
    }

    #[test]
    fn scalars_resolve_as_kubernetes_reads_them() {
        let n = one("a: ~\nb: yes\nc: Off\nd: 0x1F\ne: -12\nf: 1.5\ng: '1'\nh: !!str 2\ni: 1_000\nj: .inf\nk: y\nl: 0X1F\nm: \"\"\n");
        let v = n.to_json();
        assert!(v["a"].is_null());
        assert_eq!(v["b"], true);
        assert_eq!(v["c"], false);
        assert_eq!(v["d"], 31);
        assert_eq!(v["e"], -12);
        assert_eq!(v["f"], 1.5);
        assert_eq!(v["g"], "1");
        assert_eq!(v["h"], "2");
        assert_eq!(v["i"], 1000);
        assert_eq!(v["j"], ".inf");
        assert_eq!(v["k"], true);
        assert_eq!(v["l"], "0X1F");
        assert_eq!(v["m"], "");
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let n =
            one("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\nlist: &l [a, b]\nagain: *l\n");
        let v = n.to_json();
        assert_eq!(v["other"], serde_json::json!({"y": 3, "x": 1}));
        assert_eq!(v["again"], serde_json::json!(["a", "b"]));
    }

    #[test]
    fn lines_and_documents() {
        let d = parse("# c\na: 1\n---\n---\nb:\n  - x\n  - y: 2\n...\n").unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].line, 2);
        assert_eq!(d[1].line, 5);
        assert_eq!(d[1].line_of("b[1].y"), 7);
        assert_eq!(d[1].line_of("b[0]"), 6);
    }

    #[test]
    fn bombs_and_depth_fail_fast() {
        let mut bomb = String::from("a: &a [x,x,x,x,x,x,x,x,x,x]\n");
        for (i, c) in "bcdefghij".chars().enumerate() {
            let prev = (b'a' + i as u8) as char;
            bomb.push_str(&format!(
                "{c}: &{c} [{}]\n",
                vec![format!("*{prev}"); 10].join(",")
            ));
        }
        assert!(parse(&bomb).unwrap_err().message.contains("alias bomb"));
        let deep: String = (0..200)
            .map(|i| format!("{}k:\n", "  ".repeat(i)))
            .collect();
        assert!(parse(&deep)
            .unwrap_err()
            .message
            .contains("deeper than 128"));
    }
}
