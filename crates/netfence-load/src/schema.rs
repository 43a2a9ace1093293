//! Strict structural validation: every field of a document is checked against its kind's
//! schema, as the API server does with strict field validation (`kubectl apply`'s default
//! since Kubernetes 1.27) and CRD structural schemas.
//!
//! Built-in kinds take their schemas from k8s-openapi; the policy CRDs (Cilium, Calico, Istio,
//! AdminNetworkPolicy, OpenShift Route, audit Policy) are written in [`crate::crd_schema`] from
//! the upstream types. An unknown field or a value of the wrong type is an error with its path,
//! and a near miss is named (`did you mean `from`?`).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use serde_json::Value;

use crate::node::join_key;

/// The shape a value must have.
#[derive(Debug, Clone)]
pub(crate) enum Shape {
    /// Anything (free-form fields, `x-kubernetes-preserve-unknown-fields`).
    Any,
    Str,
    Int,
    /// An integer the API server holds in 32 bits (`format: int32`).
    Int32,
    Bool,
    Number,
    /// An integer or a string (`IntOrString`, Quantity).
    IntOrStr,
    List(Arc<Shape>),
    /// A mapping from any key to values of one shape (labels, `additionalProperties`).
    Map(Arc<Shape>),
    Obj(Arc<Obj>),
}

/// The fields of an object.
#[derive(Debug, Default)]
pub(crate) struct Obj {
    pub fields: Vec<(String, Shape)>,
}

impl Obj {
    fn field(&self, name: &str) -> Option<&Shape> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, s)| s)
    }
}

/// One structural problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub path: String,
    pub message: String,
    pub help: Option<String>,
    /// For an unknown field that differs from a known one only in case: the known name
    /// (Go's `encoding/json` reads it as that field; the API server's strict decoding does not).
    pub case_of: Option<String>,
}

/// At most this many problems are reported per object: the first ones say enough.
const MAX_PROBLEMS: usize = 20;

/// Checks `value` against `shape`; problems in document order.
pub(crate) fn check(value: &Value, shape: &Shape) -> Vec<Problem> {
    let mut out = Vec::new();
    walk(value, shape, &mut Vec::new(), &mut out);
    out
}

pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn wanted(shape: &Shape) -> &'static str {
    match shape {
        Shape::Any => "anything",
        Shape::Str => "a string",
        Shape::Int | Shape::Int32 => "an integer",
        Shape::Bool => "a boolean (true or false)",
        Shape::Number => "a number",
        Shape::IntOrStr => "an integer or a string",
        Shape::List(_) => "a list",
        Shape::Map(_) | Shape::Obj(_) => "a mapping",
    }
}

/// One step of the path being walked; formatted only when a problem is reported.
enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

fn path_text(path: &[Seg<'_>]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => out = join_key(&out, k),
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

fn walk<'a>(v: &'a Value, shape: &Shape, path: &mut Vec<Seg<'a>>, out: &mut Vec<Problem>) {
    if out.len() >= MAX_PROBLEMS {
        return;
    }
    // null is every field's zero value, as Go's decoders read it
    if v.is_null() {
        return;
    }
    let ok = match (shape, v) {
        (Shape::Any, _) => true,
        (Shape::Str, Value::String(_)) | (Shape::Bool, Value::Bool(_)) => true,
        (Shape::Int, Value::Number(n)) => n.is_i64() || n.is_u64(),
        (Shape::Int32, Value::Number(n)) => n.as_i64().is_some_and(|x| i32::try_from(x).is_ok()),
        (Shape::Number, Value::Number(_)) => true,
        (Shape::IntOrStr, Value::String(_)) => true,
        (Shape::IntOrStr, Value::Number(n)) => n.is_i64() || n.is_u64(),
        (Shape::List(item), Value::Array(items)) => {
            for (i, x) in items.iter().enumerate() {
                path.push(Seg::Index(i));
                walk(x, item, path, out);
                path.pop();
            }
            true
        }
        (Shape::Map(item), Value::Object(m)) => {
            for (k, x) in m {
                path.push(Seg::Key(k));
                walk(x, item, path, out);
                path.pop();
            }
            true
        }
        (Shape::Obj(obj), Value::Object(m)) => {
            for (k, x) in m {
                path.push(Seg::Key(k));
                match obj.field(k) {
                    Some(s) => walk(x, s, path, out),
                    None => {
                        if out.len() < MAX_PROBLEMS {
                            out.push(unknown_field(obj, k, path_text(path)));
                        }
                    }
                }
                path.pop();
            }
            true
        }
        _ => false,
    };
    if !ok && out.len() < MAX_PROBLEMS {
        let what = match v {
            Value::String(s) if matches!(shape, Shape::Int | Shape::Int32) => {
                format!("the string \"{s}\"")
            }
            Value::Number(n) if matches!(shape, Shape::Int | Shape::Int32 | Shape::IntOrStr) => {
                format!("the number {n}")
            }
            _ => type_name(v).to_string(),
        };
        let out_of_range =
            matches!((shape, v), (Shape::Int32, Value::Number(n)) if n.is_i64() || n.is_u64());
        out.push(Problem {
            path: path_text(path),
            message: if out_of_range {
                format!("{v} is outside the 32-bit integer range this field holds")
            } else {
                format!("must be {}, not {what}", wanted(shape))
            },
            help: match (shape, v) {
                (Shape::List(_), Value::String(_) | Value::Number(_) | Value::Bool(_)) => {
                    Some("write a one-element list: `[value]` or `- value`".into())
                }
                (Shape::Int | Shape::Int32, Value::String(_)) => {
                    Some("write the number without quotes".into())
                }
                (Shape::Str, Value::Number(_) | Value::Bool(_)) => {
                    Some("quote the value: the API server wants a string here".into())
                }
                _ => None,
            },
            case_of: None,
        });
    }
}

fn unknown_field(obj: &Obj, key: &str, path: String) -> Problem {
    let near = nearest(key, obj.fields.iter().map(|(n, _)| n.as_str()));
    let mut known: Vec<&str> = obj.fields.iter().map(|(n, _)| n.as_str()).collect();
    known.sort_unstable();
    let list = if known.len() <= 12 {
        format!("known fields here: {}", known.join(", "))
    } else {
        format!("{} fields are known here", known.len())
    };
    let case_of = obj
        .fields
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(key))
        .map(|(n, _)| n.clone());
    Problem {
        path,
        case_of,
        message: format!("unknown field `{key}`"),
        help: Some(match near {
            Some(n) => format!("did you mean `{n}`?"),
            None => list,
        }),
    }
}

/// The known name closest to `key` when it is a plausible misspelling (case-insensitive
/// equality, or an edit distance of at most a third of its length, at least 1 and at most 3).
pub(crate) fn nearest<'a>(key: &str, known: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let lower = key.to_lowercase();
    let limit = (key.chars().count() / 3).clamp(1, 3);
    known
        .map(|k| {
            let d = if k.to_lowercase() == lower {
                0
            } else {
                distance(&lower, &k.to_lowercase())
            };
            (d, k)
        })
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Damerau-Levenshtein distance (optimal string alignment) of two short strings.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    let at = |i: usize, j: usize| i * w + j;
    for i in 0..=a.len() {
        if let Some(x) = d.get_mut(at(i, 0)) {
            *x = i;
        }
    }
    for j in 0..=b.len() {
        if let Some(x) = d.get_mut(at(0, j)) {
            *x = j;
        }
    }
    let get =
        |d: &Vec<usize>, i: usize, j: usize| d.get(at(i, j)).copied().unwrap_or(usize::MAX / 2);
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let (ai, bj) = (a.get(i - 1), b.get(j - 1));
            let cost = usize::from(ai != bj);
            let mut best = (get(&d, i - 1, j) + 1)
                .min(get(&d, i, j - 1) + 1)
                .min(get(&d, i - 1, j - 1) + cost);
            if i > 1 && j > 1 && ai == b.get(j - 2) && a.get(i - 2) == bj {
                best = best.min(get(&d, i - 2, j - 2) + 1);
            }
            if let Some(x) = d.get_mut(at(i, j)) {
                *x = best;
            }
        }
    }
    get(&d, a.len(), b.len())
}

/// The shape of a built-in kind, from k8s-openapi's OpenAPI schema.
pub(crate) fn builtin<T: schemars::JsonSchema>() -> Shape {
    let settings = schemars::generate::SchemaSettings::draft2020_12();
    let generator = settings.into_generator();
    let root = generator.into_root_schema_for::<T>();
    let root = root.as_value();
    let defs = root
        .get("$defs")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut memo = HashMap::new();
    from_json_schema(root, &defs, &mut memo, &mut Vec::new())
}

/// The shape of a top-level built-in kind: its schema, with `status` free-form. The API
/// server owns `status` and ignores it on create and update, and older servers print
/// since-removed ones (NetworkPolicy's `status: {}`).
pub(crate) fn builtin_kind<T: schemars::JsonSchema>() -> Shape {
    let shape = builtin::<T>();
    match &shape {
        Shape::Obj(o) if o.field("status").is_none() => extend(&shape, [("status", Shape::Any)]),
        _ => shape,
    }
}

fn from_json_schema(
    s: &Value,
    defs: &serde_json::Map<String, Value>,
    memo: &mut HashMap<String, Shape>,
    stack: &mut Vec<String>,
) -> Shape {
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r).to_string();
        if let Some(done) = memo.get(&name) {
            return done.clone();
        }
        if stack.contains(&name) {
            return Shape::Any;
        }
        let Some(def) = defs.get(&name) else {
            return Shape::Any;
        };
        stack.push(name.clone());
        let shape = from_json_schema(def, defs, memo, stack);
        stack.pop();
        memo.insert(name, shape.clone());
        return shape;
    }
    if s.get("x-kubernetes-int-or-string").and_then(Value::as_bool) == Some(true) {
        return Shape::IntOrStr;
    }
    if s.get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        == Some(true)
    {
        return Shape::Any;
    }
    match s.get("type").and_then(Value::as_str) {
        Some("string") => Shape::Str,
        Some("integer") if s.get("format").and_then(Value::as_str) == Some("int32") => Shape::Int32,
        Some("integer") => Shape::Int,
        Some("number") => Shape::Number,
        Some("boolean") => Shape::Bool,
        Some("array") => Shape::List(Arc::new(
            s.get("items")
                .map_or(Shape::Any, |i| from_json_schema(i, defs, memo, stack)),
        )),
        Some("object") | None => {
            if let Some(props) = s.get("properties").and_then(Value::as_object) {
                let fields = props
                    .iter()
                    .map(|(k, p)| (k.clone(), from_json_schema(p, defs, memo, stack)))
                    .collect();
                Shape::Obj(Arc::new(Obj { fields }))
            } else if let Some(ap) = s.get("additionalProperties").filter(|a| a.is_object()) {
                Shape::Map(Arc::new(from_json_schema(ap, defs, memo, stack)))
            } else {
                Shape::Any
            }
        }
        Some(_) => Shape::Any,
    }
}

/// Builds an object shape from `(name, shape)` pairs.
pub(crate) fn obj<const N: usize>(fields: [(&str, Shape); N]) -> Shape {
    Shape::Obj(Arc::new(Obj {
        fields: fields
            .into_iter()
            .map(|(n, s)| (n.to_string(), s))
            .collect(),
    }))
}

/// A list of `item`.
pub(crate) fn list(item: Shape) -> Shape {
    Shape::List(Arc::new(item))
}

/// A mapping of any keys to `item`.
pub(crate) fn map(item: Shape) -> Shape {
    Shape::Map(Arc::new(item))
}

/// Adds fields to an object shape (for kinds that extend another's spec).
pub(crate) fn extend<const N: usize>(base: &Shape, more: [(&str, Shape); N]) -> Shape {
    let mut fields = match base {
        Shape::Obj(o) => o.fields.clone(),
        _ => Vec::new(),
    };
    fields.extend(more.into_iter().map(|(n, s)| (n.to_string(), s)));
    Shape::Obj(Arc::new(Obj { fields }))
}

/// Shapes built once per process.
pub(crate) struct Cache(OnceLock<Shape>);

impl Cache {
    /// An empty cache.
    pub(crate) const fn new() -> Self {
        Cache(OnceLock::new())
    }
    /// The shape, built on first use.
    pub(crate) fn get(&self, build: impl FnOnce() -> Shape) -> &Shape {
        self.0.get_or_init(build)
    }
}

/// Renames the key at `path` (its last step) to `to`, keeping the value.
pub(crate) fn rename_key(value: &mut Value, path: &str, to: &str) {
    use crate::node::{path_steps, Step};
    let steps = path_steps(path);
    let Some((Step::Key(last), parents)) = steps.split_last() else {
        return;
    };
    let mut cur = value;
    for step in parents {
        let next = match (cur, step) {
            (Value::Object(m), Step::Key(k)) => m.get_mut(*k),
            (Value::Array(a), Step::Index(i)) => a.get_mut(*i),
            _ => None,
        };
        match next {
            Some(n) => cur = n,
            None => return,
        }
    }
    if let Value::Object(m) = cur {
        if let Some(v) = m.remove(*last) {
            m.insert(to.to_string(), v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::networking::v1::NetworkPolicy;
    use serde_json::json;

    #[test]
    fn near_misses_are_named() {
        let known = ["from", "ports", "podSelector", "ingress", "matchLabels"];
        assert_eq!(nearest("form", known.into_iter()), Some("from"));
        assert_eq!(
            nearest("podSelectr", known.into_iter()),
            Some("podSelector")
        );
        assert_eq!(nearest("ingres", known.into_iter()), Some("ingress"));
        assert_eq!(
            nearest("matchLabel", known.into_iter()),
            Some("matchLabels")
        );
        assert_eq!(nearest("completelyelse", known.into_iter()), None);
    }

    #[test]
    fn network_policy_fields_are_strict() {
        let shape = builtin::<NetworkPolicy>();
        let v = json!({
            "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "p", "labels": {"a": "b"}, "managedFields": [{"fieldsV1": {"f:spec": {}}}]},
            "spec": {"podSelector": {}, "ingress": [{"form": [{"podSelector": {}}], "ports": [{"port": "http"}, {"port": 80}]}]}
        });
        let p = check(&v, &shape);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].path, "spec.ingress[0].form");
        assert_eq!(p[0].help.as_deref(), Some("did you mean `from`?"));
        let v =
            json!({"spec": {"podSelector": {"matchLabels": {"a": 1}}, "policyTypes": "Ingress"}});
        let p = check(&v, &shape);
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!(p[0].path, "spec.podSelector.matchLabels.a");
        assert_eq!(p[1].message, "must be a list, not a string");
    }
}
