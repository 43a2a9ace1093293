//! A parsed document as a tree that keeps the line of every key and value.
//!
//! YAML is parsed once per stream into [`Node`]s by [`crate::yaml`] (documents split by the
//! parser, not by scanning for `---`); JSON is parsed by serde_json and located lazily, only
//! when an error needs a line. Repeated mapping keys are kept, so that the loader can name both
//! places.

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

    /// The JSON value of this mapping without entry `key` (of any other node: its value).
    pub fn to_json_without(&self, key: &str) -> Value {
        match &self.value {
            NodeValue::Map(entries) => {
                let mut m = serde_json::Map::with_capacity(entries.len());
                for e in entries.iter().filter(|e| e.key != key) {
                    m.insert(e.key.clone(), e.value.to_json());
                }
                Value::Object(m)
            }
            _ => self.to_json(),
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
        // paths are built only for a tree that has a duplicate
        if self.has_duplicate_keys() {
            self.collect_duplicates("", &mut out);
        }
        out
    }

    fn has_duplicate_keys(&self) -> bool {
        match &self.value {
            NodeValue::Seq(items) => items.iter().any(Node::has_duplicate_keys),
            NodeValue::Map(entries) => entries.iter().enumerate().any(|(i, e)| {
                entries.iter().take(i).any(|f| f.key == e.key) || e.value.has_duplicate_keys()
            }),
            _ => false,
        }
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
        let n = crate::yaml::parse(text).unwrap().remove(0);
        assert_eq!(n.line_of("spec.ingress"), 3);
        assert_eq!(n.line_of("spec.ingress[0]"), 4);
        assert_eq!(n.line_of("spec.ingress[0].from[0].podSelector"), 5);
        assert_eq!(n.line_of("spec.egress"), 6);
        // the deepest existing part
        assert_eq!(n.line_of("spec.egress[3].to"), 6);
        assert_eq!(n.to_json()["a"], 1);
    }
}
