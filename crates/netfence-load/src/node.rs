//! A parsed document as a tree that keeps the line of every key and value.
//!
//! YAML is parsed once per stream by serde-saphyr into [`Node`]s (documents split by the
//! parser, not by scanning for `---`); JSON is parsed by serde_json and located lazily, only
//! when an error needs a line. Repeated mapping keys are kept, so that the loader can name both
//! places.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// A value with the 1-based line it starts on (0 when unknown).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub line: usize,
    pub value: NodeValue,
}

/// The value of a [`Node`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum NodeValue {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    Str(String),
    Seq(Vec<Node>),
    /// Entries in input order, each with the line of its key; keys may repeat.
    Map(Vec<Entry>),
}

/// One mapping entry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub key: String,
    pub key_line: usize,
    pub value: Node,
}

impl Node {
    /// The JSON value of this node; of repeated keys the last wins (the loader reports them
    /// before conversion).
    pub fn to_json(&self) -> Value {
        match &self.value {
            NodeValue::Null => Value::Null,
            NodeValue::Bool(b) => Value::Bool(*b),
            NodeValue::Number(n) => Value::Number(n.clone()),
            NodeValue::Str(s) => Value::String(s.clone()),
            NodeValue::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeValue::Map(entries) => {
                let mut m = serde_json::Map::with_capacity(entries.len());
                for e in entries {
                    m.insert(e.key.clone(), e.value.to_json());
                }
                Value::Object(m)
            }
        }
    }

    /// The line of the field at `path` (`spec.ingress[0].from[1].podSelector`), or of the
    /// deepest part of it that exists: a key's own line for a mapping entry.
    pub fn line_of(&self, path: &str) -> usize {
        let mut cur = self;
        let mut line = self.line;
        for step in path_steps(path) {
            let next = match (&cur.value, step) {
                (NodeValue::Map(entries), Step::Key(k)) => entries
                    .iter()
                    .rev()
                    .find(|e| e.key == k)
                    .map(|e| (e.key_line, &e.value)),
                (NodeValue::Seq(items), Step::Index(i)) => items.get(i).map(|n| (n.line, n)),
                _ => None,
            };
            match next {
                Some((l, n)) => {
                    line = l;
                    cur = n;
                }
                None => break,
            }
        }
        line
    }

    /// Every key set twice in one mapping: `(path, key, first line, repeated line)`.
    pub fn duplicate_keys(&self) -> Vec<(String, String, usize, usize)> {
        let mut out = Vec::new();
        self.collect_duplicates("", &mut out);
        out
    }

    fn collect_duplicates(&self, path: &str, out: &mut Vec<(String, String, usize, usize)>) {
        match &self.value {
            NodeValue::Seq(items) => {
                for (i, n) in items.iter().enumerate() {
                    n.collect_duplicates(&format!("{path}[{i}]"), out);
                }
            }
            NodeValue::Map(entries) => {
                for (i, e) in entries.iter().enumerate() {
                    if let Some(first) = entries.iter().take(i).find(|f| f.key == e.key) {
                        out.push((
                            join_key(path, &e.key),
                            e.key.clone(),
                            first.key_line,
                            e.key_line,
                        ));
                    }
                    e.value.collect_duplicates(&join_key(path, &e.key), out);
                }
            }
            _ => {}
        }
    }

    /// The mapping entry named `key`, when this node is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            NodeValue::Map(entries) => entries
                .iter()
                .rev()
                .find(|e| e.key == key)
                .map(|e| &e.value),
            _ => None,
        }
    }
}

/// One step of a field path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// The steps of `a.b[2].c`; a key holding dots or brackets is written `["a.b"]`.
pub(crate) fn path_steps(path: &str) -> Vec<Step<'_>> {
    let mut out = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            rest = r;
            continue;
        }
        if let Some(r) = rest.strip_prefix("[\"") {
            let end = r.find("\"]").unwrap_or(r.len());
            out.push(Step::Key(r.get(..end).unwrap_or(r)));
            rest = r.get(end + 2..).unwrap_or("");
            continue;
        }
        if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']').unwrap_or(r.len());
            if let Ok(i) = r.get(..end).unwrap_or("").parse() {
                out.push(Step::Index(i));
            }
            rest = r.get(end + 1..).unwrap_or("");
            continue;
        }
        let end = rest.find(['.', '[']).unwrap_or(rest.len());
        out.push(Step::Key(rest.get(..end).unwrap_or(rest)));
        rest = rest.get(end..).unwrap_or("");
    }
    out
}

/// Appends a key to a field path, quoting keys that hold dots or brackets.
pub(crate) fn join_key(path: &str, key: &str) -> String {
    let quoted = key.contains(['.', '[', ']']);
    match (path.is_empty(), quoted) {
        (true, false) => key.to_string(),
        (true, true) => format!("[\"{key}\"]"),
        (false, false) => format!("{path}.{key}"),
        (false, true) => format!("{path}[\"{key}\"]"),
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = serde_saphyr::Spanned::<NodeValue>::deserialize(d)?;
        Ok(Node {
            line: s.referenced.line() as usize,
            value: s.value,
        })
    }
}

impl<'de> Deserialize<'de> for NodeValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = NodeValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Null)
    }
    fn visit_none<E>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<NodeValue, D::Error> {
        NodeValue::deserialize(d)
    }
    fn visit_bool<E>(self, b: bool) -> Result<NodeValue, E> {
        Ok(NodeValue::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> Result<NodeValue, E> {
        Ok(NodeValue::Number(n.into()))
    }
    fn visit_u64<E>(self, n: u64) -> Result<NodeValue, E> {
        Ok(NodeValue::Number(n.into()))
    }
    fn visit_i128<E: de::Error>(self, n: i128) -> Result<NodeValue, E> {
        i64::try_from(n)
            .map(|n| NodeValue::Number(n.into()))
            .map_err(|_| E::custom(format!("the integer {n} is too large")))
    }
    fn visit_u128<E: de::Error>(self, n: u128) -> Result<NodeValue, E> {
        u64::try_from(n)
            .map(|n| NodeValue::Number(n.into()))
            .map_err(|_| E::custom(format!("the integer {n} is too large")))
    }
    fn visit_f64<E>(self, n: f64) -> Result<NodeValue, E> {
        Ok(serde_json::Number::from_f64(n).map_or(NodeValue::Null, NodeValue::Number))
    }
    fn visit_str<E>(self, s: &str) -> Result<NodeValue, E> {
        Ok(NodeValue::Str(s.to_string()))
    }
    fn visit_string<E>(self, s: String) -> Result<NodeValue, E> {
        Ok(NodeValue::Str(s))
    }
    fn visit_bytes<E>(self, b: &[u8]) -> Result<NodeValue, E> {
        Ok(NodeValue::Str(String::from_utf8_lossy(b).into_owned()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NodeValue, A::Error> {
        let mut items = Vec::new();
        while let Some(n) = seq.next_element::<Node>()? {
            items.push(n);
        }
        Ok(NodeValue::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NodeValue, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<serde_saphyr::Spanned<Key>>()? {
            let value = map.next_value::<Node>()?;
            entries.push(Entry {
                key: key.value.0,
                key_line: key.referenced.line() as usize,
                value,
            });
        }
        Ok(NodeValue::Map(entries))
    }
}

/// A mapping key: YAML allows scalars of any type there; they are read as their text.
struct Key(String);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match NodeValue::deserialize(d)? {
            NodeValue::Str(s) => Ok(Key(s)),
            NodeValue::Number(n) => Ok(Key(n.to_string())),
            NodeValue::Bool(b) => Ok(Key(b.to_string())),
            NodeValue::Null => Ok(Key("null".into())),
            NodeValue::Seq(_) | NodeValue::Map(_) => Err(de::Error::custom(
                "a mapping key must be a plain value, not a list or mapping",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_into_keys_and_indexes() {
        assert_eq!(
            path_steps("spec.ingress[0].from[12][\"a.b/c\"]"),
            vec![
                Step::Key("spec"),
                Step::Key("ingress"),
                Step::Index(0),
                Step::Key("from"),
                Step::Index(12),
                Step::Key("a.b/c"),
            ]
        );
        assert_eq!(
            join_key("metadata.labels", "app.kubernetes.io/name"),
            "metadata.labels[\"app.kubernetes.io/name\"]"
        );
        assert_eq!(
            path_steps(&join_key("metadata.labels", "app.kubernetes.io/name")).len(),
            3
        );
    }

    #[test]
    fn lines_of_keys_and_items() {
        let text = "a: 1\nspec:\n  ingress:\n  - from:\n    - podSelector: {}\n  egress: []\n";
        let n: Node = serde_saphyr::from_str(text).unwrap();
        assert_eq!(n.line_of("spec.ingress"), 3);
        assert_eq!(n.line_of("spec.ingress[0]"), 4);
        assert_eq!(n.line_of("spec.ingress[0].from[0].podSelector"), 5);
        assert_eq!(n.line_of("spec.egress"), 6);
        // the deepest existing part
        assert_eq!(n.line_of("spec.egress[3].to"), 6);
        assert_eq!(n.to_json()["a"], 1);
    }
}
