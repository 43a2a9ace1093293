//! security.istio.io PeerAuthentication and AuthorizationPolicy to the model, with Istio's
//! validation (unknown `when` keys, serviceAccounts combined with principals, modes).

use std::collections::BTreeMap;

use netfence_model::istio::{
    AuthorizationPolicy, AuthzAction, AuthzRule, Condition, MtlsMode, Operation,
    PeerAuthentication, Source,
};
use netfence_model::{Labels, Origin};
use serde_json::Value;

/// An error at a field path.
pub(crate) type FieldError = (String, String);

fn get<'a>(v: &'a Value, k: &str) -> &'a Value {
    v.get(k).unwrap_or(&Value::Null)
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| match x {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .collect()
}

fn match_labels(v: &Value) -> Option<Labels> {
    let m = get(v, "matchLabels").as_object()?;
    let l: Labels = m
        .iter()
        .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
        .collect();
    (!l.is_empty()).then_some(l)
}

fn mode(v: &Value, path: &str) -> Result<MtlsMode, FieldError> {
    match v.as_str() {
        None => Ok(MtlsMode::Unset),
        Some(s) => MtlsMode::parse(s).ok_or_else(|| {
            (
                path.to_string(),
                format!("mode `{s}` is not UNSET, STRICT, PERMISSIVE or DISABLE"),
            )
        }),
    }
}

/// Converts a PeerAuthentication.
pub(crate) fn peer_authentication(
    value: &Value,
    name: &str,
    namespace: &str,
    origin: Origin,
) -> Result<PeerAuthentication, FieldError> {
    let spec = get(value, "spec");
    let selector = match_labels(get(spec, "selector"));
    let mut port_level = BTreeMap::new();
    if let Some(m) = get(spec, "portLevelMtls").as_object() {
        if selector.is_none() {
            return Err((
                "spec.portLevelMtls".into(),
                "portLevelMtls is only honoured on a policy with a workload selector".into(),
            ));
        }
        for (port, v) in m {
            let p: u16 = port.parse().map_err(|_| {
                (
                    format!("spec.portLevelMtls.{port}"),
                    format!("`{port}` is not a port"),
                )
            })?;
            port_level.insert(
                p,
                mode(get(v, "mode"), &format!("spec.portLevelMtls.{port}.mode"))?,
            );
        }
    }
    Ok(PeerAuthentication {
        namespace: namespace.to_string(),
        name: name.to_string(),
        selector,
        mode: mode(
            spec.pointer("/mtls/mode").unwrap_or(&Value::Null),
            "spec.mtls.mode",
        )?,
        port_level,
        created: value
            .pointer("/metadata/creationTimestamp")
            .and_then(Value::as_str)
            .map(str::to_string),
        origin,
    })
}

/// Keys `when` accepts (prefixes for the bracketed ones).
const WHEN_KEYS: [&str; 14] = [
    "request.headers[",
    "source.ip",
    "remote.ip",
    "source.namespace",
    "source.principal",
    "request.auth.principal",
    "request.auth.audiences",
    "request.auth.presenter",
    "request.auth.claims[",
    "destination.ip",
    "destination.port",
    "connection.sni",
    "experimental.envoy.filters.",
    "source.serviceAccount",
];

/// Converts an AuthorizationPolicy.
pub(crate) fn authorization_policy(
    value: &Value,
    name: &str,
    namespace: &str,
    origin: Origin,
) -> Result<AuthorizationPolicy, FieldError> {
    let spec = get(value, "spec");
    let action = match get(spec, "action").as_str() {
        None | Some("ALLOW") => AuthzAction::Allow,
        Some("DENY") => AuthzAction::Deny,
        Some("CUSTOM") => AuthzAction::Custom,
        Some("AUDIT") => AuthzAction::Audit,
        Some(other) => {
            return Err((
                "spec.action".into(),
                format!("action `{other}` is not ALLOW, DENY, CUSTOM or AUDIT"),
            ))
        }
    };
    let target_refs = !get(spec, "targetRefs").is_null() || !get(spec, "targetRef").is_null();
    if target_refs && !get(spec, "selector").is_null() {
        return Err((
            "spec.targetRefs".into(),
            "`selector` and `targetRefs` are exclusive".into(),
        ));
    }
    let mut rules = Vec::new();
    for (i, r) in get(spec, "rules")
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let at = format!("spec.rules[{i}]");
        let from = match get(r, "from").as_array() {
            None => None,
            Some(list) => Some(
                list.iter()
                    .enumerate()
                    .map(|(j, f)| {
                        let s = get(f, "source");
                        let src = Source {
                            principals: strings(get(s, "principals")),
                            not_principals: strings(get(s, "notPrincipals")),
                            namespaces: strings(get(s, "namespaces")),
                            not_namespaces: strings(get(s, "notNamespaces")),
                            service_accounts: strings(get(s, "serviceAccounts")),
                            ip_blocks: strings(get(s, "ipBlocks")),
                            not_ip_blocks: strings(get(s, "notIpBlocks")),
                            remote_ip_blocks: strings(get(s, "remoteIpBlocks")),
                            request_principals: strings(get(s, "requestPrincipals")),
                            not_request_principals: strings(get(s, "notRequestPrincipals")),
                        };
                        let with_identity =
                            !src.principals.is_empty() || !src.namespaces.is_empty();
                        if !src.service_accounts.is_empty() && with_identity {
                            return Err((
                                format!("{at}.from[{j}].source.serviceAccounts"),
                                "serviceAccounts cannot be combined with principals or namespaces"
                                    .into(),
                            ));
                        }
                        Ok(src)
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        let to = get(r, "to").as_array().map(|list| {
            list.iter()
                .map(|t| {
                    let o = get(t, "operation");
                    Operation {
                        hosts: strings(get(o, "hosts")),
                        not_hosts: strings(get(o, "notHosts")),
                        ports: strings(get(o, "ports")),
                        not_ports: strings(get(o, "notPorts")),
                        methods: strings(get(o, "methods")),
                        not_methods: strings(get(o, "notMethods")),
                        paths: strings(get(o, "paths")),
                        not_paths: strings(get(o, "notPaths")),
                    }
                })
                .collect()
        });
        let mut when = Vec::new();
        for (j, c) in get(r, "when").as_array().into_iter().flatten().enumerate() {
            let key = get(c, "key").as_str().unwrap_or_default().to_string();
            if !WHEN_KEYS
                .iter()
                .any(|k| key == *k || (k.ends_with(['[', '.']) && key.starts_with(k)))
            {
                return Err((
                    format!("{at}.when[{j}].key"),
                    format!("unknown condition key `{key}`: Istio rejects the policy"),
                ));
            }
            when.push(Condition {
                key,
                values: strings(get(c, "values")),
                not_values: strings(get(c, "notValues")),
            });
        }
        rules.push(AuthzRule { from, to, when });
    }
    Ok(AuthorizationPolicy {
        namespace: namespace.to_string(),
        name: name.to_string(),
        selector: match_labels(get(spec, "selector")),
        target_refs,
        action,
        provider: spec
            .pointer("/provider/name")
            .and_then(Value::as_str)
            .map(str::to_string),
        rules,
        origin,
    })
}
