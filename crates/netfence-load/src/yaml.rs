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
        /// An object's `status`: only the pod addresses netfence reads are built.
        status: bool,
    },
}

/// Parses every document of a stream; empty and null documents are left out.
pub(crate) fn parse(text: &str) -> Result<Vec<Node>, YamlError> {
    parse_from(text, 0)
}

/// [`parse`] for text that starts after line `offset` of its file.
fn parse_from(text: &str, offset: usize) -> Result<Vec<Node>, YamlError> {
    let mut docs = Vec::new();
    let mut stack: Vec<Open> = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut alias_nodes = 0usize;
    // Depth inside a skipped `metadata.managedFields` (read by no one, half of a kubectl dump).
    let mut skipping = 0usize;
    let mut skipped_anchor = false;
    for ev in Parser::new_from_str(text) {
        let (ev, span) = ev.map_err(|e| YamlError {
            line: Some(e.marker().line() + offset),
            message: e.info(),
        })?;
        let line = span.start.line() + offset;
        if skipping > 0 {
            match ev {
                Event::SequenceStart(_, anchor, _) | Event::MappingStart(_, anchor, _) => {
                    skipped_anchor |= anchor != 0;
                    skipping += 1;
                }
                Event::Scalar(_, _, anchor, _) => skipped_anchor |= anchor != 0,
                Event::SequenceEnd | Event::MappingEnd => {
                    skipping -= 1;
                    if skipping == 0 {
                        if let Some(Open::Map { key, .. }) = stack.last_mut() {
                            *key = None;
                        }
                    }
                }
                _ => {}
            }
            continue;
        }
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
                        message: if skipped_anchor {
                            "an alias names no anchor (anchors inside `metadata.managedFields` are not read)".into()
                        } else {
                            "an alias names no anchor".into()
                        },
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
                if is_unread_status_field(&stack) {
                    skipped_anchor |= anchor != 0;
                    if let Some(Open::Map { key, .. }) = stack.last_mut() {
                        *key = None;
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
                if is_managed_fields(&stack) || is_unread_status_field(&stack) {
                    skipped_anchor |= anchor != 0;
                    skipping = 1;
                    continue;
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
                        status: is_object_status(&stack),
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

/// The size of the pieces a large list is cut into.
const PIECE_BYTES: usize = 1 << 20;

/// Below this size a stream is parsed in one piece.
pub(crate) const SPLIT_MIN_BYTES: usize = 4 << 20;

/// Parses a stream as [`parse`] does, on every core when it is one large `kind: List` as
/// `kubectl get -o yaml` prints it; the result is identical (see [`split_list`]).
pub(crate) fn parse_parallel(text: &str) -> Result<Vec<Node>, YamlError> {
    if text.len() >= SPLIT_MIN_BYTES {
        if let Some(docs) = split_list(text, PIECE_BYTES) {
            return Ok(docs);
        }
    }
    parse(text)
}

/// One top-level `items:` block sequence, cut before each of its column-0 `- ` lines into
/// pieces parsed in parallel, then put back into the mapping around it.
///
/// Inside the sequence, every line at column 0 is either an item's `-`, a comment or the end
/// of the sequence: block content is indented, and a block scalar ends at a less indented
/// line. Only a quoted scalar or a flow collection could span such a line, and then the piece
/// before the cut ends inside it and fails to parse. So any piece that fails, a document
/// marker or directive anywhere, or an anchor used across pieces (an alias without its anchor)
/// sends the whole stream to the sequential parser, which gives its errors.
pub(crate) fn split_list(text: &str, piece_bytes: usize) -> Option<Vec<Node>> {
    use rayon::prelude::*;
    // (byte offset, line index) of each line start
    let mut items_line = None;
    let mut region: Option<(usize, usize)> = None; // byte range of the sequence's lines
    let mut starts: Vec<(usize, usize)> = Vec::new(); // item starts: (byte, 0-based line)
    let mut offset = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        let at = offset;
        offset += l.len();
        if l.starts_with("---") || l.starts_with("...") || l.starts_with('%') {
            return None;
        }
        match (items_line, region) {
            (None, _) => {
                if l.trim_end() == "items:" {
                    items_line = Some(i);
                }
            }
            (Some(_), Some((_, end))) if end < at => {}
            (Some(_), _) => {
                let t = l.trim_end();
                if t == "-" || l.starts_with("- ") {
                    starts.push((at, i));
                    region = Some((region.map_or(at, |r| r.0), offset));
                } else if t.is_empty() || l.starts_with(' ') || l.starts_with('#') {
                    if region.is_some() {
                        region = Some((region.map_or(at, |r| r.0), offset));
                    } else if !t.is_empty() && !t.trim_start().starts_with('#') {
                        return None; // an indented sequence: not kubectl's layout
                    }
                } else if region.is_some() {
                    // the first column-0 line after the sequence ends it
                    region = region.map(|(s, _)| (s, at.saturating_sub(1)));
                } else {
                    return None;
                }
            }
        }
    }
    let (items_line, (begin, end)) = (items_line?, region?);
    let end = end.min(text.len());
    if starts.len() < 2 {
        return None;
    }
    // pieces of about `piece_bytes`, cut at item starts
    let mut cuts = vec![starts.first()?.to_owned()];
    for &(at, line) in &starts {
        if at - cuts.last()?.0 >= piece_bytes {
            cuts.push((at, line));
        }
    }
    let pieces: Vec<(usize, usize, usize)> = cuts
        .iter()
        .enumerate()
        .map(|(k, &(at, line))| (at, cuts.get(k + 1).map_or(end, |c| c.0), line))
        .collect();
    let parsed: Vec<Option<Node>> = pieces
        .par_iter()
        .map(|&(from, to, line)| {
            let mut docs = parse_from(text.get(from..to)?, line).ok()?;
            match (docs.pop(), docs.is_empty()) {
                (
                    Some(
                        n @ Node {
                            value: NodeValue::Seq(_),
                            ..
                        },
                    ),
                    true,
                ) => Some(n),
                _ => None,
            }
        })
        .collect();
    // the mapping around the sequence, with the sequence's lines left blank (lines kept)
    let blank = "\n".repeat(text.get(begin..end)?.matches('\n').count());
    let outer = format!("{}{blank}{}", text.get(..begin)?, text.get(end..)?);
    let mut docs = parse(&outer).ok()?;
    let mut items = Vec::new();
    let mut first_line = 0;
    for piece in parsed {
        let Node {
            line,
            value: NodeValue::Seq(mut seq),
        } = piece?
        else {
            return None;
        };
        if first_line == 0 {
            first_line = line;
        }
        items.append(&mut seq);
    }
    let [doc] = docs.as_mut_slice() else {
        return None;
    };
    let NodeValue::Map(entries) = &mut doc.value else {
        return None;
    };
    let entry = entries
        .iter_mut()
        .find(|e| e.key == "items" && e.key_line == items_line + 1)?;
    if entry.value.value != NodeValue::Null {
        return None;
    }
    entry.value = Node {
        line: first_line,
        value: NodeValue::Seq(items),
    };
    Some(docs)
}

/// What netfence reads of an object's `status`: a pod's addresses.
pub(crate) const STATUS_READ: [&str; 6] = [
    "podIP",
    "podIPs",
    "hostIP",
    "hostIPs",
    "addresses",
    "nodeInfo",
];

/// Whether the mapping about to start is the `status` of an object (a mapping that has set
/// `apiVersion` or `kind` already, as every API server output does before `status`).
fn is_object_status(stack: &[Open]) -> bool {
    matches!(
        stack.last(),
        Some(Open::Map { key: Some((k, _)), entries, .. })
            if k == "status"
                && entries.iter().any(|e| e.key == "apiVersion" || e.key == "kind")
                && !entries.iter().any(|e| {
                    e.key == "kind"
                        && matches!(&e.value.value, NodeValue::Str(s) if STATUS_KINDS.contains(&s.as_str()))
                })
    )
}

/// Kinds whose whole `status` netfence reads (a certificate's readiness and expiry).
pub(crate) const STATUS_KINDS: [&str; 1] = ["Certificate"];

/// Whether the value about to start is a field of an object's `status` that netfence never
/// reads (the loader would drop it; it is not built at all).
fn is_unread_status_field(stack: &[Open]) -> bool {
    matches!(
        stack.last(),
        Some(Open::Map { key: Some((k, _)), status: true, .. }) if !STATUS_READ.contains(&k.as_str())
    )
}

/// Whether the value about to start is an object's `metadata.managedFields`: the API server's
/// field ownership records, which netfence never reads (so neither builds nor checks them).
fn is_managed_fields(stack: &[Open]) -> bool {
    fn key_of(o: Option<&Open>) -> Option<&str> {
        match o {
            Some(Open::Map {
                key: Some((k, _)), ..
            }) => Some(k.as_str()),
            _ => None,
        }
    }
    let n = stack.len();
    key_of(n.checked_sub(1).and_then(|i| stack.get(i))) == Some("managedFields")
        && key_of(n.checked_sub(2).and_then(|i| stack.get(i))) == Some("metadata")
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

#[cfg(test)]
mod split_tests {
    use super::*;

    /// A kubectl-style List of `n` items, each with a block scalar and a nested list.
    fn list(n: usize) -> String {
        let mut s = String::from("apiVersion: v1\nkind: List\nitems:\n");
        for i in 0..n {
            s.push_str(&format!(
                "- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: p{i}\n    annotations:\n      note: |\n        line one\n\n        - not an item\n    managedFields:\n    - manager: x\n      fieldsV1: {{\"f:spec\": {{}}}}\n  spec:\n    containers:\n    - name: c\n      ports:\n      - containerPort: 80\n# a comment\n\n"
            ));
        }
        s.push_str("metadata:\n  resourceVersion: \"\"\n");
        s
    }

    /// Every split parse equals the sequential parse, or does not happen.
    fn same(text: &str) -> bool {
        same_in(text, 4096)
    }

    /// [`same`] with pieces of `piece` bytes (1: a piece per item).
    fn same_in(text: &str, piece: usize) -> bool {
        let slow = parse(text).ok();
        match split_list(text, piece) {
            Some(fast) => {
                assert_eq!(Some(fast), slow, "split parse differs");
                true
            }
            None => false,
        }
    }

    #[test]
    fn a_kubectl_list_splits_to_the_sequential_tree() {
        let text = list(5000);
        assert!(text.len() > 1 << 20, "big enough for several pieces");
        assert!(same(&text));
        assert_eq!(parse_parallel(&text), parse(&text));
    }

    #[test]
    fn what_the_split_cannot_prove_goes_to_the_sequential_parser() {
        let big = list(3000);
        // an anchor used across pieces
        let anchored = big.replacen("name: p0\n", "name: &n p0\n", 1).replacen(
            "name: p2999\n",
            "name: *n\n",
            1,
        );
        assert!(!same(&anchored));
        // flow collections spanning lines
        let flow = big.replacen("name: p1500\n", "name: [a,\n- b]\n", 1);
        assert!(!same_in(&flow, 1));
        // a quoted scalar spanning a column-0 `- ` line
        let quoted = big.replacen("name: p1500\n", "name: \"p1500\n- x\"\n", 1);
        assert!(!same_in(&quoted, 1));
        // ... which parses alike when no cut falls inside it
        assert!(same_in(&quoted, 1 << 30));
        // a document marker
        assert!(!same(&format!("---\n{big}")));
        // an indented sequence, a stray column-0 line
        assert!(!same(&big.replace("\n- apiVersion", "\n  - apiVersion")));
        // `items:` that is not the mapping's own key
        let inside = "note: \"a\nitems:\n- b\n- c\n\"\n";
        assert!(!same(inside));
    }
}

#[cfg(test)]
mod status_tests {
    use super::*;

    #[test]
    fn an_objects_status_keeps_only_the_pod_addresses() {
        let text = "apiVersion: v1\nkind: Pod\nstatus:\n  phase: Running\n  podIP: 10.0.0.1\n  podIPs: [{ip: 10.0.0.1}]\n  conditions: [{type: Ready}]\n  hostIP: 192.168.0.1\n";
        let doc = parse(text).unwrap().remove(0).to_json();
        assert_eq!(
            doc["status"],
            serde_json::json!({"podIP": "10.0.0.1", "podIPs": [{"ip": "10.0.0.1"}], "hostIP": "192.168.0.1"})
        );
        // a `status` that is not an object's (no apiVersion or kind before it) is kept whole
        let other = parse("spec:\n  status: {phase: x}\n")
            .unwrap()
            .remove(0)
            .to_json();
        assert_eq!(other["spec"]["status"]["phase"], "x");
    }
}
