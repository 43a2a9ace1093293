//! Istio security policies (security.istio.io v1beta1 and v1): PeerAuthentication and
//! AuthorizationPolicy.

use std::collections::BTreeMap;
use std::fmt;

use crate::cluster::Origin;
use crate::labels::Labels;

/// A PeerAuthentication mTLS mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MtlsMode {
    /// Inherit from the parent level.
    Unset,
    /// Plaintext rejected.
    Strict,
    /// mTLS and plaintext accepted.
    Permissive,
    /// No mTLS on inbound.
    Disable,
}

impl MtlsMode {
    /// Parses a mode name.
    pub fn parse(s: &str) -> Option<MtlsMode> {
        Some(match s {
            "UNSET" => MtlsMode::Unset,
            "STRICT" => MtlsMode::Strict,
            "PERMISSIVE" => MtlsMode::Permissive,
            "DISABLE" => MtlsMode::Disable,
            _ => return None,
        })
    }
}

impl fmt::Display for MtlsMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MtlsMode::Unset => "UNSET",
            MtlsMode::Strict => "STRICT",
            MtlsMode::Permissive => "PERMISSIVE",
            MtlsMode::Disable => "DISABLE",
        })
    }
}

/// A PeerAuthentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerAuthentication {
    /// The namespace.
    pub namespace: String,
    /// The name.
    pub name: String,
    /// `selector.matchLabels`; `None` (or empty) applies to the whole namespace.
    pub selector: Option<Labels>,
    /// `mtls.mode`.
    pub mode: MtlsMode,
    /// `portLevelMtls`, by container port.
    pub port_level: BTreeMap<u16, MtlsMode>,
    /// `metadata.creationTimestamp`, for oldest-wins.
    pub created: Option<String>,
    /// Where it was declared.
    pub origin: Origin,
}

/// An AuthorizationPolicy action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthzAction {
    /// ALLOW (the default).
    Allow,
    /// DENY.
    Deny,
    /// CUSTOM: an external authorizer decides.
    Custom,
    /// AUDIT: never decides.
    Audit,
}

impl fmt::Display for AuthzAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AuthzAction::Allow => "ALLOW",
            AuthzAction::Deny => "DENY",
            AuthzAction::Custom => "CUSTOM",
            AuthzAction::Audit => "AUDIT",
        })
    }
}

/// `from[].source`: fields ANDed, values of a field OR'ed, `not_*` values must all miss.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Source {
    /// `principals`.
    pub principals: Vec<String>,
    /// `notPrincipals`.
    pub not_principals: Vec<String>,
    /// `namespaces`.
    pub namespaces: Vec<String>,
    /// `notNamespaces`.
    pub not_namespaces: Vec<String>,
    /// `serviceAccounts` (`ns/sa` or `sa`).
    pub service_accounts: Vec<String>,
    /// `ipBlocks`.
    pub ip_blocks: Vec<String>,
    /// `notIpBlocks`.
    pub not_ip_blocks: Vec<String>,
    /// `remoteIpBlocks`.
    pub remote_ip_blocks: Vec<String>,
    /// `requestPrincipals` (JWT; HTTP only).
    pub request_principals: Vec<String>,
    /// `notRequestPrincipals`.
    pub not_request_principals: Vec<String>,
}

/// `to[].operation`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Operation {
    /// `hosts` (HTTP only).
    pub hosts: Vec<String>,
    /// `notHosts`.
    pub not_hosts: Vec<String>,
    /// `ports`.
    pub ports: Vec<String>,
    /// `notPorts`.
    pub not_ports: Vec<String>,
    /// `methods` (HTTP only).
    pub methods: Vec<String>,
    /// `notMethods`.
    pub not_methods: Vec<String>,
    /// `paths` (HTTP only).
    pub paths: Vec<String>,
    /// `notPaths`.
    pub not_paths: Vec<String>,
}

impl Operation {
    /// Whether the operation uses a field only HTTP traffic has.
    pub fn has_http_fields(&self) -> bool {
        !(self.hosts.is_empty()
            && self.not_hosts.is_empty()
            && self.methods.is_empty()
            && self.not_methods.is_empty()
            && self.paths.is_empty()
            && self.not_paths.is_empty())
    }
}

/// A `when` condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// The attribute key.
    pub key: String,
    /// `values` (OR'ed).
    pub values: Vec<String>,
    /// `notValues`.
    pub not_values: Vec<String>,
}

impl Condition {
    /// Whether the key is an HTTP-only attribute.
    pub fn is_http_only(&self) -> bool {
        self.key.starts_with("request.")
    }
}

/// One rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthzRule {
    /// `from` (`None`: any source).
    pub from: Option<Vec<Source>>,
    /// `to` (`None`: any operation).
    pub to: Option<Vec<Operation>>,
    /// `when`.
    pub when: Vec<Condition>,
}

impl AuthzRule {
    /// Whether the rule uses an HTTP-only field anywhere.
    pub fn has_http_fields(&self) -> bool {
        self.to.iter().flatten().any(Operation::has_http_fields)
            || self
                .from
                .iter()
                .flatten()
                .any(|s| !s.request_principals.is_empty() || !s.not_request_principals.is_empty())
            || self.when.iter().any(Condition::is_http_only)
    }

    /// Whether the rule reads the caller's address: `ipBlocks`, `notIpBlocks`,
    /// `remoteIpBlocks`, or a `source.ip` / `remote.ip` condition.
    pub fn reads_source_address(&self) -> bool {
        self.from.iter().flatten().any(|f| {
            !f.ip_blocks.is_empty() || !f.not_ip_blocks.is_empty() || !f.remote_ip_blocks.is_empty()
        }) || self
            .when
            .iter()
            .any(|c| matches!(c.key.as_str(), "source.ip" | "remote.ip"))
    }

    /// Whether the rule reads an address of either end (a `destination.ip` condition too).
    pub fn reads_addresses(&self) -> bool {
        self.reads_source_address() || self.when.iter().any(|c| c.key == "destination.ip")
    }
}

/// An AuthorizationPolicy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationPolicy {
    /// The namespace.
    pub namespace: String,
    /// The name.
    pub name: String,
    /// `selector.matchLabels` (`None`: every workload in scope).
    pub selector: Option<Labels>,
    /// Whether `targetRefs` is used (gateways and waypoints, not sidecars).
    pub target_refs: bool,
    /// The action.
    pub action: AuthzAction,
    /// The CUSTOM provider's name.
    pub provider: Option<String>,
    /// The rules (empty: the policy never matches).
    pub rules: Vec<AuthzRule>,
    /// Where it was declared.
    pub origin: Origin,
}

impl AuthorizationPolicy {
    /// `ns/name`.
    pub fn qualified_name(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// Istio's string match: exact, `prefix*`, `*suffix`, or `*` for any non-empty value.
pub fn string_match(pattern: &str, value: &str) -> bool {
    if pattern == "*" {
        return !value.is_empty();
    }
    if let Some(p) = pattern.strip_suffix('*') {
        return value.starts_with(p);
    }
    if let Some(s) = pattern.strip_prefix('*') {
        return value.ends_with(s);
    }
    pattern == value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_match_forms() {
        assert!(string_match("abc*", "abcd"));
        assert!(string_match("*bcd", "abcd"));
        assert!(string_match("*", "x"));
        assert!(!string_match("*", ""));
        assert!(!string_match("abc", "abcd"));
    }
}
