//! The connectivity test spec of `netfence test`: cases with `from`, `to`, port, protocol,
//! optional application-layer facts and the expected verdict. Its JSON schema is published as
//! `docs/test-spec.schema.json`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A file of connectivity tests.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// The cases, run in order.
    pub tests: Vec<Case>,
}

/// One assertion: every workload `from` selects, towards every workload `to` selects (a
/// workload is never tested against itself), must get the `expect`ed verdict.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// A name for reports.
    pub name: String,
    /// The client side.
    pub from: Selector,
    /// The server side.
    pub to: Selector,
    /// The destination port (the backend port, after Service translation), 1-65535.
    #[serde(deserialize_with = "port_number")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: u16,
    /// `TCP` (default), `UDP` or `SCTP`.
    #[serde(default = "tcp")]
    pub protocol: String,
    /// `allow` or `deny`.
    pub expect: Expect,
    /// HTTP facts of the request, for layer-7 policies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<Http>,
    /// Kafka facts of the request, for layer-7 policies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kafka: Option<Kafka>,
    /// The DNS name queried, for DNS-aware policies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<String>,
}

/// A port: an unquoted integer from 1 to 65535 (a quoted `"8080"` is a string, as in the
/// Kubernetes API).
fn port_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    struct V;
    impl serde::de::Visitor<'_> for V {
        type Value = u16;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a port number from 1 to 65535 (unquoted)")
        }
        fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<u16, E> {
            u16::try_from(n)
                .ok()
                .filter(|p| *p >= 1)
                .ok_or_else(|| E::custom(format!("port {n} is outside 1-65535")))
        }
        fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<u16, E> {
            u64::try_from(n)
                .map_err(|_| E::custom(format!("port {n} is outside 1-65535")))
                .and_then(|n| self.visit_u64(n))
        }
        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<u16, E> {
            Err(E::custom(format!(
                "port must be a number, not the string \"{s}\" (write it without quotes)"
            )))
        }
    }
    d.deserialize_any(V)
}

fn tcp() -> String {
    "TCP".into()
}

/// Workloads: `namespace/name` (a workload or pod name), an IP address, or a selector.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Selector {
    /// `namespace/name` of a workload or pod, or an IP address outside the cluster.
    Name(String),
    /// Every workload in `namespace` (any namespace when absent) whose labels include
    /// `labels`.
    Match {
        /// The namespace.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        namespace: Option<String>,
        /// Labels the workload must carry.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        labels: BTreeMap<String, String>,
    },
}

/// The expected verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Expect {
    /// The connection must be allowed.
    Allow,
    /// The connection must be denied.
    Deny,
}

/// HTTP request facts.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Http {
    /// The method.
    pub method: String,
    /// The path, with the query.
    pub path: String,
    /// The Host header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// Kafka request facts.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Kafka {
    /// `produce` or `consume`.
    pub role: String,
    /// The topic.
    pub topic: String,
}

/// Parses a spec from YAML or JSON text, naming the place of any error.
pub fn parse(name: &str, text: &str) -> Result<Spec, String> {
    serde_saphyr::from_str::<Spec>(text).map_err(|e| {
        let mut first = yaml_message(&e);
        if first.contains("untagged enum Selector") {
            // serde's words for "none of the forms fits"
            first = "an end must be `namespace/name`, an IP address or entity, or a mapping with `namespace` and/or `labels` (strings)".into();
        }
        match e.location() {
            Some(l) => format!("{name}:{}: invalid test spec: {first}", l.line()),
            None => format!("{name}: invalid test spec: {first}"),
        }
    })
}

/// The parser's message in netfence's words: its first line, with the library's vocabulary
/// (budgets) replaced by what it means for a spec.
fn yaml_message(e: &serde_saphyr::Error) -> String {
    let msg = e.to_string();
    let first = msg.lines().next().unwrap_or("invalid YAML").trim();
    let lower = first.to_lowercase();
    if lower.contains("recursion") || lower.contains("depth") {
        return "collections nest too deeply".into();
    }
    if lower.contains("budget") || lower.contains("alias") && lower.contains("limit") {
        return "aliases expand to more than netfence reads (an alias bomb?)".into();
    }
    // drop the location the error carries as data anyway
    let first = match first.strip_prefix("error: line ") {
        Some(rest) => rest.split_once(": ").map_or(rest, |(_, m)| m),
        None => first,
    };
    let first = first
        .split(" at line ")
        .next()
        .unwrap_or(first)
        .trim_end_matches(['.', ',']);
    first.to_string()
}

/// The JSON schema of the spec, pretty-printed.
pub fn schema_json() -> String {
    let schema = schemars::schema_for!(Spec);
    let mut s = serde_json::to_string_pretty(&schema).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_selectors_and_defaults_parse() {
        let s = parse(
            "t.yaml",
            "tests:\n- name: a\n  from: production/web\n  to: {namespace: kube-system, labels: {k8s-app: kube-dns}}\n  port: 53\n  protocol: UDP\n  expect: allow\n- name: b\n  from: {namespace: staging}\n  to: 10.1.2.3\n  port: 443\n  expect: deny\n",
        )
        .unwrap();
        assert_eq!(s.tests.len(), 2);
        assert_eq!(s.tests[1].protocol, "TCP");
        assert!(
            matches!(&s.tests[0].to, Selector::Match { namespace: Some(n), labels } if n == "kube-system" && labels.len() == 1)
        );
        assert_eq!(s.tests[1].expect, Expect::Deny);
    }

    #[test]
    fn typos_are_errors_with_a_line() {
        let e = parse(
            "t.yaml",
            "tests:\n- name: a\n  from: x/y\n  to: x/z\n  port: 1\n  expect: alow\n",
        )
        .unwrap_err();
        assert!(e.starts_with("t.yaml:"), "{e}");
        let e = parse(
            "t.yaml",
            "tests:\n- name: a\n  form: x/y\n  to: x/z\n  port: 1\n  expect: allow\n",
        )
        .unwrap_err();
        assert!(e.contains("invalid test spec"), "{e}");
    }
}
