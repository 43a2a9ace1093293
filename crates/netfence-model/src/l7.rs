//! Application-layer facts of a flow (HTTP, Kafka, DNS) and the L7 rules that constrain them,
//! with Cilium's DNS name matching.

use std::fmt;

/// The application-layer request carried by a flow, when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum L7Request {
    /// An HTTP request.
    Http {
        /// The method (`GET`).
        method: String,
        /// The request target, with the query string (`/v1/users?id=1`).
        path: String,
        /// The `:authority`, when known.
        host: Option<String>,
        /// Header names and values.
        headers: Vec<(String, String)>,
    },
    /// A Kafka request.
    Kafka {
        /// The API key by name (`produce`, `fetch`, `metadata`), lowercase.
        api_key: String,
        /// The API version, when known.
        api_version: Option<i32>,
        /// The client id, when known.
        client_id: Option<String>,
        /// The topics the request names.
        topics: Vec<String>,
    },
    /// A DNS query.
    Dns {
        /// The queried name.
        name: String,
    },
    /// A TLS connection presenting a server name (SNI).
    Tls {
        /// The server name.
        sni: String,
    },
}

impl fmt::Display for L7Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            L7Request::Http { method, path, .. } => write!(f, "HTTP {method} {path}"),
            L7Request::Kafka {
                api_key, topics, ..
            } => write!(f, "Kafka {api_key} [{}]", topics.join(",")),
            L7Request::Dns { name } => write!(f, "DNS {name}"),
            L7Request::Tls { sni } => write!(f, "TLS SNI {sni}"),
        }
    }
}

/// The L7 rules on a port: exactly one kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum L7Rules {
    /// `http` rules (OR'ed).
    Http(Vec<HttpRule>),
    /// `kafka` rules (OR'ed).
    Kafka(Vec<KafkaRule>),
    /// `dns` rules (OR'ed).
    Dns(Vec<FqdnPattern>),
    /// `serverNames`: the TLS server names (SNI) a connection may present (OR'ed, exact).
    Tls(Vec<String>),
}

impl L7Rules {
    /// `HTTP`, `Kafka` or `DNS`.
    pub fn kind(&self) -> &'static str {
        match self {
            L7Rules::Http(_) => "HTTP",
            L7Rules::Kafka(_) => "Kafka",
            L7Rules::Dns(_) => "DNS",
            L7Rules::Tls(_) => "TLS SNI",
        }
    }
}

impl fmt::Display for L7Rules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = match self {
            L7Rules::Http(rs) => rs.iter().map(ToString::to_string).collect(),
            L7Rules::Kafka(rs) => rs.iter().map(ToString::to_string).collect(),
            L7Rules::Dns(rs) => rs.iter().map(ToString::to_string).collect(),
            L7Rules::Tls(names) => names.clone(),
        };
        write!(f, "{} {}", self.kind(), parts.join(" | "))
    }
}

/// One Cilium `http` rule: present fields ANDed, each a regex matched against the whole value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpRule {
    /// Method regex.
    pub method: Option<String>,
    /// Path regex (against the full request target, query included).
    pub path: Option<String>,
    /// Host regex.
    pub host: Option<String>,
    /// `"Name value"` (exact value) or `"Name"` (presence).
    pub headers: Vec<String>,
    /// `headerMatches`.
    pub header_matches: Vec<HeaderMatch>,
}

/// One Cilium `headerMatches` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderMatch {
    /// The header name.
    pub name: String,
    /// The exact value wanted; `None`: the header must be present.
    pub value: Option<String>,
    /// `mismatch`: `LOG`, `ADD`, `DELETE` or `REPLACE`. With an action the proxy logs or
    /// rewrites the header and lets the request through; without one a mismatch is refused.
    pub mismatch: Option<String>,
}

impl HeaderMatch {
    /// Whether a request with `headers` passes this match.
    pub fn passes(&self, headers: &[(String, String)]) -> bool {
        self.mismatch.is_some()
            || headers.iter().any(|(k, v)| {
                k.eq_ignore_ascii_case(&self.name)
                    && self.value.as_ref().is_none_or(|want| v == want)
            })
    }
}

impl fmt::Display for HttpRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = vec![
            self.method.clone().unwrap_or_else(|| "*".into()),
            self.path.clone().unwrap_or_else(|| "*".into()),
        ];
        if let Some(h) = &self.host {
            parts.push(format!("host={h}"));
        }
        parts.extend(self.headers.iter().map(|h| format!("header={h}")));
        parts.extend(self.header_matches.iter().map(|m| {
            let value = m
                .value
                .as_deref()
                .map(|v| format!("={v}"))
                .unwrap_or_default();
            match &m.mismatch {
                Some(action) => format!("header-match={}{value} (else {action})", m.name),
                None => format!("header-match={}{value}", m.name),
            }
        }));
        f.write_str(&parts.join(" "))
    }
}

/// One Cilium `kafka` rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KafkaRule {
    /// `produce` or `consume` (lowercase).
    pub role: Option<String>,
    /// A single API key by name (lowercase).
    pub api_key: Option<String>,
    /// An exact API version.
    pub api_version: Option<i32>,
    /// An exact client id.
    pub client_id: Option<String>,
    /// An exact topic.
    pub topic: Option<String>,
}

impl fmt::Display for KafkaRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = self
            .role
            .clone()
            .or_else(|| self.api_key.clone())
            .unwrap_or_else(|| "*".into());
        write!(f, "{what} topic={}", self.topic.as_deref().unwrap_or("*"))?;
        if let Some(c) = &self.client_id {
            write!(f, " clientID={c}")?;
        }
        Ok(())
    }
}

/// Kafka API keys a role expands to (Cilium's `produce` and `consume`).
pub fn kafka_role_keys(role: &str) -> &'static [&'static str] {
    match role {
        "produce" => &["produce", "metadata", "apiversions"],
        "consume" => &[
            "fetch",
            "offsets",
            "metadata",
            "offsetcommit",
            "offsetfetch",
            "findcoordinator",
            "joingroup",
            "heartbeat",
            "leavegroup",
            "syncgroup",
            "apiversions",
        ],
        _ => &[],
    }
}

/// Whether a Kafka API key name is one Cilium knows.
pub fn is_kafka_api_key(name: &str) -> bool {
    const KEYS: [&str; 21] = [
        "produce",
        "fetch",
        "offsets",
        "metadata",
        "leaderandisr",
        "stopreplica",
        "updatemetadata",
        "controlledshutdown",
        "offsetcommit",
        "offsetfetch",
        "findcoordinator",
        "joingroup",
        "heartbeat",
        "leavegroup",
        "syncgroup",
        "describegroups",
        "listgroups",
        "saslhandshake",
        "apiversions",
        "createtopics",
        "deletetopics",
    ];
    KEYS.contains(&name.to_ascii_lowercase().as_str())
}

impl KafkaRule {
    /// Whether this rule allows `req` (a Kafka request); other requests never match.
    pub fn matches(&self, req: &L7Request) -> bool {
        let L7Request::Kafka {
            api_key,
            api_version,
            client_id,
            topics,
        } = req
        else {
            return false;
        };
        let key = api_key.to_ascii_lowercase();
        let key_ok = match (&self.role, &self.api_key) {
            (Some(role), _) => kafka_role_keys(role).contains(&key.as_str()),
            (None, Some(k)) => *k == key,
            (None, None) => true,
        };
        let version_ok = self.api_version.is_none_or(|v| Some(v) == *api_version);
        let client_ok = self
            .client_id
            .as_ref()
            .is_none_or(|c| client_id.as_ref() == Some(c));
        // Every topic of the request must be the allowed one; requests without topics
        // ignore `topic`.
        let topic_ok = self
            .topic
            .as_ref()
            .is_none_or(|t| topics.iter().all(|x| x == t));
        key_ok && version_ok && client_ok && topic_ok
    }
}

/// A `matchName` or `matchPattern` of `toFQDNs` or of an L7 `dns` rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FqdnPattern {
    /// The pattern, lowercase, as written (without a trailing dot).
    pub pattern: String,
    /// Whether it came from `matchName` (literal).
    pub literal: bool,
}

impl fmt::Display for FqdnPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.literal {
            write!(f, "{}", self.pattern)
        } else {
            write!(f, "pattern {}", self.pattern)
        }
    }
}

/// Characters Cilium accepts in a `matchPattern` (a `matchName` has no `*`).
pub fn fqdn_pattern_error(pattern: &str, literal: bool) -> Option<String> {
    if pattern.is_empty() || pattern.len() > 255 {
        return Some("must have 1 to 255 characters".into());
    }
    let bad = pattern.chars().find(|c| {
        !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') || (*c == '*' && !literal))
    });
    bad.map(|c| format!("character `{c}` is not allowed in a DNS name pattern"))
}

impl FqdnPattern {
    /// A pattern from `matchName` (`literal`) or `matchPattern`.
    pub fn new(text: &str, literal: bool) -> Self {
        let p = text.trim().to_ascii_lowercase();
        Self {
            pattern: p.strip_suffix('.').unwrap_or(&p).to_string(),
            literal,
        }
    }

    /// Whether `name` matches, with Cilium's rules: case-insensitive, whole name, `*` within
    /// one label, a leading `**.` for one or more labels (when `multilabel` is on).
    pub fn matches(&self, name: &str, multilabel: bool) -> bool {
        let n = name.trim().to_ascii_lowercase();
        let n = n.strip_suffix('.').unwrap_or(&n);
        if self.literal {
            return n == self.pattern;
        }
        let p = self.pattern.as_str();
        if !p.is_empty() && p.chars().all(|c| c == '*') {
            return true;
        }
        if multilabel {
            if let Some(rest) = p.strip_prefix("**.") {
                // One or more whole labels, then the rest.
                return n.match_indices('.').any(|(i, _)| {
                    i > 0
                        && glob_label(
                            rest.as_bytes(),
                            n.as_bytes().get(i + 1..).unwrap_or_default(),
                        )
                });
            }
        }
        glob_label(p.as_bytes(), n.as_bytes())
    }
}

/// Glob where each run of `*` matches DNS characters within one label (never a dot).
///
/// Dynamic programming over (pattern, name) positions: linear in their product, so a pattern
/// full of stars cannot make matching exponential.
fn glob_label(p: &[u8], n: &[u8]) -> bool {
    let w = n.len() + 1;
    // m[i * w + j]: p[i..] matches n[j..]
    let mut m = vec![false; (p.len() + 1) * w];
    if let Some(last) = m.last_mut() {
        *last = true;
    }
    let dns = |c: u8| c.is_ascii_alphanumeric() || c == b'-' || c == b'_';
    for i in (0..p.len()).rev() {
        for j in (0..=n.len()).rev() {
            let at = |i: usize, j: usize| m.get(i * w + j).copied().unwrap_or(false);
            let v = match (p.get(i), n.get(j)) {
                (Some(b'*'), c) => at(i + 1, j) || c.is_some_and(|c| dns(*c)) && at(i, j + 1),
                (Some(pc), Some(c)) => pc == c && at(i + 1, j + 1),
                _ => false,
            };
            if let Some(x) = m.get_mut(i * w + j) {
                *x = v;
            }
        }
    }
    m.first().copied().unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pat(p: &str) -> FqdnPattern {
        FqdnPattern::new(p, false)
    }

    /// The matching table of Cilium's DNS-based policy documentation.
    #[test]
    fn cilium_fqdn_table() {
        let names = [
            "cilium.io",
            "www.cilium.io",
            "a.b.cilium.io",
            "subcilium.io",
            "WWW.Cilium.IO",
        ];
        let table: [(FqdnPattern, [bool; 5]); 6] = [
            (pat("*.cilium.io"), [false, true, false, false, true]),
            (pat("**.cilium.io"), [false, true, true, false, true]),
            (pat("*cilium.io"), [true, false, false, true, false]),
            (pat("sub*.cilium.io"), [false, false, false, false, false]),
            (pat("*"), [true, true, true, true, true]),
            (
                FqdnPattern::new("cilium.io", true),
                [true, false, false, false, false],
            ),
        ];
        for (p, expected) in table {
            for (n, e) in names.iter().zip(expected) {
                assert_eq!(p.matches(n, true), e, "{p} vs {n}");
            }
        }
    }

    #[test]
    fn older_agents_read_double_star_as_one_label() {
        assert!(!pat("**.cilium.io").matches("a.b.cilium.io", false));
        assert!(pat("**.cilium.io").matches("www.cilium.io", false));
    }

    #[test]
    fn trailing_dots_and_case_are_ignored() {
        assert!(pat("*.amazonaws.com").matches("s3.amazonaws.com.", true));
        assert!(!pat("*.amazonaws.com").matches("a.b.amazonaws.com", true));
        assert!(FqdnPattern::new("API.Stripe.com.", true).matches("api.stripe.com", true));
    }

    #[test]
    fn kafka_roles_expand_and_topics_must_all_match() {
        let rule = KafkaRule {
            role: Some("produce".into()),
            topic: Some("t1".into()),
            ..KafkaRule::default()
        };
        let req = |key: &str, topics: &[&str]| L7Request::Kafka {
            api_key: key.into(),
            api_version: None,
            client_id: None,
            topics: topics.iter().map(|t| t.to_string()).collect(),
        };
        assert!(rule.matches(&req("produce", &["t1"])));
        assert!(!rule.matches(&req("produce", &["t1", "t2"])), "C27");
        assert!(rule.matches(&req("metadata", &["t1"])), "C28");
        assert!(!rule.matches(&req("metadata", &["t2"])));
        assert!(!rule.matches(&req("fetch", &["t1"])), "C29");
    }
}
