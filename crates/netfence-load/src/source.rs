//! Input text and its documents: one parse per stream, every node with its line.

use serde_json::Value;

use crate::err::LoadError;
use crate::node::Node;

/// The largest input netfence reads from one file, in bytes (2 GiB).
pub const MAX_INPUT_BYTES: u64 = 2 << 30;

/// One input: a name for messages and its text.
#[derive(Debug, Clone)]
pub struct Source {
    /// The file name, or `<stdin>`.
    pub name: String,
    /// The text.
    pub text: String,
}

impl Source {
    /// Decodes the bytes of a file: UTF-8 (with or without a byte-order mark) or UTF-16 with
    /// a byte-order mark. Anything else is an error naming the first bad byte's line.
    pub fn from_bytes(name: &str, bytes: Vec<u8>) -> Result<Source, Box<LoadError>> {
        let err = |line: Option<usize>, message: String| {
            Box::new(LoadError {
                file: name.to_string(),
                document: 1,
                line,
                object: None,
                field: None,
                message,
                help: Some("save the file as UTF-8".into()),
            })
        };
        let utf16 = |be: bool, body: &[u8]| -> Result<String, Box<LoadError>> {
            if !body.len().is_multiple_of(2) {
                return Err(err(None, "invalid UTF-16: odd number of bytes".into()));
            }
            let units = body.chunks_exact(2).map(|c| match c {
                [a, b] if be => u16::from_be_bytes([*a, *b]),
                [a, b] => u16::from_le_bytes([*a, *b]),
                _ => 0,
            });
            char::decode_utf16(units)
                .collect::<Result<String, _>>()
                .map_err(|e| err(None, format!("invalid UTF-16: {e}")))
        };
        let text = match bytes.as_slice() {
            [0xFE, 0xFF, body @ ..] => utf16(true, body)?,
            [0xFF, 0xFE, body @ ..] => utf16(false, body)?,
            _ => match String::from_utf8(bytes) {
                Ok(t) => t,
                Err(e) => {
                    let at = e.utf8_error().valid_up_to();
                    let bytes = e.as_bytes();
                    let line = 1 + bytes.iter().take(at).filter(|b| **b == b'\n').count();
                    return Err(err(
                        Some(line),
                        format!("invalid UTF-8 at byte {at}: netfence reads UTF-8 or UTF-16 text"),
                    ));
                }
            },
        };
        let text = match text.strip_prefix('\u{feff}') {
            Some(t) => t.to_string(),
            None => text,
        };
        Ok(Source {
            name: name.to_string(),
            text,
        })
    }
}

/// One parsed document.
#[derive(Debug)]
pub(crate) struct Document<'s> {
    pub file: String,
    /// 1-based index in the file.
    pub index: usize,
    /// 1-based line of the document's first line.
    pub line: usize,
    pub body: Body<'s>,
}

/// A document's content as parsed.
#[derive(Debug)]
pub(crate) enum Body<'s> {
    /// JSON, located only when an error needs a line.
    Json(Value),
    /// A large JSON List (`kubectl get -o json`): the object around `items` (with `items`
    /// empty), and the text of each item, parsed on the core that converts it. An item that
    /// does not parse sends the whole source to the sequential parser.
    JsonList(Value, Vec<&'s str>),
    /// YAML with the line of every node; its JSON value is built per object, on the core that
    /// converts it.
    Yaml(Node),
}

/// One JSON value, no trailing text, no repeated key.
pub(crate) fn parse_strict(s: &str) -> Result<Value, serde_json::Error> {
    let mut d = serde_json::Deserializer::from_str(s);
    let v = serde::de::DeserializeSeed::deserialize(StrictVisitor::default(), &mut d)?;
    d.end()?;
    Ok(v)
}

fn looks_like_json(src: &Source) -> bool {
    src.name.ends_with(".json")
        || src.name.ends_with(".jsonl")
        || src.text.trim_start().starts_with(['{', '['])
}

fn must_be_json(src: &Source) -> bool {
    src.name.ends_with(".json") || src.name.ends_with(".jsonl")
}

/// The values of a JSON text: one value, or several separated by white space (JSON Lines),
/// each with its first line.
fn json_values(text: &str) -> Result<Vec<(usize, Value)>, serde_json::Error> {
    let mut out = Vec::new();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<StrictJson>();
    let mut offset = 0;
    let mut line = 1;
    while let Some(v) = stream.next() {
        let StrictJson(v) = v?;
        // the value starts after the white space that follows the previous one
        let start = text
            .get(offset..)
            .map(|rest| offset + (rest.len() - rest.trim_start().len()))
            .unwrap_or(offset);
        line += text
            .get(offset..start)
            .map_or(0, |s| s.bytes().filter(|b| *b == b'\n').count());
        let end = stream.byte_offset();
        out.push((line, v));
        line += text
            .get(start..end)
            .map_or(0, |s| s.bytes().filter(|b| *b == b'\n').count());
        offset = end;
    }
    Ok(out)
}

/// One JSON object with an `items` array (as `kubectl get -o json` prints a List), its items
/// found by a string-aware bracket scan: the object around them parsed, each item's text kept
/// for the core that converts it. `None` (parse sequentially, which gives the errors) unless
/// the text is exactly one such object and the part around the items parses.
pub(crate) fn split_json_list(text: &str) -> Option<(Value, Vec<&str>)> {
    let bytes = text.as_bytes();
    let (mut depth, mut in_str, mut escaped) = (0usize, false, false);
    let mut str_start = 0;
    let mut last_key: Option<(usize, usize)> = None; // the depth-1 string before a `:`
    let mut items: Option<(usize, usize)> = None; // byte range of the items array, brackets included
    let mut elements: Vec<&str> = Vec::new();
    let mut element_start: Option<usize> = None;
    let mut in_items = false;
    let mut end_of_value = None;
    let mut items_keys = 0;
    let mut after_comma = false;
    let mut element = |start: usize, end: usize| -> Option<()> {
        elements.push(text.get(start..end)?);
        Some(())
    };
    for (i, &b) in bytes.iter().enumerate() {
        if in_str {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => {
                    in_str = false;
                    if depth == 1 {
                        last_key = Some((str_start, i + 1));
                    }
                }
                _ => {}
            }
            continue;
        }
        if in_items
            && depth == 2
            && element_start.is_none()
            && !b.is_ascii_whitespace()
            && b != b']'
            && b != b','
        {
            element_start = Some(i);
        }
        match b {
            b'"' => {
                in_str = true;
                str_start = i;
            }
            b':' if depth == 1 => {
                let key = last_key.and_then(|(a, z)| text.get(a..z));
                if key == Some("\"items\"") {
                    items_keys += 1;
                    // the value must be an array
                    let rest = text.get(i + 1..)?;
                    let at = i + 1 + (rest.len() - rest.trim_start().len());
                    if bytes.get(at) != Some(&b'[') {
                        return None;
                    }
                    items = Some((at, at));
                }
            }
            b'{' | b'[' => {
                depth += 1;
                if depth == 2 && b == b'[' && items.is_some_and(|(a, _)| a == i) {
                    in_items = true;
                }
            }
            b'}' | b']' => {
                if in_items && depth == 2 {
                    match element_start.take() {
                        Some(s) => element(s, i)?,
                        // `[1, ]`: a comma with nothing after it
                        None if after_comma => return None,
                        None => {}
                    }
                    if b == b']' {
                        in_items = false;
                        items = items.map(|(a, _)| (a, i + 1));
                    }
                }
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    end_of_value = Some(i + 1);
                    break;
                }
            }
            b',' if in_items && depth == 2 => {
                element(element_start.take()?, i)?;
                after_comma = true;
            }
            _ => {}
        }
    }
    let (end, (a, z)) = (end_of_value?, items?);
    if items_keys != 1
        || z <= a
        || !text.get(end..)?.trim().is_empty()
        || !text.trim_start().starts_with('{')
    {
        return None;
    }
    let outer = parse_strict(&format!("{}[]{}", text.get(..a)?, text.get(z..)?)).ok()?;
    if !matches!(outer.get("items"), Some(Value::Array(_))) {
        return None;
    }
    Some((outer, elements))
}

/// A JSON value whose objects may not repeat a key (the API server's strict decoding refuses
/// them; serde_json would keep the last one silently).
struct StrictJson(Value);

impl<'de> serde::Deserialize<'de> for StrictJson {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor::default()).map(StrictJson)
    }
}

/// Reads a value; `metadata`: it is the value of a `metadata` key, whose `managedFields` are
/// skipped unbuilt, as the YAML reader skips them (netfence never reads them).
#[derive(Clone, Copy, Default)]
struct StrictVisitor {
    metadata: bool,
    /// The value of an object's `status`: only the pod addresses netfence reads are built,
    /// as the YAML reader builds them.
    status: bool,
}

impl<'de> serde::de::DeserializeSeed<'de> for StrictVisitor {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(Value::Number(n.into()))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(Value::Number(n.into()))
    }
    fn visit_f64<E>(self, n: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_string()))
    }
    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(StrictVisitor::default())? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut m = serde_json::Map::new();
        while let Some(k) = map.next_key::<String>()? {
            if (self.metadata && k == "managedFields")
                || (self.status && !crate::yaml::STATUS_READ.contains(&k.as_str()))
            {
                map.next_value::<serde::de::IgnoredAny>()?;
                continue;
            }
            let object = (m.contains_key("apiVersion") || m.contains_key("kind"))
                && !m
                    .get("kind")
                    .and_then(Value::as_str)
                    .is_some_and(|k| crate::yaml::STATUS_KINDS.contains(&k));
            let v = map.next_value_seed(StrictVisitor {
                metadata: k == "metadata",
                status: k == "status" && object,
            })?;
            if m.contains_key(&k) {
                return Err(serde::de::Error::custom(format!(
                    "duplicate key `{k}`: a JSON object sets it twice"
                )));
            }
            m.insert(k, v);
        }
        Ok(Value::Object(m))
    }
}

/// Tabs in the leading white space of every line replaced by one space each.
fn untab(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let rest = line.trim_start_matches([' ', '\t']);
        let lead = line.len() - rest.len();
        out.push_str(&line.get(..lead).unwrap_or("").replace('\t', " "));
        out.push_str(rest);
        out.push('\n');
    }
    out
}

/// Parses a source into documents, pushing parse errors.
///
/// With `split`, a large JSON List or YAML List is cut at its items (parsed in parallel, or
/// left to the converting cores); without, it is parsed in one pass, as when a cut piece fails.
pub(crate) fn documents<'s>(
    src: &'s Source,
    split: bool,
    errors: &mut Vec<LoadError>,
    warnings: &mut Vec<LoadError>,
) -> Vec<Document<'s>> {
    let at = |document: usize, line: Option<usize>, message: String| LoadError {
        file: src.name.clone(),
        document,
        line,
        object: None,
        field: None,
        message,
        help: None,
    };
    let large = split && src.text.len() >= crate::yaml::SPLIT_MIN_BYTES;
    if large && looks_like_json(src) {
        if let Some((outer, items)) = split_json_list(&src.text) {
            let lead = src.text.len() - src.text.trim_start().len();
            let line = 1 + src
                .text
                .get(..lead)
                .map_or(0, |ws| ws.matches('\n').count());
            return vec![Document {
                file: src.name.clone(),
                index: 1,
                line,
                body: Body::JsonList(outer, items),
            }];
        }
    }
    if looks_like_json(src) {
        match json_values(&src.text) {
            Ok(values) => {
                return values
                    .into_iter()
                    .filter(|(_, v)| !v.is_null())
                    .enumerate()
                    .map(|(i, (line, value))| Document {
                        file: src.name.clone(),
                        index: i + 1,
                        line,
                        body: Body::Json(value),
                    })
                    .collect()
            }
            Err(e) if must_be_json(src) => {
                errors.push(at(1, Some(e.line()), format!("invalid JSON: {e}")));
                return Vec::new();
            }
            // YAML flow style (`{a: b}`) also starts with a brace
            Err(_) => {}
        }
    }
    let mut parsed = if large {
        crate::yaml::parse_parallel(&src.text)
    } else {
        crate::yaml::parse(&src.text)
    };
    if parsed
        .as_ref()
        .is_err_and(|e| e.message.to_lowercase().contains("tab"))
    {
        // Go's YAML parser (and so kubectl) reads a tab in front of a flow-collection entry;
        // do the same, and say so.
        if let Ok(nodes) = crate::yaml::parse(&untab(&src.text)) {
            warnings.push(LoadError {
                help: Some("YAML forbids tabs in indentation; replace them with spaces".into()),
                ..at(
                    1,
                    None,
                    "tab characters in indentation were read as spaces".into(),
                )
            });
            parsed = Ok(nodes);
        }
    }
    let to_documents = |nodes: Vec<Node>| -> Vec<Document> {
        nodes
            .into_iter()
            .filter(|n| n.value != crate::node::NodeValue::Null)
            .enumerate()
            .map(|(i, node)| Document {
                file: src.name.clone(),
                index: i + 1,
                line: node.line.max(1),
                body: Body::Yaml(node),
            })
            .collect()
    };
    match parsed {
        Ok(nodes) => to_documents(nodes),
        Err(e) => {
            let line = e.line.filter(|l| *l > 0);
            // the document holding the error: count the document markers before it
            let document = line.map_or(1, |l| document_of_line(&src.text, l));
            // The documents before the broken one still parse on their own, so their own
            // problems are reported too (the parser cannot resume after a syntax error).
            let before = line
                .and_then(|l| last_marker_before(&src.text, l))
                .and_then(|end| crate::yaml::parse(src.text.get(..end).unwrap_or("")).ok())
                .map(to_documents)
                .unwrap_or_default();
            errors.push(at(document, line, format!("invalid YAML: {}", e.message)));
            before
        }
    }
}

/// The byte offset of the last `---` line before 1-based `line`.
fn last_marker_before(text: &str, line: usize) -> Option<usize> {
    let mut offset = 0;
    let mut found = None;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 >= line {
            break;
        }
        if l.starts_with("---") {
            found = Some(offset);
        }
        offset += l.len();
    }
    found
}

/// The 1-based document a line belongs to, counting `---` markers before it (for messages
/// only: the parse itself never splits on them).
fn document_of_line(text: &str, line: usize) -> usize {
    let mut doc = 1;
    let mut content = false;
    for l in text.lines().take(line.saturating_sub(1)) {
        if l.starts_with("---") && content {
            doc += 1;
            content = false;
        } else if !l.trim().is_empty() && !l.trim_start().starts_with('#') && !l.starts_with('%') {
            content = true;
        }
    }
    doc
}

/// Lines for a JSON document's nodes, found by parsing its text as YAML (JSON is YAML); only
/// called when an error needs them.
pub(crate) fn locate_json(text: &str) -> Vec<Node> {
    crate::yaml::parse(text).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs(name: &str, text: &str) -> (Vec<Document<'static>>, Vec<LoadError>) {
        let mut errors = Vec::new();
        let src = Box::leak(Box::new(Source {
            name: name.into(),
            text: text.into(),
        }));
        let d = documents(src, true, &mut errors, &mut Vec::new());
        (d, errors)
    }

    #[test]
    fn documents_keep_their_first_line() {
        let (d, e) = docs(
            "x.yaml",
            "a: 1\n---\n# only a comment\n---\n# about b\n\nb: 2\nc: 3\n",
        );
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].line, 1);
        assert_eq!(d[1].line, 7);
    }

    #[test]
    fn block_scalars_may_hold_document_markers() {
        let (d, e) = docs("x.yaml", "a: |\n  ---\n  text\nb: 2\n---\nc: 3\n");
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(d.len(), 2);
        let Body::Yaml(n) = &d[0].body else {
            panic!("a YAML document")
        };
        assert_eq!(n.to_json()["a"], "---\ntext\n");
    }

    #[test]
    fn yaml_errors_point_at_the_absolute_line() {
        let (d, e) = docs("x.yaml", "a: 1\n---\nb: [\n");
        assert_eq!(
            d.len(),
            1,
            "the documents before a broken one are still read"
        );
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].document, 2, "{e:?}");
        assert!(e[0].line.unwrap() >= 3, "{:?}", e[0]);
    }

    #[test]
    fn flow_style_yaml_and_json_lines() {
        let (d, e) = docs("x.yaml", "{a: 1, b: [x]}\n---\nc: 2\n");
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(d.len(), 2);
        let (d, e) = docs("x.jsonl", "{\"a\": 1}\n{\"b\": 2}\n\n{\"c\": 3}\n");
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(d.iter().map(|d| d.line).collect::<Vec<_>>(), vec![1, 2, 4]);
    }

    #[test]
    fn byte_order_marks_and_utf16_are_read() {
        let s = Source::from_bytes("x.json", b"\xEF\xBB\xBF{\"a\": 1}".to_vec()).unwrap();
        assert_eq!(s.text, "{\"a\": 1}");
        let mut utf16 = vec![0xFF, 0xFE];
        utf16.extend("a: 1\n".encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(Source::from_bytes("x.yaml", utf16).unwrap().text, "a: 1\n");
        let bad = Source::from_bytes("x.yaml", b"a: 1\nb: \xFF\n".to_vec()).unwrap_err();
        assert_eq!(bad.line, Some(2));
    }
}

#[cfg(test)]
mod json_split_tests {
    use super::*;

    fn sequential(text: &str) -> Option<Value> {
        let mut d = serde_json::Deserializer::from_str(text);
        let v = serde::de::DeserializeSeed::deserialize(StrictVisitor::default(), &mut d).ok()?;
        d.end().ok()?;
        Some(v)
    }

    fn list(items: &[&str]) -> String {
        format!(
            "{{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"List\",\n  \"items\": [\n{}\n  ],\n  \"metadata\": {{\"resourceVersion\": \"\"}}\n}}\n",
            items.join(",\n")
        )
    }

    #[test]
    fn a_json_list_splits_to_the_sequential_value() {
        let tricky = [
            r#"{"kind": "Pod", "metadata": {"name": "a", "annotations": {"x": "] , [ } { \" \\"}}}"#,
            r#"{"kind": "Pod", "metadata": {"name": "b", "managedFields": [{"f:x": {}}]}, "items": [1, 2]}"#,
            r#"  [ "not", {"an": "object"} ]  "#,
            r#""a string item with \\\" quotes""#,
            "42",
            "null",
            r#"{"kind": "Pod", "metadata": {"name": "\u00e9t\u00e9"}}"#,
        ];
        let text = list(&tricky);
        let (mut outer, items) = split_json_list(&text).expect("splits");
        assert_eq!(items.len(), tricky.len());
        for (k, item) in items.iter().enumerate() {
            assert_eq!(item.trim(), tricky[k].trim());
        }
        let parsed: Vec<Value> = items.iter().map(|i| parse_strict(i).unwrap()).collect();
        outer["items"] = Value::Array(parsed);
        assert_eq!(Some(outer.clone()), sequential(&text));
        // managedFields are skipped unbuilt in both
        assert_eq!(outer["items"][1]["metadata"].get("managedFields"), None);
    }

    #[test]
    fn what_the_scan_cannot_prove_is_parsed_sequentially() {
        let ok = list(&[r#"{"a": 1}"#, r#"{"b": 2}"#]);
        assert!(split_json_list(&ok).is_some());
        // two values (JSON Lines), trailing text, an `items` that is not an array
        assert!(split_json_list(&format!("{ok}{ok}")).is_none());
        assert!(split_json_list(&format!("{ok} x")).is_none());
        assert!(split_json_list(r#"{"items": {"a": [1]}}"#).is_none());
        // `items` twice: the sequential parser reports the duplicate key
        let twice = ok.replacen("\"kind\"", "\"items\": [],\n  \"kind\"", 1);
        assert!(split_json_list(&twice).is_none());
        assert!(sequential(&twice).is_none());
        // a broken item or a repeated key in one is found when the item is parsed
        for broken in [r#"{"a": }"#, r#"{"a": 1, "a": 2}"#] {
            let text = list(&["1", broken]);
            let (_, items) = split_json_list(&text).expect("the scan alone does not parse items");
            assert!(parse_strict(items[0]).is_ok());
            assert!(parse_strict(items[1]).is_err(), "{broken}");
        }
        // and the one-pass parse fails on it too (what the fuzz target checks)
        assert!(crate::fuzzing::json_split_agrees(&list(&[
            "1",
            r#"{"a": 1, "a": 2}"#
        ])));
        assert!(crate::fuzzing::json_split_agrees(&ok));
        // an empty element, a top-level array
        assert!(split_json_list(&list(&["1", ""])).is_none());
        assert!(split_json_list("[{\"items\": [1]}]").is_none());
        // a key `items` inside a string or deeper is not the list's
        let nested = r#"{"kind": "x", "s": "\"items\": [", "spec": {"items": [1, 2]}}"#;
        assert!(split_json_list(nested).is_none());
    }
}
