//! Documents to model objects, by kind.

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::{core::v1 as core, networking::v1 as net};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use netfence_model::cluster::{IngressBackend, ServicePort, NAMESPACE_NAME_LABEL};
use netfence_model::{
    AdminPolicy, Cluster, Endpoint, IpSet, LabelSelector, Namespace, NetworkPolicy, NpPeer, NpPort,
    NpRule, Origin, PortRef, Protocol, Service,
};
use netfence_model::{AuditLevel, AuditPolicy, AuditResources, AuditRule, Policy};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::err::LoadError;
use crate::kinds::{self, Kind};
use crate::node::Node;
use crate::node::NodeValue;
use crate::source::{parse_strict, Body, Document};
use crate::{admin, calico, cilium, crd_schema, istio, names, schema, selector, workload, Loaded};

#[derive(Default)]
pub(crate) struct Builder {
    pub cluster: Cluster,
    pub errors: Vec<LoadError>,
    pub warnings: Vec<LoadError>,
    pub skipped: Vec<(Origin, String, String)>,
    seen_endpoints: HashMap<String, usize>,
    /// Every object by (kind, namespace, name), with where it was first seen.
    seen_objects: HashMap<ObjectKey, Place>,
    /// The keys of `seen_objects` in input order (merging stays deterministic).
    seen_order: Vec<ObjectKey>,
    referenced_namespaces: Vec<String>,
    /// An item of a JSON List cut at its items did not parse: the source is parsed again in
    /// one pass, which reports the error as any invalid JSON.
    pub split_failed: bool,
}

/// List items converted by one task.
const LIST_CHUNK: usize = 256;

/// Context for errors about one object.
pub(crate) struct Ctx<'a> {
    pub file: &'a str,
    pub document: usize,
    pub line: usize,
    pub object: String,
    /// The object's tree, for the line of a field (absent for JSON until an error needs it).
    pub node: Option<&'a Node>,
    /// The path of the object inside its document (`items[3]` in a list), `""` at the top.
    pub prefix: String,
}

impl Ctx<'_> {
    pub(crate) fn err(
        &self,
        field: Option<String>,
        message: String,
        help: Option<&str>,
    ) -> LoadError {
        let line = match (&field, self.node) {
            (Some(f), Some(n)) => n.line_of(f),
            (None, Some(n)) => n.line,
            _ => 0,
        };
        LoadError {
            file: self.file.to_string(),
            document: self.document,
            line: Some(if line == 0 { self.line } else { line }),
            object: Some(self.object.clone()),
            field: field.map(|f| match self.prefix.as_str() {
                "" => f,
                p => format!("{p}.{f}"),
            }),
            message,
            help: help.map(str::to_string),
        }
    }
    /// The line of a field of this object.
    pub(crate) fn line_of(&self, field: &str) -> Option<usize> {
        self.node.map(|n| n.line_of(field)).filter(|l| *l > 0)
    }
    fn origin(&self) -> Origin {
        Origin {
            file: self.file.to_string(),
            document: self.document.saturating_sub(1),
            line: Some(self.line),
        }
    }
}

/// Drops what the API server adds and netfence never reads (checked already by the schema):
/// `managedFields`, and a pod's or node's status but for its addresses. It is most of a `kubectl get -o
/// yaml` dump, and the typed conversion would copy it.
fn strip_server_fields(value: &mut Value, k: Kind) {
    let Some(m) = value.as_object_mut() else {
        return;
    };
    if let Some(meta) = m.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
    if let Some(status) = m.get_mut("status").and_then(Value::as_object_mut) {
        if k == Kind::Pod {
            status
                .retain(|key, _| matches!(key.as_str(), "podIP" | "podIPs" | "hostIP" | "hostIPs"));
        } else if k == Kind::Node {
            status.retain(|key, _| key == "addresses" || key == "nodeInfo");
        } else if k == Kind::Certificate {
            status.retain(|key, _| key == "conditions" || key == "notAfter");
        } else {
            status.clear();
        }
    }
}

/// A serde message in netfence's words (the schema check catches shapes first, so what is
/// left is mostly ranges and formats).
fn serde_message(m: &str) -> String {
    if let Some(rest) = m.strip_prefix("invalid value: integer `") {
        let n = rest.split('`').next().unwrap_or_default();
        if m.contains("expected i32") {
            return format!("{n} is outside the 32-bit integer range this field holds");
        }
        if m.contains("expected i64") || m.contains("expected u64") {
            return format!("{n} is outside the 64-bit integer range this field holds");
        }
        return format!("{n} is out of range for this field");
    }
    if m.starts_with("premature end of input") || m.contains("failed to parse") {
        return format!("invalid value: {m}");
    }
    m.to_string()
}

/// The elements of list `key` of `v` (of `v` itself when `key` is empty); none when it is
/// not a list.
fn list_of<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    let list = if key.is_empty() { Some(v) } else { v.get(key) };
    list.and_then(Value::as_array).into_iter().flatten()
}

/// `(kind, namespace, name)` of an object: two objects with one key are one object twice.
type ObjectKey = (String, String, String);

/// Where an object was read: file, document, line, path inside the document.
#[derive(Debug, Clone)]
struct Place {
    file: String,
    document: usize,
    line: usize,
    /// Path inside the document (`items[3]`).
    prefix: String,
    /// How many errors the builder held once this object was converted: where a merge puts
    /// the error about a later duplicate of it, so errors stay in input order.
    errors_after: usize,
    /// A policy (a duplicate is an error) rather than inventory (a warning).
    policy: bool,
}

/// The kind part of an object's identity: Calico's NetworkPolicy is not Kubernetes'.
fn kind_key(k: Kind, kind: &str) -> String {
    match k {
        Kind::CalicoPolicy { .. }
        | Kind::CalicoTier
        | Kind::CalicoNetworkSet { .. }
        | Kind::StagedNetworkPolicy => {
            format!("projectcalico.org/{kind}")
        }
        _ => kind.to_string(),
    }
}

/// `Kind ns/name` (or `Kind name` when cluster-scoped) for messages.
fn object_name(key: &ObjectKey) -> String {
    let kind = key.0.trim_start_matches("projectcalico.org/");
    if key.1.is_empty() {
        format!("{kind} {}", key.2)
    } else {
        format!("{kind} {}/{}", key.1, key.2)
    }
}

fn duplicate_error(ctx: &Ctx<'_>, key: &ObjectKey, first: &Place) -> LoadError {
    let (file, doc, line, path) = (&first.file, first.document, first.line, &first.prefix);
    let inside = if path.is_empty() {
        String::new()
    } else {
        format!(" at `{path}`")
    };
    ctx.err(
        None,
        format!(
            "{} `{}` is defined twice: first in {file}:{line} (document {doc}{inside})",
            key.0.trim_start_matches("projectcalico.org/"),
            if key.1.is_empty() {
                key.2.clone()
            } else {
                format!("{}/{}", key.1, key.2)
            }
        ),
        Some(if first.policy {
            "a cluster holds one object per kind, namespace and name, and netfence cannot know which of the two it holds: keep one"
        } else {
            "a cluster holds one object per kind, namespace and name: both definitions are analysed (as netpol-analyzer does); keep one"
        }),
    )
}

/// An object's `metadata.labels` (checked by the schema already: string values).
pub(crate) fn metadata_labels(value: &Value) -> netfence_model::Labels {
    value
        .get("metadata")
        .and_then(|m| m.get("labels"))
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// An object to convert: a JSON value, a YAML node whose value is built when it is converted,
/// or the text of a JSON List's item, parsed when it is converted.
pub(crate) enum Tree<'n> {
    Value(Value),
    Node(&'n Node),
    Text(&'n str),
    /// A JSON List whose `items` are texts (`items` is empty in the value).
    List(Value, Vec<&'n str>),
}

impl<'n> Tree<'n> {
    fn node(&self) -> Option<&'n Node> {
        match self {
            Tree::Node(n) => Some(n),
            Tree::Value(_) | Tree::Text(_) | Tree::List(..) => None,
        }
    }
}

/// The node of element `i` of a list (`key` names the list's field; `None`: the node is the list).
fn item_node<'a>(n: &'a Node, key: Option<&str>, i: usize) -> Option<&'a Node> {
    let list = match key {
        Some(k) => n.get(k)?,
        None => n,
    };
    match &list.value {
        crate::node::NodeValue::Seq(items) => items.get(i),
        _ => None,
    }
}

/// `prefix.key`, or `key` at the top.
fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else if key.starts_with('[') {
        format!("{prefix}{key}")
    } else {
        format!("{prefix}.{key}")
    }
}

/// An audit.k8s.io Policy: its rules, with the levels the API server accepts.
fn audit_policy(v: &Value, name: &str, origin: Origin) -> Result<AuditPolicy, (String, String)> {
    let strings = |x: Option<&Value>| -> Vec<String> {
        x.and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut rules = Vec::new();
    for (i, r) in v
        .get("rules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let level = match r.get("level").and_then(Value::as_str) {
            Some("None") => AuditLevel::None,
            Some("Metadata") => AuditLevel::Metadata,
            Some("Request") => AuditLevel::Request,
            Some("RequestResponse") => AuditLevel::RequestResponse,
            other => {
                return Err((
                    format!("rules[{i}].level"),
                    format!(
                        "unknown audit level `{}` (None, Metadata, Request or RequestResponse)",
                        other.unwrap_or("")
                    ),
                ))
            }
        };
        let resources: Vec<AuditResources> = r
            .get("resources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|g| AuditResources {
                group: g
                    .get("group")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                resources: strings(g.get("resources")),
            })
            .collect();
        let non_resource = !strings(r.get("nonResourceURLs")).is_empty();
        rules.push(AuditRule {
            level,
            verbs: strings(r.get("verbs")),
            non_resource_only: non_resource && resources.is_empty(),
            resources,
            restricted: !strings(r.get("users")).is_empty()
                || !strings(r.get("userGroups")).is_empty()
                || !strings(r.get("namespaces")).is_empty(),
        });
    }
    Ok(AuditPolicy {
        name: name.to_string(),
        rules,
        origin,
    })
}

/// `metadata.annotations` of an object, as strings.
fn annotations_of(v: &Value) -> BTreeMap<String, String> {
    v.pointer("/metadata/annotations")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

fn str_field<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str()
}

impl Builder {
    pub(crate) fn add_document(&mut self, doc: Document) {
        let Document {
            file,
            index,
            line,
            body,
        } = doc;
        let node = match body {
            Body::Json(value) => {
                self.add_value(&file, index, line, Tree::Value(value), String::new(), None);
                return;
            }
            Body::JsonList(outer, items) => {
                let tree = Tree::List(outer, items);
                self.add_value(&file, index, line, tree, String::new(), None);
                return;
            }
            Body::Yaml(node) => node,
        };
        let duplicates = node.duplicate_keys();
        if !duplicates.is_empty() {
            // YAML forbids it, and which one the cluster got depends on the client: refuse
            // the document rather than guess.
            for (path, key, first, again) in duplicates {
                self.errors.push(LoadError {
                    file: file.clone(),
                    document: index,
                    line: Some(again),
                    object: None,
                    field: Some(path),
                    message: format!("duplicate key `{key}` at line {again} was already set at line {first}"),
                    help: Some("a mapping key appears twice; YAML keeps only one of them, so merge the two entries".into()),
                });
            }
            return;
        }
        self.add_value(&file, index, line, Tree::Node(&node), String::new(), None);
    }

    /// Adds one object; `list_type` is the `(apiVersion, kind)` implied by an enclosing typed
    /// list (`NetworkPolicyList` items carry neither).
    #[allow(clippy::too_many_arguments)]
    fn add_value(
        &mut self,
        file: &str,
        index: usize,
        line: usize,
        tree: Tree<'_>,
        prefix: String,
        list_type: Option<(&str, &str)>,
    ) {
        let bare = |message: String, field: Option<String>, help: Option<String>| LoadError {
            file: file.to_string(),
            document: index,
            line: Some(line),
            object: None,
            field,
            message,
            help,
        };
        let node = tree.node();
        // A YAML list's items stay nodes, and a large JSON List's items texts, until the core
        // that converts them builds their value.
        let mut item_texts = None;
        let (value, item_nodes) = match tree {
            Tree::Value(v) => (v, None),
            Tree::Text(item) => match parse_strict(item) {
                Ok(v) => (v, None),
                Err(_) => {
                    self.split_failed = true;
                    return;
                }
            },
            Tree::List(v, items) => {
                item_texts = Some(items);
                (v, None)
            }
            Tree::Node(n) => match (&n.value, n.get("items")) {
                (
                    NodeValue::Map(_),
                    Some(
                        items @ Node {
                            value: NodeValue::Seq(_),
                            ..
                        },
                    ),
                ) => (n.to_json_without("items"), Some(items)),
                _ => (n.to_json(), None),
            },
        };
        let value = match value {
            Value::Array(items) => {
                // a JSON array of objects
                for (i, item) in items.into_iter().enumerate() {
                    let tree = match node.and_then(|n| item_node(n, None, i)) {
                        Some(n) => Tree::Node(n),
                        None => Tree::Value(item),
                    };
                    let l = tree.node().map_or(line, |n| n.line);
                    self.add_value(file, index, l, tree, format!("{prefix}[{i}]"), list_type);
                }
                return;
            }
            Value::Object(_) => value,
            other => {
                self.errors.push(bare(
                    format!(
                        "a document must be a Kubernetes object (a mapping with `apiVersion` and `kind`), not {}",
                        crate::schema::type_name(&other)
                    ),
                    (!prefix.is_empty()).then(|| prefix.clone()),
                    None,
                ));
                return;
            }
        };
        let kind_v = value.get("kind");
        let api_v = value.get("apiVersion");
        for (key, v) in [("kind", kind_v), ("apiVersion", api_v)] {
            if let Some(v) = v.filter(|v| !v.is_string() && !v.is_null()) {
                self.errors.push(LoadError {
                    line: node.map(|n| n.line_of(key)).or(Some(line)),
                    ..bare(
                        format!(
                            "`{key}` must be a string, not {}",
                            crate::schema::type_name(v)
                        ),
                        Some(join(&prefix, key)),
                        None,
                    )
                });
                return;
            }
        }
        let (kind, api) = match (kind_v.and_then(Value::as_str), list_type) {
            (Some(k), _) => (
                k.to_string(),
                api_v
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            ),
            (None, Some((a, k))) => (
                k.to_string(),
                api_v.and_then(Value::as_str).unwrap_or(a).to_string(),
            ),
            (None, None) => (
                String::new(),
                api_v
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            ),
        };
        let is_list = kind.ends_with("List")
            || (kind.is_empty() && (value.get("items").is_some() || item_nodes.is_some()));
        let mut value = value;
        if !is_list {
            if let (Some(items), Some(m)) = (item_nodes, value.as_object_mut()) {
                m.insert("items".into(), items.to_json());
            }
            if let (Some(items), Some(m)) = (item_texts.take(), value.as_object_mut()) {
                let mut parsed = Vec::with_capacity(items.len());
                for item in items {
                    match parse_strict(item) {
                        Ok(v) => parsed.push(v),
                        Err(_) => {
                            self.split_failed = true;
                            return;
                        }
                    }
                }
                m.insert("items".into(), Value::Array(parsed));
            }
        }
        if is_list {
            let inner = kind.strip_suffix("List").filter(|k| !k.is_empty());
            let items: Option<Vec<Tree<'_>>> = match (item_nodes, item_texts) {
                (_, Some(texts)) => Some(texts.into_iter().map(Tree::Text).collect()),
                (
                    Some(Node {
                        value: NodeValue::Seq(items),
                        ..
                    }),
                    _,
                ) => Some(items.iter().map(Tree::Node).collect()),
                _ => match value.as_object_mut().and_then(|m| m.remove("items")) {
                    None | Some(Value::Null) => None,
                    Some(Value::Array(items)) => Some(items.into_iter().map(Tree::Value).collect()),
                    Some(other) => {
                        self.errors.push(LoadError {
                            line: node.map(|n| n.line_of("items")).or(Some(line)),
                            ..bare(
                                format!(
                                    "`items` of a {} must be a list, not {}",
                                    if kind.is_empty() { "List" } else { &kind },
                                    crate::schema::type_name(&other)
                                ),
                                Some(join(&prefix, "items")),
                                Some("each object of the list is an element of `items`".into()),
                            )
                        });
                        return;
                    }
                },
            };
            let inherited = inner.map(|k| (api.as_str(), k));
            // Items convert on every core, in chunks whose partial models are merged in input
            // order: the result is that of a sequential load.
            let mut chunks: Vec<Vec<Tree<'_>>> = Vec::new();
            let mut items = items.unwrap_or_default().into_iter();
            loop {
                let chunk: Vec<Tree<'_>> = items.by_ref().take(LIST_CHUNK).collect();
                if chunk.is_empty() {
                    break;
                }
                chunks.push(chunk);
            }
            use rayon::prelude::*;
            let parts: Vec<Builder> = chunks
                .into_par_iter()
                .enumerate()
                .map(|(c, chunk)| {
                    let mut b = Builder::default();
                    for (k, item) in chunk.into_iter().enumerate() {
                        let i = c * LIST_CHUNK + k;
                        let l = item.node().map_or(line, |n| n.line);
                        b.add_value(
                            file,
                            index,
                            l,
                            item,
                            join(&prefix, &format!("items[{i}]")),
                            inherited,
                        );
                    }
                    b
                })
                .collect();
            for part in parts {
                self.merge(part);
            }
            return;
        }
        let name = str_field(&value, &["metadata", "name"])
            .unwrap_or_default()
            .to_string();
        let ns = str_field(&value, &["metadata", "namespace"])
            .unwrap_or("default")
            .to_string();
        let mut ctx = Ctx {
            file,
            document: index,
            line,
            object: if kind.is_empty() {
                "object without `kind`".to_string()
            } else {
                format!("{kind} {ns}/{name}")
            },
            node,
            prefix,
        };
        if kind.is_empty() {
            self.errors.push(ctx.err(
                Some("kind".into()),
                "the object has no `kind`".into(),
                Some("every Kubernetes object needs `apiVersion` and `kind`"),
            ));
            return;
        }
        let k = match kinds::classify(&api, &kind) {
            // of the ConfigMaps, only the Cilium agent's configuration is read
            kinds::Class::Read(kinds::Kind::ConfigMap)
                if !(name == "cilium-config" && ns == "kube-system") =>
            {
                self.skipped
                    .push((ctx.origin(), kind, format!("{ns}/{name}")));
                return;
            }
            // of the Secrets, only Istio's CA certificates are read (never their keys)
            kinds::Class::Read(kinds::Kind::Secret)
                if !crate::x509::is_istio_ca_secret(&ns, &name) =>
            {
                self.skipped
                    .push((ctx.origin(), kind, format!("{ns}/{name}")));
                return;
            }
            kinds::Class::Read(k) => k,
            kinds::Class::Skip => {
                self.skipped
                    .push((ctx.origin(), kind, format!("{ns}/{name}")));
                return;
            }
            kinds::Class::Refuse(field, message, help) => {
                self.errors
                    .push(ctx.err(Some(field.to_string()), message, help.as_deref()));
                return;
            }
        };
        if !k.namespaced() {
            ctx.object = format!("{kind} {name}");
        }
        // Structure first: an unknown field or a wrong type stops this object.
        let mut value = value;
        let problems = schema::check(&value, crd_schema::of(k, &kind));
        if !problems.is_empty() {
            let mut refused = false;
            for p in problems {
                match p.case_of {
                    // Workloads are read as Go's case-insensitive decoders (and so
                    // netpol-analyzer) read them; a policy is never guessed at.
                    Some(known) if !k.is_policy() => {
                        schema::rename_key(&mut value, &p.path, &known);
                        self.warnings.push(ctx.err(
                            Some(p.path),
                            format!("{}: read as `{known}`, as Go's case-insensitive decoding does; the API server's strict validation rejects it", p.message),
                            Some(&format!("write `{known}`")),
                        ));
                    }
                    _ => {
                        refused = true;
                        self.errors
                            .push(ctx.err(Some(p.path), p.message, p.help.as_deref()));
                    }
                }
            }
            if refused {
                return;
            }
        }
        if !self.metadata_ok(&ctx, &value, k, &kind) {
            return;
        }
        strip_server_fields(&mut value, k);
        let ns_key = if k.namespaced() { ns.as_str() } else { "" };
        let key = (kind_key(k, &kind), ns_key.to_string(), name.clone());
        if k.is_policy() || k == Kind::Certificate || k == Kind::Secret {
            // netfence's own annotations (suppressions), whatever the dialect keeps of metadata
            let ours: netfence_model::Labels = value
                .pointer("/metadata/annotations")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .filter(|(a, _)| a.starts_with("netfence.dev/"))
                .filter_map(|(a, v)| Some((a.clone(), v.as_str()?.to_string())))
                .collect();
            if !ours.is_empty() {
                self.cluster.object_annotations.insert(key.clone(), ours);
            }
        }
        self.convert(k, &kind, &ctx, value, name, ns);
        let here = Place {
            file: file.to_string(),
            document: index,
            line: ctx.line,
            prefix: ctx.prefix.clone(),
            errors_after: self.errors.len(),
            policy: k.is_policy(),
        };
        // After the conversion, as a merge of partial models finds it: a parallel load reports
        // the same errors in the same order as a sequential one.
        match self.seen_objects.get(&key) {
            Some(first) if first.policy => self.errors.push(duplicate_error(&ctx, &key, first)),
            Some(first) => self.warnings.push(duplicate_error(&ctx, &key, first)),
            None => {
                self.seen_order.push(key.clone());
                self.seen_objects.insert(key, here);
            }
        }
    }

    /// Converts one checked object of a kind netfence reads into the model.
    fn convert(
        &mut self,
        k: Kind,
        kind: &str,
        ctx: &Ctx<'_>,
        value: Value,
        name: String,
        ns: String,
    ) {
        match k {
            Kind::Namespace => {
                if let Some(n) = self.typed::<core::Namespace>(ctx, value) {
                    let mut labels: BTreeMap<String, String> =
                        n.metadata.labels.clone().unwrap_or_default();
                    labels.insert(NAMESPACE_NAME_LABEL.to_string(), name.clone());
                    self.cluster.namespaces.insert(
                        name.clone(),
                        Namespace {
                            name,
                            labels,
                            annotations: n.metadata.annotations.clone().unwrap_or_default(),
                            origin: Some(ctx.origin()),
                        },
                    );
                }
            }
            Kind::Certificate => {
                let status = value.get("status");
                let ready = status
                    .and_then(|s| s.get("conditions"))
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .find(|c| c.get("type").and_then(Value::as_str) == Some("Ready"));
                self.cluster
                    .certificates
                    .push(netfence_model::cluster::Certificate {
                        source: netfence_model::cluster::CertificateSource::CertManager,
                        namespace: ns.clone(),
                        name: name.clone(),
                        ready: ready
                            .and_then(|c| c.get("status"))
                            .and_then(Value::as_str)
                            .map(|s| s == "True"),
                        message: ready
                            .and_then(|c| c.get("message"))
                            .and_then(Value::as_str)
                            .map(str::to_string),
                        not_after: status
                            .and_then(|s| s.get("notAfter"))
                            .and_then(Value::as_str)
                            .map(str::to_string),
                        origin: ctx.origin(),
                    });
            }
            Kind::Secret => {
                if let Some(secret) = self.typed::<core::Secret>(ctx, value) {
                    match crate::x509::earliest_not_after(&secret) {
                        Ok(not_after) => {
                            self.cluster
                                .certificates
                                .push(netfence_model::cluster::Certificate {
                                    source:
                                        netfence_model::cluster::CertificateSource::IstioCaSecret,
                                    namespace: ns.clone(),
                                    name: name.clone(),
                                    ready: None,
                                    message: None,
                                    not_after,
                                    origin: ctx.origin(),
                                })
                        }
                        Err((field, message)) => self.errors.push(ctx.err(
                            Some(field),
                            message,
                            Some("the key must hold PEM X.509 certificates (`istioctl` and `openssl x509 -noout -enddate` read it)"),
                        )),
                    }
                }
            }
            Kind::ConfigMap => {
                // only the Cilium agent's configuration decides anything netfence reports
                if name == "cilium-config" && ns == "kube-system" {
                    if let Some(cm) = self.typed::<core::ConfigMap>(ctx, value) {
                        self.cluster.cilium_config = Some(netfence_model::cluster::AgentConfig {
                            data: cm.data.unwrap_or_default(),
                            origin: ctx.origin(),
                        });
                    }
                }
            }
            Kind::Node => {
                if let Some(n) = self.typed::<core::Node>(ctx, value) {
                    let addresses = n
                        .status
                        .iter()
                        .flat_map(|s| s.addresses.iter().flatten())
                        .filter(|a| a.type_ == "InternalIP" || a.type_ == "ExternalIP")
                        .filter_map(|a| a.address.parse().ok())
                        .collect();
                    let kubelet_version = n
                        .status
                        .as_ref()
                        .and_then(|s| s.node_info.as_ref())
                        .map(|i| i.kubelet_version.clone())
                        .filter(|v| !v.is_empty());
                    self.cluster.nodes.push(netfence_model::Node {
                        name,
                        labels: n.metadata.labels.clone().unwrap_or_default(),
                        addresses,
                        kubelet_version,
                        origin: ctx.origin(),
                    });
                }
            }
            Kind::Pod => {
                if let Some(p) = self.typed::<workload::Pod>(ctx, value) {
                    let owner = p
                        .metadata
                        .owner_references
                        .iter()
                        .flatten()
                        .find(|o| o.controller.unwrap_or(false))
                        .or_else(|| p.metadata.owner_references.iter().flatten().next());
                    // Static pods are "owned" by their Node: they are workloads of their own.
                    let (wname, wkind) = match owner {
                        Some(o) if o.kind == "Node" => (name.clone(), "Pod".to_string()),
                        Some(o) if o.kind.is_empty() => (o.name.clone(), "Pod".to_string()),
                        Some(o) => (o.name.clone(), o.kind.clone()),
                        None => (name.clone(), "Pod".to_string()),
                    };
                    let mut ep = workload::endpoint(
                        &ns,
                        &wname,
                        &wkind,
                        p.metadata.labels.as_ref(),
                        p.spec.as_ref(),
                        p.status.as_ref(),
                        ctx.origin(),
                    );
                    ep.pods.push(name.clone());
                    ep.annotations = p.metadata.annotations.clone().unwrap_or_default();
                    self.push_endpoint(ep);
                }
            }
            Kind::Workload => self.template(
                ctx,
                &value,
                value.pointer("/spec/template"),
                &ns,
                &name,
                kind,
            ),
            Kind::CronJob => self.template(
                ctx,
                &value,
                value.pointer("/spec/jobTemplate/spec/template"),
                &ns,
                &name,
                kind,
            ),
            Kind::Service => {
                if let Some(s) = self.typed::<core::Service>(ctx, value) {
                    self.service(ctx, s, &ns, &name);
                }
            }
            Kind::NetworkPolicy => {
                if let Some(np) = self.typed::<net::NetworkPolicy>(ctx, value) {
                    self.referenced_namespaces.push(ns.clone());
                    match network_policy(&np, &ns, &name, ctx) {
                        Ok(mut p) => {
                            for (key, rules) in
                                [("ingress", &mut p.ingress), ("egress", &mut p.egress)]
                            {
                                for (i, r) in rules.iter_mut().flatten().enumerate() {
                                    r.line = ctx.line_of(&format!("spec.{key}[{i}]"));
                                }
                            }
                            if has_v6_block(&p) {
                                self.warnings.push(ctx.err(
                                    None,
                                    "IPv6 ipBlock CIDRs are not modelled (external ranges are IPv4); they match no external range".into(),
                                    None,
                                ));
                            }
                            self.add_policy(Policy::Kubernetes(p))
                        }
                        Err((field, msg, help)) => {
                            self.errors.push(ctx.err(Some(field), msg, help))
                        }
                    }
                }
            }
            Kind::StagedNetworkPolicy => self.staged_network_policy(ctx, value, &ns, &name),
            Kind::AdminPolicy { baseline } => self.admin_policy(ctx, value, &name, baseline),
            Kind::ClusterNetworkPolicy => self.cluster_network_policy(ctx, value, &name),
            Kind::Ingress => {
                if let Some(i) = self.typed::<net::Ingress>(ctx, value) {
                    self.ingress(i, &ns, &name);
                }
            }
            Kind::Route => self.route(&value, &ns, &name),
            Kind::CalicoPolicy { global, staged } => {
                let namespace = (!global).then_some(ns.as_str());
                let mut warnings = Vec::new();
                match calico::policy(
                    &value,
                    &name,
                    namespace,
                    staged,
                    ctx.origin(),
                    &mut warnings,
                ) {
                    Ok(p) => {
                        if let Some(ns) = &p.namespace {
                            self.referenced_namespaces.push(ns.clone());
                        }
                        self.add_policy(Policy::Calico(p))
                    }
                    Err((field, msg)) => self.errors.push(ctx.err(Some(field), msg, None)),
                }
                for (field, msg) in warnings {
                    self.warnings.push(ctx.err(Some(field), msg, None));
                }
            }
            Kind::CalicoNetworkSet { global } => {
                let namespace = (!global).then_some(ns.as_str());
                match calico::network_set(&value, &name, namespace, ctx.origin()) {
                    Ok(set) => {
                        if !global {
                            self.referenced_namespaces.push(ns.clone());
                        }
                        self.add_policy(Policy::CalicoNetworkSet(set))
                    }
                    Err((field, msg)) => self.errors.push(ctx.err(Some(field), msg, None)),
                }
            }
            Kind::CiliumCidrGroup => match cilium::cidr_group(&value, &name, ctx.origin()) {
                Ok(g) => self.add_policy(Policy::CiliumCidrGroup(g)),
                Err((field, msg)) => self.errors.push(ctx.err(Some(field), msg, None)),
            },
            Kind::CalicoTier => match calico::tier(&value, &name, ctx.origin()) {
                Ok(t) => self.add_policy(Policy::CalicoTier(t)),
                Err((field, msg)) => self.errors.push(ctx.err(Some(field), msg, None)),
            },
            Kind::PeerAuthentication => {
                match istio::peer_authentication(&value, &name, &ns, ctx.origin()) {
                    Ok(p) => {
                        self.referenced_namespaces.push(ns.clone());
                        self.add_policy(Policy::PeerAuthentication(p))
                    }
                    Err((field, msg)) => self.errors.push(ctx.err(Some(field), msg, None)),
                }
            }
            Kind::AuthorizationPolicy => {
                match istio::authorization_policy(&value, &name, &ns, ctx.origin()) {
                    Ok(p) => {
                        self.referenced_namespaces.push(ns.clone());
                        self.add_policy(Policy::Authorization(p))
                    }
                    Err((field, msg)) => self.errors.push(ctx.err(Some(field), msg, None)),
                }
            }
            Kind::CiliumPolicy { clusterwide } => {
                let namespace = (!clusterwide).then_some(ns.as_str());
                let mut warnings = Vec::new();
                match cilium::policy(&value, &name, namespace, ctx.origin(), &mut warnings) {
                    Ok(p) => {
                        if let Some(ns) = &p.namespace {
                            self.referenced_namespaces.push(ns.clone());
                        }
                        self.add_policy(Policy::Cilium(p))
                    }
                    Err((field, msg)) => self.errors.push(ctx.err(Some(field), msg, None)),
                }
                for (field, msg) in warnings {
                    self.warnings.push(ctx.err(Some(field), msg, None));
                }
            }
            Kind::AuditPolicy => match audit_policy(&value, &name, ctx.origin()) {
                Ok(p) => self.add_policy(Policy::Audit(p)),
                Err((field, msg)) => self.errors.push(ctx.err(Some(field), msg, None)),
            },
        }
    }

    /// Checks names, namespace, labels and ports as the API server does; false when the
    /// object is refused.
    fn metadata_ok(&mut self, ctx: &Ctx<'_>, value: &Value, k: Kind, kind: &str) -> bool {
        let before = self.errors.len();
        let meta = value.get("metadata");
        let name = meta.and_then(|m| m.get("name")).and_then(Value::as_str);
        match name {
            None if k == Kind::AuditPolicy => {}
            None | Some("") => self.errors.push(ctx.err(
                Some("metadata.name".into()),
                format!("the {kind} has no `metadata.name`"),
                Some("every object needs a name (`generateName` is only for objects the API server creates)"),
            )),
            Some(n) => {
                let check = match k {
                    Kind::Namespace => names::dns1123_label(n),
                    Kind::Service => names::dns1035_label(n),
                    _ => names::dns1123_subdomain(n),
                };
                if let (Kind::Namespace, Err(m)) = (k, &check) {
                    // a namespace's name is a label every namespace selector can read
                    self.errors.push(ctx.err(
                        Some("metadata.name".into()),
                        format!("namespace name `{}` {m}", names::shorten(n)),
                        None,
                    ));
                } else if let Err(m) = check {
                    // A name decides no verdict: flagged, and the object analysed anyway.
                    self.warnings.push(ctx.err(
                        Some("metadata.name".into()),
                        format!("name `{}` {m}: the API server rejects it", names::shorten(n)),
                        None,
                    ));
                }
            }
        }
        if let Some(ns) = meta
            .and_then(|m| m.get("namespace"))
            .and_then(Value::as_str)
        {
            if !k.namespaced() {
                self.warnings.push(ctx.err(
                    Some("metadata.namespace".into()),
                    format!("a {kind} is cluster-scoped: its `metadata.namespace` is ignored"),
                    None,
                ));
            } else if let Err(m) = names::dns1123_label(ns) {
                self.errors.push(ctx.err(
                    Some("metadata.namespace".into()),
                    format!("namespace `{}` {m}", names::shorten(ns)),
                    None,
                ));
            }
        }
        let label_maps = [
            ("metadata.labels", meta.and_then(|m| m.get("labels"))),
            (
                "spec.template.metadata.labels",
                value.pointer("/spec/template/metadata/labels"),
            ),
            (
                "spec.jobTemplate.spec.template.metadata.labels",
                value.pointer("/spec/jobTemplate/spec/template/metadata/labels"),
            ),
        ];
        for (path, labels) in label_maps {
            for (key, v) in labels.and_then(Value::as_object).into_iter().flatten() {
                let field = crate::node::join_key(path, key);
                if let Err(m) = names::qualified_name(key) {
                    self.errors.push(ctx.err(
                        Some(field.clone()),
                        format!("label key `{}` is invalid: {m}", names::shorten(key)),
                        None,
                    ));
                }
                if let Some(Err(m)) = v.as_str().map(names::label_value) {
                    self.errors.push(ctx.err(
                        Some(field),
                        format!("the value of label `{}` {m}", names::shorten(key)),
                        None,
                    ));
                }
            }
        }
        for (path, spec) in [
            (
                "spec",
                (k == Kind::Pod).then(|| value.get("spec")).flatten(),
            ),
            ("spec.template.spec", value.pointer("/spec/template/spec")),
            (
                "spec.jobTemplate.spec.template.spec",
                value.pointer("/spec/jobTemplate/spec/template/spec"),
            ),
        ] {
            let Some(spec) = spec else { continue };
            for list in ["containers", "initContainers"] {
                for (ci, c) in list_of(spec, list).enumerate() {
                    for (pi, p) in list_of(c, "ports").enumerate() {
                        for (key, min) in [("containerPort", 1), ("hostPort", 0)] {
                            let Some(n) = p.get(key).and_then(Value::as_i64) else {
                                continue;
                            };
                            if !(min..=65535).contains(&n) {
                                self.errors.push(ctx.err(
                                    Some(format!("{path}.{list}[{ci}].ports[{pi}].{key}")),
                                    format!("{key} {n} is outside {}-65535", min.max(1)),
                                    None,
                                ));
                            }
                        }
                    }
                }
            }
        }
        if k == Kind::Service {
            for (i, p) in value
                .pointer("/spec/ports")
                .into_iter()
                .flat_map(|ports| list_of(ports, ""))
                .enumerate()
            {
                if let Some(n) = p
                    .get("port")
                    .and_then(Value::as_i64)
                    .filter(|n| !(1..=65535).contains(n))
                {
                    self.errors.push(ctx.err(
                        Some(format!("spec.ports[{i}].port")),
                        format!("port {n} is outside 1-65535"),
                        None,
                    ));
                }
                match p.get("targetPort") {
                    Some(Value::Number(n))
                        if !n.as_i64().is_some_and(|n| (1..=65535).contains(&n)) =>
                    {
                        self.errors.push(ctx.err(
                            Some(format!("spec.ports[{i}].targetPort")),
                            format!("targetPort {n} is outside 1-65535"),
                            None,
                        ))
                    }
                    Some(Value::String(s)) if !is_iana_svc_name(s) => self.errors.push(ctx.err(
                        Some(format!("spec.ports[{i}].targetPort")),
                        format!("targetPort `{s}` is neither a port number nor a valid port name"),
                        None,
                    )),
                    _ => {}
                }
            }
        }
        self.errors.len() == before
    }

    fn typed<T: DeserializeOwned>(&mut self, ctx: &Ctx<'_>, value: Value) -> Option<T> {
        match serde_path_to_error::deserialize::<_, T>(value) {
            Ok(t) => Some(t),
            Err(e) => {
                let path = e.path().to_string();
                let message = serde_message(&e.into_inner().to_string());
                self.errors.push(ctx.err(Some(path), message, None));
                None
            }
        }
    }

    /// Adds an endpoint; pods of a workload already present join it (the first pod's labels
    /// and ports stand for the workload, as netpol-analyzer does).
    fn push_endpoint(&mut self, ep: Endpoint) {
        match self.seen_endpoints.get(&ep.display_name()) {
            Some(&i) => {
                if let Some(existing) = self.cluster.endpoints.get_mut(i) {
                    existing.pods.extend(ep.pods);
                }
            }
            None => {
                self.seen_endpoints
                    .insert(ep.display_name(), self.cluster.endpoints.len());
                self.referenced_namespaces.push(ep.namespace.clone());
                self.cluster.endpoints.push(ep);
            }
        }
    }

    fn template(
        &mut self,
        ctx: &Ctx<'_>,
        value: &Value,
        tmpl: Option<&Value>,
        ns: &str,
        name: &str,
        kind: &str,
    ) {
        let tmpl = match tmpl {
            Some(v) => match serde_path_to_error::deserialize::<_, workload::PodTemplateSpec>(v) {
                Ok(t) => Some(t),
                Err(e) => {
                    let path = format!("spec.template.{}", e.path());
                    self.errors
                        .push(ctx.err(Some(path), e.into_inner().to_string(), None));
                    return;
                }
            },
            None => None,
        };
        let labels = tmpl
            .as_ref()
            .and_then(|t| t.metadata.as_ref())
            .and_then(|m| m.labels.as_ref());
        let ep = workload::endpoint(
            ns,
            name,
            kind,
            labels,
            tmpl.as_ref().and_then(|t| t.spec.as_ref()),
            None,
            ctx.origin(),
        );
        let mut ep = ep;
        // The pod template's annotations (sidecar injection) under the workload's own
        // (suppressions).
        ep.annotations = tmpl
            .as_ref()
            .and_then(|t| t.metadata.as_ref())
            .and_then(|m| m.annotations.clone())
            .unwrap_or_default();
        ep.annotations.extend(annotations_of(value));
        self.push_endpoint(ep);
    }

    /// A StagedKubernetesNetworkPolicy: its `stagedAction` checked, its spec read as a
    /// NetworkPolicy's, kept apart (it never changes traffic).
    fn staged_network_policy(&mut self, ctx: &Ctx<'_>, mut value: Value, ns: &str, name: &str) {
        let action = value
            .pointer_mut("/spec")
            .and_then(Value::as_object_mut)
            .and_then(|spec| spec.remove("stagedAction"));
        match action.as_ref().map(|a| a.as_str()) {
            None | Some(Some("Set" | "Delete" | "Learn" | "Ignore")) => {}
            Some(other) => {
                self.errors.push(ctx.err(
                    Some("spec.stagedAction".into()),
                    format!(
                        "{}: expected Set, Delete, Learn or Ignore",
                        other.map_or("not a string".to_string(), |o| format!(
                            "unknown action `{o}`"
                        ))
                    ),
                    None,
                ));
                return;
            }
        }
        if let Some(obj) = value.as_object_mut() {
            obj.insert("apiVersion".into(), "networking.k8s.io/v1".into());
            obj.insert("kind".into(), "NetworkPolicy".into());
        }
        let Some(np) = self.typed::<net::NetworkPolicy>(ctx, value) else {
            return;
        };
        match network_policy(&np, ns, name, ctx) {
            Ok(p) => self.add_policy(Policy::StagedKubernetes(p)),
            Err((field, msg, help)) => self.errors.push(ctx.err(Some(field), msg, help)),
        }
    }

    fn service(&mut self, ctx: &Ctx<'_>, s: core::Service, ns: &str, name: &str) {
        let spec = s.spec.unwrap_or_default();
        let mut ports = Vec::new();
        for p in spec.ports.iter().flatten() {
            let Ok(port) = u16::try_from(p.port) else {
                continue;
            };
            let target = match &p.target_port {
                None => PortRef::Number(port),
                Some(IntOrString::Int(n)) => PortRef::Number(u16::try_from(*n).unwrap_or(port)),
                Some(IntOrString::String(s)) => PortRef::Name(s.clone()),
            };
            ports.push(ServicePort {
                name: p.name.clone(),
                port,
                target,
                protocol: p
                    .protocol
                    .as_deref()
                    .and_then(Protocol::parse)
                    .unwrap_or(Protocol::Tcp),
            });
        }
        let mut cluster_ips: Vec<std::net::IpAddr> = Vec::new();
        for ip in spec
            .cluster_ips
            .iter()
            .flatten()
            .chain(spec.cluster_ip.iter())
        {
            // `None` (headless) and empty strings hold no address
            if let Ok(a) = ip.parse() {
                if !cluster_ips.contains(&a) {
                    cluster_ips.push(a);
                }
            }
        }
        self.cluster.services.push(Service {
            namespace: ns.to_string(),
            name: name.to_string(),
            selector: spec.selector,
            ports,
            cluster_ips,
            origin: ctx.origin(),
        });
    }

    fn ingress(&mut self, i: net::Ingress, ns: &str, name: &str) {
        let spec = i.spec.unwrap_or_default();
        let mut backends = Vec::new();
        if let Some(b) = spec
            .default_backend
            .as_ref()
            .and_then(|b| b.service.as_ref())
        {
            backends.push(b.clone());
        }
        for r in spec.rules.iter().flatten() {
            for p in r.http.iter().flat_map(|h| h.paths.iter()) {
                if let Some(s) = &p.backend.service {
                    backends.push(s.clone());
                }
            }
        }
        for b in backends {
            let port = b.port.as_ref().and_then(|p| match (&p.number, &p.name) {
                (Some(n), _) => u16::try_from(*n).ok().map(PortRef::Number),
                (None, Some(s)) => Some(PortRef::Name(s.clone())),
                _ => None,
            });
            self.cluster.ingress_backends.push(IngressBackend {
                kind: "Ingress".into(),
                object: format!("{ns}/{name}"),
                namespace: ns.to_string(),
                service: b.name.clone(),
                port,
            });
        }
    }

    fn route(&mut self, value: &Value, ns: &str, name: &str) {
        let spec = value.get("spec");
        let port = spec
            .and_then(|s| s.get("port"))
            .and_then(|p| p.get("targetPort"))
            .and_then(|t| match t {
                Value::Number(n) => n
                    .as_u64()
                    .and_then(|n| u16::try_from(n).ok())
                    .map(PortRef::Number),
                Value::String(s) => Some(PortRef::Name(s.clone())),
                _ => None,
            });
        let mut targets: Vec<&Value> = spec.and_then(|s| s.get("to")).into_iter().collect();
        if let Some(Value::Array(alts)) = spec.and_then(|s| s.get("alternateBackends")) {
            targets.extend(alts.iter());
        }
        for t in targets {
            if let Some(svc) = t.get("name").and_then(Value::as_str) {
                self.cluster.ingress_backends.push(IngressBackend {
                    kind: "Route".into(),
                    object: format!("{ns}/{name}"),
                    namespace: ns.to_string(),
                    service: svc.to_string(),
                    port: port.clone(),
                });
            }
        }
    }

    fn admin_policy(&mut self, ctx: &Ctx<'_>, value: Value, name: &str, baseline: bool) {
        let spec = if baseline {
            let Some(b) = self.typed::<admin::BaselineAdminNetworkPolicy>(ctx, value) else {
                return;
            };
            (None, b.spec.subject, b.spec.ingress, b.spec.egress)
        } else {
            let Some(a) = self.typed::<admin::AdminNetworkPolicy>(ctx, value) else {
                return;
            };
            (
                Some(a.spec.priority),
                a.spec.subject,
                a.spec.ingress,
                a.spec.egress,
            )
        };
        let (spec_priority, spec_subject, spec_ingress, spec_egress) = spec;
        let mut warnings = Vec::new();
        let mut build = || -> Result<AdminPolicy, String> {
            let subject = admin::subject(&spec_subject)?;
            let ingress = spec_ingress
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    admin::rule(
                        r,
                        netfence_model::Direction::Ingress,
                        baseline,
                        i,
                        &mut warnings,
                    )
                })
                .collect::<Result<Vec<_>, _>>()?;
            let egress = spec_egress
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    admin::rule(
                        r,
                        netfence_model::Direction::Egress,
                        baseline,
                        i,
                        &mut warnings,
                    )
                })
                .collect::<Result<Vec<_>, _>>()?;
            let priority = if baseline {
                None
            } else {
                match spec_priority {
                    Some(p) if (0..=1000).contains(&p) => Some(p),
                    Some(p) => return Err(format!("priority {p} is outside 0-1000")),
                    None => return Err("priority is required".into()),
                }
            };
            Ok(AdminPolicy {
                kind: if baseline {
                    netfence_model::AdminKind::BaselineAdminNetworkPolicy
                } else {
                    netfence_model::AdminKind::AdminNetworkPolicy
                },
                name: name.to_string(),
                priority,
                subject,
                ingress,
                egress,
                origin: ctx.origin(),
            })
        };
        let built = build();
        for w in warnings {
            self.warnings.push(ctx.err(Some("spec".into()), w, None));
        }
        match built {
            Ok(p) if baseline => {
                if name != "default" {
                    self.errors.push(ctx.err(
                        Some("metadata.name".into()),
                        format!("a BaselineAdminNetworkPolicy must be named `default`, not `{name}`"),
                        Some("the API server accepts only one BaselineAdminNetworkPolicy, named default"),
                    ));
                } else if self.cluster.policies.baseline_policy().is_some() {
                    self.errors.push(ctx.err(
                        None,
                        "a second BaselineAdminNetworkPolicy `default`".into(),
                        None,
                    ));
                } else {
                    self.add_policy(Policy::Admin(p));
                }
            }
            Ok(p) => self.add_policy(Policy::Admin(p)),
            Err(msg) => self.errors.push(ctx.err(Some("spec".into()), msg, None)),
        }
    }

    /// Adds a policy of any dialect to the model.
    fn add_policy(&mut self, policy: Policy) {
        if let Err(b) = self.cluster.policies.add(policy) {
            self.second_baseline(&b);
        }
    }

    /// A second BaselineAdminNetworkPolicy: an error where it was declared.
    fn second_baseline(&mut self, b: &netfence_model::AdminPolicy) {
        self.errors.push(LoadError {
            file: b.origin.file.clone(),
            document: b.origin.document + 1,
            line: b.origin.line,
            object: Some("BaselineAdminNetworkPolicy default".into()),
            field: None,
            message: "a second BaselineAdminNetworkPolicy `default`".into(),
            help: None,
        });
    }

    /// A ClusterNetworkPolicy (network-policy-api v1alpha2), either tier.
    fn cluster_network_policy(&mut self, ctx: &Ctx<'_>, value: Value, name: &str) {
        let Some(c) = self.typed::<admin::ClusterNetworkPolicy>(ctx, value) else {
            return;
        };
        let spec = c.spec;
        let mut warnings = Vec::new();
        let mut build = || -> Result<AdminPolicy, String> {
            let (kind, priority) = admin::cnp_tier(&spec)?;
            let subject = admin::subject(&spec.subject)?;
            let mut rules = [Vec::new(), Vec::new()];
            for (out, (dir, list)) in rules.iter_mut().zip([
                (netfence_model::Direction::Ingress, &spec.ingress),
                (netfence_model::Direction::Egress, &spec.egress),
            ]) {
                for (i, r) in list.iter().enumerate() {
                    out.push(admin::cnp_rule(r, dir, i, &mut warnings)?);
                }
            }
            let [ingress, egress] = rules;
            Ok(AdminPolicy {
                kind,
                name: name.to_string(),
                priority: Some(priority),
                subject,
                ingress,
                egress,
                origin: ctx.origin(),
            })
        };
        let built = build();
        for w in warnings {
            self.warnings.push(ctx.err(Some("spec".into()), w, None));
        }
        match built {
            Ok(p) => self.add_policy(Policy::Admin(p)),
            Err(msg) => self.errors.push(ctx.err(Some("spec".into()), msg, None)),
        }
    }

    /// Appends a partial model built from later input.
    pub(crate) fn merge(&mut self, mut other: Builder) {
        // an object of a later source that an earlier one already defines
        let base = self.errors.len();
        let mut inserted = 0;
        for key in std::mem::take(&mut other.seen_order) {
            let Some(mut place) = other.seen_objects.remove(&key) else {
                continue;
            };
            match self.seen_objects.get(&key) {
                Some(first) => {
                    let ctx = Ctx {
                        file: &place.file,
                        document: place.document,
                        line: place.line,
                        object: object_name(&key),
                        node: None,
                        prefix: place.prefix.clone(),
                    };
                    if first.policy {
                        let at = (place.errors_after + inserted).min(other.errors.len());
                        other.errors.insert(at, duplicate_error(&ctx, &key, first));
                        inserted += 1;
                    } else {
                        other.warnings.push(duplicate_error(&ctx, &key, first));
                    }
                }
                None => {
                    place.errors_after += base + inserted;
                    self.seen_order.push(key.clone());
                    self.seen_objects.insert(key, place);
                }
            }
        }
        // Every field named: a field added to the model fails to compile here until it is merged.
        let netfence_model::Cluster {
            namespaces,
            endpoints,
            nodes,
            services,
            policies,
            ingress_backends,
            certificates,
            cilium_config,
            object_annotations,
        } = other.cluster;
        let c = &mut self.cluster;
        c.namespaces.extend(namespaces);
        c.nodes.extend(nodes);
        c.services.extend(services);
        c.ingress_backends.extend(ingress_backends);
        c.object_annotations.extend(object_annotations);
        c.certificates.extend(certificates);
        if cilium_config.is_some() {
            c.cilium_config = cilium_config;
        }
        for ep in endpoints {
            self.push_endpoint(ep);
        }
        if let Err(b) = self.cluster.policies.extend(policies) {
            self.second_baseline(&b);
        }
        self.errors.extend(other.errors);
        self.warnings.extend(other.warnings);
        self.skipped.extend(other.skipped);
        self.referenced_namespaces
            .extend(other.referenced_namespaces);
        self.split_failed |= other.split_failed;
    }

    pub(crate) fn finish(mut self) -> Loaded {
        // CIDR groups are objects of their own: policies name them, resolved once all are read
        let groups = self.cluster.policies.cilium_cidr_groups().to_vec();
        for (policy, origin, message) in
            crate::cilium::resolve_cidr_groups(self.cluster.policies.cilium_policies_mut(), &groups)
        {
            self.warnings.push(LoadError {
                file: origin.file,
                document: origin.document + 1,
                line: origin.line,
                object: Some(format!("Cilium policy {policy}")),
                field: None,
                message,
                help: Some("add the CiliumCIDRGroup to the input, or fix the name".into()),
            });
        }
        // `nodes` peers match the addresses of Node objects: without any, they match nothing
        if self.cluster.nodes.is_empty() {
            let c = &self.cluster;
            for p in c
                .policies
                .admin_policies()
                .iter()
                .chain(c.policies.baseline_policy())
                .chain(c.policies.cluster_network_policies())
            {
                let with_nodes = p.egress.iter().find(|r| {
                    r.peers
                        .iter()
                        .any(|x| matches!(x, netfence_model::AdminPeer::Nodes(_)))
                });
                if let Some(rule) = with_nodes {
                    self.warnings.push(LoadError {
                        file: p.origin.file.clone(),
                        document: p.origin.document + 1,
                        line: p.origin.line,
                        object: Some(format!("{} {}", p.kind.label(), p.name)),
                        field: None,
                        message: format!(
                            "rule `{}` has a `nodes` peer and the input has no Node objects: it matches no node address{}",
                            rule.name,
                            if rule.action == netfence_model::AdminAction::Allow { "" } else { ", so traffic to nodes it should deny or pass is decided by later rules" }
                        ),
                        help: Some("add the nodes (`kubectl get nodes -o yaml`) to the input".into()),
                    });
                }
            }
        }
        let referenced: Vec<String> = std::mem::take(&mut self.referenced_namespaces);
        for ns in referenced {
            self.cluster.ensure_namespace(&ns);
        }
        Loaded {
            cluster: self.cluster,
            errors: self.errors,
            warnings: self.warnings,
            skipped: self.skipped,
        }
    }
}

/// `IANA_SVC_NAME` (RFC 6335): 1-15 characters of `a-z`, `0-9` and `-`, at least one letter,
/// no leading, trailing or doubled hyphen.
fn is_iana_svc_name(s: &str) -> bool {
    (1..=15).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && s.bytes().any(|b| b.is_ascii_lowercase())
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
}

fn has_v6_block(p: &NetworkPolicy) -> bool {
    [&p.ingress, &p.egress].iter().any(|rules| {
        rules.iter().flatten().any(|r| {
            r.peers
                .iter()
                .flatten()
                .any(|x| matches!(x, NpPeer::IpBlock { set, .. } if set.has_v6()))
        })
    })
}

/// A rule's peers and ports as written.
type RawRule<'a> = (
    Option<&'a [net::NetworkPolicyPeer]>,
    Option<&'a [net::NetworkPolicyPort]>,
);

type ConvError = (String, String, Option<&'static str>);

fn sel_or_err(
    sel: &k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector,
    field: &str,
) -> Result<LabelSelector, ConvError> {
    selector::convert(sel).map_err(|m| (field.to_string(), m, None))
}

/// A NetworkPolicy with defaulting and validation as the API server applies them.
fn network_policy(
    np: &net::NetworkPolicy,
    ns: &str,
    name: &str,
    ctx: &Ctx<'_>,
) -> Result<NetworkPolicy, ConvError> {
    let spec = np.spec.clone().unwrap_or_default();
    let pod_selector = match &spec.pod_selector {
        Some(s) => sel_or_err(s, "spec.podSelector")?,
        None => LabelSelector::everything(),
    };
    let types: Vec<String> = match &spec.policy_types {
        Some(t) if !t.is_empty() => t.clone(),
        _ => {
            let mut t = vec!["Ingress".to_string()];
            if spec.egress.as_ref().is_some_and(|e| !e.is_empty()) {
                t.push("Egress".to_string());
            }
            t
        }
    };
    for t in &types {
        if t != "Ingress" && t != "Egress" {
            return Err((
                "spec.policyTypes".into(),
                format!("unknown policy type `{t}`"),
                Some("policyTypes holds `Ingress` and/or `Egress`"),
            ));
        }
    }
    // A direction is converted only when it is an effective policy type.
    let section = |ty: &str,
                   rules: Vec<RawRule<'_>>,
                   key: &str,
                   peer_key: &str|
     -> Result<Option<Vec<NpRule>>, ConvError> {
        if !types.iter().any(|t| t == ty) {
            return Ok(None);
        }
        rules
            .into_iter()
            .enumerate()
            .map(|(i, (peers, ports))| rule(peers, ports, &format!("spec.{key}[{i}]"), peer_key))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    };
    let ingress_rules = spec
        .ingress
        .iter()
        .flatten()
        .map(|r| (r.from.as_deref(), r.ports.as_deref()))
        .collect();
    let egress_rules = spec
        .egress
        .iter()
        .flatten()
        .map(|r| (r.to.as_deref(), r.ports.as_deref()))
        .collect();
    let ingress = section("Ingress", ingress_rules, "ingress", "from")?;
    let egress = section("Egress", egress_rules, "egress", "to")?;
    Ok(NetworkPolicy {
        namespace: ns.to_string(),
        name: name.to_string(),
        pod_selector,
        ingress,
        egress,
        annotations: np.metadata.annotations.clone().unwrap_or_default(),
        origin: ctx.origin(),
    })
}

fn rule(
    peers: Option<&[net::NetworkPolicyPeer]>,
    ports: Option<&[net::NetworkPolicyPort]>,
    here: &str,
    peer_key: &str,
) -> Result<NpRule, ConvError> {
    let peers = match peers {
        None | Some([]) => None,
        Some(list) => {
            let mut out = Vec::new();
            for (i, p) in list.iter().enumerate() {
                let field = format!("{here}.{peer_key}[{i}]");
                match (&p.ip_block, &p.namespace_selector, &p.pod_selector) {
                    (None, None, None) => {
                        return Err((
                            field,
                            "a peer must set podSelector, namespaceSelector or ipBlock".into(),
                            Some("to allow every peer, omit the `from`/`to` list instead of writing `{}`"),
                        ))
                    }
                    (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                        return Err((
                            field,
                            "ipBlock cannot be combined with podSelector or namespaceSelector".into(),
                            Some("split them into two peers"),
                        ))
                    }
                    (Some(b), None, None) => {
                        let cidr = IpSet::parse_cidr(&b.cidr)
                            .ok()
                            .filter(|_| b.cidr.contains('/'))
                            .ok_or_else(|| (format!("{field}.ipBlock.cidr"), format!("invalid CIDR `{}`", b.cidr), None))?;
                        let mut set = cidr.clone();
                        for e in b.except.iter().flatten() {
                            let ex = IpSet::parse_cidr(e)
                                .ok()
                                .filter(|_| e.contains('/'))
                                .ok_or_else(|| (format!("{field}.ipBlock.except"), format!("invalid CIDR `{e}`"), None))?;
                            if !ex.is_subset(&cidr) || ex == cidr {
                                return Err((
                                    format!("{field}.ipBlock.except"),
                                    format!("except `{e}` must be strictly inside cidr `{}`", b.cidr),
                                    None,
                                ));
                            }
                            set = set.subtract(&ex);
                        }
                        out.push(NpPeer::IpBlock {
                            set,
                            cidr: b.cidr.clone(),
                            except: b.except.clone().unwrap_or_default(),
                        });
                    }
                    (None, ns, pods) => out.push(NpPeer::Pods {
                        namespaces: ns
                            .as_ref()
                            .map(|s| sel_or_err(s, &format!("{field}.namespaceSelector")))
                            .transpose()?,
                        pods: pods
                            .as_ref()
                            .map(|s| sel_or_err(s, &format!("{field}.podSelector")))
                            .transpose()?,
                    }),
                }
            }
            Some(out)
        }
    };
    let ports = match ports {
        None | Some([]) => None,
        Some(list) => {
            let mut out = Vec::new();
            for (i, p) in list.iter().enumerate() {
                let field = format!("{here}.ports[{i}]");
                let protocol = match p.protocol.as_deref() {
                    None => Protocol::Tcp,
                    // The API server accepts exactly these spellings.
                    Some(s @ ("TCP" | "UDP" | "SCTP")) => {
                        Protocol::parse(s).unwrap_or(Protocol::Tcp)
                    }
                    Some(s) => {
                        return Err((
                            format!("{field}.protocol"),
                            format!("unsupported protocol `{s}`"),
                            Some("use TCP, UDP or SCTP (upper case)"),
                        ))
                    }
                };
                let port = match &p.port {
                    None => None,
                    Some(IntOrString::Int(n)) => Some(PortRef::Number(
                        u16::try_from(*n).ok().filter(|n| *n >= 1).ok_or_else(|| {
                            (
                                format!("{field}.port"),
                                format!("port {n} is outside 1-65535"),
                                None,
                            )
                        })?,
                    )),
                    Some(IntOrString::String(s)) => {
                        if !is_iana_svc_name(s) {
                            return Err((
                                format!("{field}.port"),
                                format!("`{s}` is neither a port number nor a valid port name"),
                                Some("a port name is 1-15 lower-case letters, digits and '-', with at least one letter; write numbers without quotes"),
                            ));
                        }
                        Some(PortRef::Name(s.clone()))
                    }
                };
                let end_port =
                    match p.end_port {
                        None => None,
                        Some(e) => {
                            let Some(PortRef::Number(start)) = port else {
                                return Err((
                                    format!("{field}.endPort"),
                                    "endPort needs a numeric port".into(),
                                    Some("named ports cannot be ranges"),
                                ));
                            };
                            let e16 =
                                u16::try_from(e)
                                    .ok()
                                    .filter(|e| *e >= start)
                                    .ok_or_else(|| {
                                        (
                                format!("{field}.endPort"),
                                format!("endPort {e} must be between port {start} and 65535"),
                                None,
                            )
                                    })?;
                            Some(e16)
                        }
                    };
                out.push(NpPort {
                    protocol,
                    port,
                    end_port,
                });
            }
            Some(out)
        }
    };
    Ok(NpRule {
        peers,
        ports,
        line: None,
    })
}
