//! cilium.io/v2 CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy to the model, with
//! Cilium's namespace scoping of selectors and the CRD's validation.

use netfence_model::cilium::{
    AuthMode, CidrGroup, CidrGroupRef, POD_NAMESPACE_LABEL, RESERVED_PREFIX,
};
use netfence_model::l7::{fqdn_pattern_error, is_kafka_api_key, HeaderMatch};
use netfence_model::{
    CiliumPeer, CiliumPeerRule, CiliumPolicy, CiliumPort, CiliumPortRule, CiliumRule,
    CiliumSubject, Direction, Entity, FqdnPattern, HttpRule, IpSet, KafkaRule, L7Rules,
    LabelSelector, Operator, Origin, PortRef, Protocol, Requirement,
};
use serde_json::Value;

/// An error at a field path.
pub(crate) type FieldError = (String, String);

/// Converts a Cilium policy object; `namespace` is `None` for a clusterwide policy.
/// Warnings (deprecated or partly modelled fields) are pushed with their path.
pub(crate) fn policy(
    value: &Value,
    name: &str,
    namespace: Option<&str>,
    origin: Origin,
    warnings: &mut Vec<FieldError>,
) -> Result<CiliumPolicy, FieldError> {
    let mut rules = Vec::new();
    if let Some(spec) = value.get("spec").filter(|v| !v.is_null()) {
        rules.push(rule(spec, "spec", namespace, warnings)?);
    }
    if let Some(specs) = value.get("specs").filter(|v| !v.is_null()) {
        let arr = specs
            .as_array()
            .ok_or_else(|| ("specs".to_string(), "must be a list of rules".to_string()))?;
        for (i, s) in arr.iter().enumerate() {
            rules.push(rule(s, &format!("specs[{i}]"), namespace, warnings)?);
        }
    }
    if rules.is_empty() {
        return Err((
            "spec".into(),
            "the policy has neither `spec` nor `specs`".into(),
        ));
    }
    Ok(CiliumPolicy {
        namespace: namespace.map(str::to_string),
        name: name.to_string(),
        rules,
        origin,
    })
}

fn rule(
    v: &Value,
    path: &str,
    namespace: Option<&str>,
    warnings: &mut Vec<FieldError>,
) -> Result<CiliumRule, FieldError> {
    let at = |f: &str| format!("{path}.{f}");
    let subject = match (v.get("endpointSelector"), v.get("nodeSelector")) {
        (Some(_), Some(_)) => {
            return Err((
                path.to_string(),
                "a rule has either `endpointSelector` or `nodeSelector`, not both".into(),
            ))
        }
        (Some(sel), None) => {
            let s = selector(sel, &at("endpointSelector"))?;
            CiliumSubject::Endpoints(scope_subject(s, namespace))
        }
        (None, Some(sel)) => {
            if namespace.is_some() {
                return Err((
                    at("nodeSelector"),
                    "`nodeSelector` is only allowed in a CiliumClusterwideNetworkPolicy".into(),
                ));
            }
            CiliumSubject::Nodes(selector(sel, &at("nodeSelector"))?)
        }
        (None, None) => {
            return Err((
                path.to_string(),
                "a rule needs `endpointSelector` or `nodeSelector`".into(),
            ))
        }
    };
    let host = matches!(subject, CiliumSubject::Nodes(_));
    let mut sections = Vec::new();
    for (key, dir, deny) in [
        ("ingress", Direction::Ingress, false),
        ("ingressDeny", Direction::Ingress, true),
        ("egress", Direction::Egress, false),
        ("egressDeny", Direction::Egress, true),
    ] {
        let mut out = Vec::new();
        if let Some(list) = v.get(key).filter(|x| !x.is_null()) {
            let arr = list
                .as_array()
                .ok_or_else(|| (at(key), "must be a list".to_string()))?;
            for (i, r) in arr.iter().enumerate() {
                let p = format!("{}[{i}]", at(key));
                out.push(peer_rule(r, &p, dir, deny, host, namespace, warnings)?);
            }
        }
        sections.push(out);
    }
    let dd = |k: &str| {
        v.pointer(&format!("/enableDefaultDeny/{k}"))
            .and_then(Value::as_bool)
    };
    let mut it = sections.into_iter();
    let mut next = || it.next().unwrap_or_default();
    Ok(CiliumRule {
        subject,
        ingress: next(),
        ingress_deny: next(),
        egress: next(),
        egress_deny: next(),
        default_deny_ingress: dd("ingress"),
        default_deny_egress: dd("egress"),
        path: path.to_string(),
    })
}

/// `endpointSelector` of a namespaced policy: the namespace is always the policy's.
fn scope_subject(mut s: LabelSelector, namespace: Option<&str>) -> LabelSelector {
    if let Some(ns) = namespace {
        s.match_labels.remove(POD_NAMESPACE_LABEL);
        s.match_expressions.retain(|r| r.key != POD_NAMESPACE_LABEL);
        s.match_labels
            .insert(POD_NAMESPACE_LABEL.into(), ns.to_string());
    }
    s
}

/// A peer selector: without a namespace key it is limited to the policy's namespace (or to
/// any namespace, for a clusterwide policy); reserved-label selectors are left alone.
fn scope_peer(mut s: LabelSelector, namespace: Option<&str>) -> LabelSelector {
    let mentions_ns = s.keys().any(|k| k == POD_NAMESPACE_LABEL);
    let reserved = s.keys().any(|k| k.starts_with(RESERVED_PREFIX));
    if mentions_ns || reserved {
        return s;
    }
    match namespace {
        Some(ns) => {
            s.match_labels
                .insert(POD_NAMESPACE_LABEL.into(), ns.to_string());
        }
        None => s.match_expressions.push(Requirement {
            key: POD_NAMESPACE_LABEL.into(),
            operator: Operator::Exists,
            values: Vec::new(),
        }),
    }
    s
}

/// A label key as Cilium reads it: `k8s:` and `any:` source prefixes dropped.
fn key(k: &str) -> String {
    k.strip_prefix("k8s:")
        .or_else(|| k.strip_prefix("any:"))
        .unwrap_or(k)
        .to_string()
}

fn selector(v: &Value, path: &str) -> Result<LabelSelector, FieldError> {
    let sel: k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector =
        serde_json::from_value(v.clone()).map_err(|e| (path.to_string(), e.to_string()))?;
    let mut s = crate::selector::convert(&sel).map_err(|e| (path.to_string(), e))?;
    s.match_labels = s
        .match_labels
        .into_iter()
        .map(|(k, v)| (key(&k), v))
        .collect();
    for r in &mut s.match_expressions {
        r.key = key(&r.key);
    }
    Ok(s)
}

fn list<'a>(v: &'a Value, field: &str, path: &str) -> Result<Option<&'a [Value]>, FieldError> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => Ok(Some(a)),
        Some(_) => Err((format!("{path}.{field}"), "must be a list".into())),
    }
}

fn peer_rule(
    v: &Value,
    path: &str,
    direction: Direction,
    deny: bool,
    host: bool,
    namespace: Option<&str>,
    warnings: &mut Vec<FieldError>,
) -> Result<CiliumPeerRule, FieldError> {
    let dir = match direction {
        Direction::Ingress => "from",
        Direction::Egress => "to",
    };
    let mut peers: Option<Vec<CiliumPeer>> = None;
    let mut add = |p: Option<CiliumPeer>| {
        let list = peers.get_or_insert_with(Vec::new);
        list.extend(p);
    };
    let f = |s: &str| format!("{dir}{s}");
    if let Some(items) = list(v, &f("Endpoints"), path)? {
        add(None);
        for (i, s) in items.iter().enumerate() {
            let p = format!("{path}.{}[{i}]", f("Endpoints"));
            add(Some(CiliumPeer::Endpoints(scope_peer(
                selector(s, &p)?,
                namespace,
            ))));
        }
    }
    if let Some(items) = list(v, &f("Entities"), path)? {
        add(None);
        for (i, e) in items.iter().enumerate() {
            let name = e.as_str().unwrap_or_default();
            let entity = Entity::parse(name).ok_or_else(|| {
                (
                    format!("{path}.{}[{i}]", f("Entities")),
                    format!("unknown entity `{name}` (world, cluster, host, remote-node, kube-apiserver, health, init, ingress, unmanaged, all)"),
                )
            })?;
            add(Some(CiliumPeer::Entity(entity)));
        }
    }
    if let Some(items) = list(v, &f("CIDR"), path)? {
        add(None);
        for (i, c) in items.iter().enumerate() {
            let p = format!("{path}.{}[{i}]", f("CIDR"));
            add(Some(CiliumPeer::Cidr(cidr(
                c.as_str().unwrap_or_default(),
                &p,
            )?)));
        }
    }
    if let Some(items) = list(v, &f("CIDRSet"), path)? {
        add(None);
        for (i, c) in items.iter().enumerate() {
            let p = format!("{path}.{}[{i}]", f("CIDRSet"));
            let except = |p: &str| -> Result<IpSet, FieldError> {
                let mut set = IpSet::empty();
                for (j, e) in c
                    .get("except")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    set = set.union(&cidr(
                        e.as_str().unwrap_or_default(),
                        &format!("{p}.except[{j}]"),
                    )?);
                }
                Ok(set)
            };
            let group_name = c.get("cidrGroupRef").and_then(Value::as_str);
            let group_selector = c.get("cidrGroupSelector").filter(|v| !v.is_null());
            let fields = usize::from(c.get("cidr").is_some_and(|v| !v.is_null()))
                + usize::from(group_name.is_some())
                + usize::from(group_selector.is_some());
            if fields != 1 {
                return Err((
                    p,
                    "a CIDR rule has exactly one of `cidr`, `cidrGroupRef` and `cidrGroupSelector`"
                        .into(),
                ));
            }
            if group_name.is_some() || group_selector.is_some() {
                let selector = match group_selector {
                    Some(s) => Some(selector(s, &format!("{p}.cidrGroupSelector"))?),
                    None => None,
                };
                add(Some(CiliumPeer::CidrGroup(CidrGroupRef {
                    name: group_name.map(str::to_string),
                    selector,
                    except: except(&p)?,
                })));
                continue;
            }
            let set = cidr(
                c.get("cidr").and_then(Value::as_str).unwrap_or_default(),
                &format!("{p}.cidr"),
            )?;
            add(Some(CiliumPeer::Cidr(set.subtract(&except(&p)?))));
        }
    }
    if let Some(items) = list(v, &f("Nodes"), path)? {
        add(None);
        for (i, s) in items.iter().enumerate() {
            let p = format!("{path}.{}[{i}]", f("Nodes"));
            add(Some(CiliumPeer::Nodes(selector(s, &p)?)));
        }
    }
    if direction == Direction::Egress {
        if let Some(items) = list(v, "toServices", path)? {
            if v.get("toPorts").is_some() {
                return Err((
                    format!("{path}.toServices"),
                    "`toServices` cannot be combined with `toPorts`".into(),
                ));
            }
            add(None);
            for (i, s) in items.iter().enumerate() {
                let p = format!("{path}.toServices[{i}]");
                if let Some(k8s) = s.get("k8sService") {
                    add(Some(CiliumPeer::Service {
                        namespace: k8s
                            .get("namespace")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                            .or(namespace.map(str::to_string)),
                        name: k8s
                            .get("serviceName")
                            .and_then(Value::as_str)
                            .map(str::to_string),
                        selector: None,
                    }));
                } else if let Some(k8s) = s.get("k8sServiceSelector") {
                    let sel = k8s.get("selector").cloned().unwrap_or(Value::Null);
                    add(Some(CiliumPeer::Service {
                        namespace: k8s
                            .get("namespace")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                            .or(namespace.map(str::to_string)),
                        name: None,
                        selector: Some(selector(
                            &sel,
                            &format!("{p}.k8sServiceSelector.selector"),
                        )?),
                    }));
                } else {
                    return Err((p, "needs `k8sService` or `k8sServiceSelector`".into()));
                }
            }
        }
        if let Some(items) = list(v, "toFQDNs", path)? {
            if deny {
                return Err((
                    format!("{path}.toFQDNs"),
                    "`toFQDNs` is not allowed in deny rules".into(),
                ));
            }
            add(None);
            for (i, s) in items.iter().enumerate() {
                let p = format!("{path}.toFQDNs[{i}]");
                add(Some(CiliumPeer::Fqdn(fqdn(s, &p)?)));
            }
        }
    }
    let mut requires = Vec::new();
    if let Some(items) = list(v, &f("Requires"), path)? {
        warnings.push((
            format!("{path}.{}", f("Requires")),
            "fromRequires/toRequires are deprecated since Cilium 1.17 and removed in 1.19; modelled with their 1.18 meaning (ANDed into every endpoint selector of the subject)".into(),
        ));
        for (i, s) in items.iter().enumerate() {
            let p = format!("{path}.{}[{i}]", f("Requires"));
            requires.push(selector(s, &p)?);
        }
    }
    let authentication = match v
        .get("authentication")
        .filter(|a| !a.is_null())
        .map(|a| a.get("mode").and_then(Value::as_str))
    {
        None => AuthMode::Disabled,
        Some(Some("disabled")) => AuthMode::Disabled,
        Some(Some("required")) => {
            warnings.push((
                format!("{path}.authentication.mode"),
                "`required`: Cilium admits this rule's traffic only once mutual authentication (SPIFFE) succeeds, which netfence cannot check offline: judged as admitting nothing".into(),
            ));
            AuthMode::Required
        }
        Some(Some("test-always-fail")) => AuthMode::TestAlwaysFail,
        Some(other) => {
            return Err((
                format!("{path}.authentication.mode"),
                format!(
                    "{}: expected disabled, required or test-always-fail",
                    other.map_or("missing".to_string(), |o| format!("unknown mode `{o}`"))
                ),
            ))
        }
    };
    if let Some(other) = ["toGroups"].iter().find(|k| v.get(**k).is_some()) {
        warnings.push((
            format!("{path}.{other}"),
            format!("`{other}` is not modelled: this rule is evaluated without it (docs/dialects/cilium.md)"),
        ));
    }
    let icmp_types = icmps(v, path)?;
    let icmps = v.get("icmps").is_some_and(|x| !x.is_null());
    let to_ports = v.get("toPorts").is_some_and(|x| !x.is_null());
    // The empty rule `- {}` (no L3 and no L4 part) selects no peer: Cilium's default-deny idiom
    // (cilium-cli's all-ingress-deny and all-egress-deny tests expect pod traffic dropped).
    if peers.is_none() && requires.is_empty() && !icmps && !to_ports {
        peers = Some(Vec::new());
    }
    // Requirements grant nothing on their own: a rule with only `fromRequires` selects no peer.
    if peers.is_none() && !requires.is_empty() {
        peers = Some(Vec::new());
    }
    let ports = match list(v, "toPorts", path)? {
        // ICMP only: no TCP, UDP or SCTP port
        None if icmps => Some(Vec::new()),
        None => None,
        Some(items) => {
            let mut out = Vec::new();
            for (i, pr) in items.iter().enumerate() {
                let p = format!("{path}.toPorts[{i}]");
                out.push(port_rule(pr, &p, deny, host)?);
            }
            Some(out)
        }
    };
    Ok(CiliumPeerRule {
        peers,
        requires,
        ports,
        icmps: icmp_types,
        authentication,
        line: None,
    })
}

/// Cilium's ICMP type names (`pkg/policy/api/icmp.go`), IPv4 then IPv6.
const ICMP_V4_NAMES: &[(&str, u8)] = &[
    ("EchoReply", 0),
    ("DestinationUnreachable", 3),
    ("Redirect", 5),
    ("Echo", 8),
    ("EchoRequest", 8),
    ("RouterAdvertisement", 9),
    ("RouterSelection", 10),
    ("TimeExceeded", 11),
    ("ParameterProblem", 12),
    ("Timestamp", 13),
    ("TimestampReply", 14),
    ("Photuris", 40),
    ("ExtendedEchoRequest", 42),
    ("ExtendedEchoReply", 43),
];
const ICMP_V6_NAMES: &[(&str, u8)] = &[
    ("DestinationUnreachable", 1),
    ("PacketTooBig", 2),
    ("TimeExceeded", 3),
    ("ParameterProblem", 4),
    ("EchoRequest", 128),
    ("EchoReply", 129),
    ("MulticastListenerQuery", 130),
    ("MulticastListenerReport", 131),
    ("MulticastListenerDone", 132),
    ("RouterSolicitation", 133),
    ("RouterAdvertisement", 134),
    ("NeighborSolicitation", 135),
    ("NeighborAdvertisement", 136),
    ("RedirectMessage", 137),
    ("RouterRenumbering", 138),
    ("ICMPNodeInformationQuery", 139),
    ("ICMPNodeInformationResponse", 140),
];

/// A rule's `icmps`: `[{fields: [{type: 8, family: IPv4}]}]`, a type a number 0-255 or one of
/// Cilium's names, the family `IPv4` (the default) or `IPv6`.
fn icmps(v: &Value, path: &str) -> Result<Vec<(Protocol, u8)>, FieldError> {
    let mut out = Vec::new();
    for (i, item) in list(v, "icmps", path)?.into_iter().flatten().enumerate() {
        let ipath = format!("{path}.icmps[{i}]");
        for (j, field) in list(item, "fields", &ipath)?
            .into_iter()
            .flatten()
            .enumerate()
        {
            let fpath = format!("{ipath}.fields[{j}]");
            let (family, names) = match field.get("family").and_then(Value::as_str) {
                None | Some("IPv4") => (Protocol::Icmp, ICMP_V4_NAMES),
                Some("IPv6") => (Protocol::IcmpV6, ICMP_V6_NAMES),
                Some(other) => {
                    return Err((
                        format!("{fpath}.family"),
                        format!("family `{other}` is not IPv4 or IPv6"),
                    ))
                }
            };
            let icmp_type = match field.get("type") {
                Some(Value::Number(n)) => n.as_u64().and_then(|t| u8::try_from(t).ok()),
                Some(Value::String(s)) => s
                    .parse::<u8>()
                    .ok()
                    .or_else(|| names.iter().find(|(n, _)| n == s).map(|(_, t)| *t)),
                _ => None,
            };
            let Some(icmp_type) = icmp_type else {
                return Err((
                    format!("{fpath}.type"),
                    format!(
                        "an ICMP type is a number 0-255 or one of {}",
                        names.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
                    ),
                ));
            };
            out.push((family, icmp_type));
        }
    }
    Ok(out)
}

fn cidr(s: &str, path: &str) -> Result<IpSet, FieldError> {
    IpSet::parse_cidr(s).map_err(|e| (path.to_string(), e.0))
}

fn fqdn(v: &Value, path: &str) -> Result<FqdnPattern, FieldError> {
    let (text, literal, field) = match (
        v.get("matchName").and_then(Value::as_str),
        v.get("matchPattern").and_then(Value::as_str),
    ) {
        (Some(n), None) => (n, true, "matchName"),
        (None, Some(p)) => (p, false, "matchPattern"),
        _ => {
            return Err((
                path.to_string(),
                "needs exactly one of `matchName` and `matchPattern`".into(),
            ))
        }
    };
    let pat = FqdnPattern::new(text, literal);
    if let Some(e) = fqdn_pattern_error(&pat.pattern, literal) {
        return Err((format!("{path}.{field}"), format!("`{text}`: {e}")));
    }
    Ok(pat)
}

/// A CiliumCIDRGroup.
pub(crate) fn cidr_group(
    value: &Value,
    name: &str,
    origin: Origin,
) -> Result<CidrGroup, FieldError> {
    let mut cidrs = IpSet::empty();
    for (i, c) in value
        .get("spec")
        .and_then(|s| s.get("externalCIDRs"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        cidrs = cidrs.union(&cidr(
            c.as_str().unwrap_or_default(),
            &format!("spec.externalCIDRs[{i}]"),
        )?);
    }
    let labels = crate::convert::metadata_labels(value);
    Ok(CidrGroup {
        name: name.to_string(),
        labels,
        cidrs,
        origin,
    })
}

/// Replaces every CIDR group reference of `policies` by the CIDRs of the groups it names
/// (minus its `except`); returns a warning `(policy, where, message)` for each name no group
/// has.
pub(crate) fn resolve_cidr_groups(
    policies: &mut [CiliumPolicy],
    groups: &[CidrGroup],
) -> Vec<(String, Origin, String)> {
    let mut warnings = Vec::new();
    for p in policies.iter_mut() {
        let who = p.qualified_name();
        let origin = p.origin.clone();
        for rule in &mut p.rules {
            for section in [
                &mut rule.ingress,
                &mut rule.ingress_deny,
                &mut rule.egress,
                &mut rule.egress_deny,
            ] {
                for pr in section.iter_mut() {
                    for peer in pr.peers.iter_mut().flatten() {
                        let CiliumPeer::CidrGroup(r) = peer else {
                            continue;
                        };
                        let mut set = IpSet::empty();
                        let mut found = false;
                        for g in groups {
                            let named = r.name.as_deref() == Some(g.name.as_str());
                            let selected =
                                r.selector.as_ref().is_some_and(|s| s.matches(&g.labels));
                            if named || selected {
                                found = true;
                                set = set.union(&g.cidrs);
                            }
                        }
                        if let (Some(name), false) = (&r.name, found) {
                            warnings.push((
                                who.clone(),
                                origin.clone(),
                                format!("CiliumCIDRGroup `{name}` is not in the input: its rule matches no address until it exists"),
                            ));
                        }
                        *peer = CiliumPeer::Cidr(set.subtract(&r.except));
                    }
                }
            }
        }
    }
    warnings
}

fn port_rule(v: &Value, path: &str, deny: bool, host: bool) -> Result<CiliumPortRule, FieldError> {
    let mut ports = Vec::new();
    for (i, p) in list(v, "ports", path)?.into_iter().flatten().enumerate() {
        let at = format!("{path}.ports[{i}]");
        let protocol = match p.get("protocol").and_then(Value::as_str).unwrap_or("ANY") {
            "ANY" => None,
            other => Some(Protocol::parse(other).ok_or_else(|| {
                (
                    format!("{at}.protocol"),
                    format!("unknown protocol `{other}` (TCP, UDP, SCTP or ANY)"),
                )
            })?),
        };
        let port = match p.get("port") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => port_number(n.as_u64().unwrap_or(u64::MAX), &at)?,
            Some(Value::String(s)) if s.is_empty() => None,
            Some(Value::String(s)) => match s.parse::<u64>() {
                Ok(n) => port_number(n, &at)?,
                Err(_) => Some(PortRef::Name(s.clone())),
            },
            Some(_) => return Err((format!("{at}.port"), "must be a number or a name".into())),
        };
        let end_port = match p.get("endPort").and_then(Value::as_u64) {
            None | Some(0) => None,
            Some(e) => {
                let e = u16::try_from(e)
                    .map_err(|_| (format!("{at}.endPort"), format!("{e} is not a port")))?;
                if let Some(PortRef::Number(s)) = port {
                    if e < s {
                        return Err((
                            format!("{at}.endPort"),
                            format!("endPort {e} is below port {s}"),
                        ));
                    }
                }
                Some(e)
            }
        };
        ports.push(CiliumPort {
            port,
            end_port,
            protocol,
        });
    }
    let l7 = match v.get("rules").filter(|r| !r.is_null()) {
        None => None,
        Some(r) => {
            let at = format!("{path}.rules");
            if deny {
                return Err((at, "deny rules cannot carry L7 rules".into()));
            }
            if host {
                return Err((
                    at,
                    "host policies (nodeSelector) cannot carry L7 rules".into(),
                ));
            }
            // (L7 rules on a port range are valid since Cilium 1.17)
            Some(l7_rules(r, &at)?)
        }
    };
    let server_names: Vec<String> = v
        .get("serverNames")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|n| n.as_str().map(str::to_string))
        .collect();
    let l7 = match (l7, server_names.is_empty()) {
        (l7, true) => l7,
        (None, false) if deny => {
            return Err((
                format!("{path}.serverNames"),
                "deny rules cannot carry server names".into(),
            ))
        }
        (None, false) => Some(L7Rules::Tls(server_names)),
        (Some(_), false) => {
            return Err((
                format!("{path}.serverNames"),
                "server names together with L7 rules (TLS interception) are not modelled (docs/dialects/cilium.md)".into(),
            ))
        }
    };
    Ok(CiliumPortRule { ports, l7 })
}

fn port_number(n: u64, at: &str) -> Result<Option<PortRef>, FieldError> {
    match n {
        0 => Ok(None),
        1..=65535 => Ok(Some(PortRef::Number(n as u16))),
        _ => Err((format!("{at}.port"), format!("{n} is not a port (1-65535)"))),
    }
}

fn l7_rules(v: &Value, path: &str) -> Result<L7Rules, FieldError> {
    let kinds: Vec<&str> = ["http", "kafka", "dns", "l7"]
        .into_iter()
        .filter(|k| v.get(*k).is_some_and(|x| !x.is_null()))
        .collect();
    if kinds.len() > 1 {
        return Err((
            path.to_string(),
            format!(
                "one kind of L7 rule per port, found {}",
                kinds.join(" and ")
            ),
        ));
    }
    let items = |k: &str| -> Vec<Value> {
        v.get(k)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    match kinds.first().copied() {
        Some("http") => {
            let mut out = Vec::new();
            for (i, h) in items("http").iter().enumerate() {
                let at = format!("{path}.http[{i}]");
                let field = |k: &str| -> Result<Option<String>, FieldError> {
                    match h.get(k).and_then(Value::as_str) {
                        None => Ok(None),
                        Some(re) => {
                            regex::Regex::new(&format!("^(?:{re})$")).map_err(|e| {
                                (
                                    format!("{at}.{k}"),
                                    format!("invalid regular expression: {e}"),
                                )
                            })?;
                            Ok(Some(re.to_string()))
                        }
                    }
                };
                let mut header_matches = Vec::new();
                for (j, m) in h
                    .get("headerMatches")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    let at = format!("{at}.headerMatches[{j}]");
                    if m.get("secret").is_some_and(|s| !s.is_null()) {
                        return Err((
                            format!("{at}.secret"),
                            "a header value read from a Secret is not known offline; netfence cannot decide this match".into(),
                        ));
                    }
                    let mismatch = m
                        .get("mismatch")
                        .and_then(Value::as_str)
                        .map(str::to_string);
                    if let Some(a) = &mismatch {
                        if !matches!(a.as_str(), "LOG" | "ADD" | "DELETE" | "REPLACE") {
                            return Err((
                                format!("{at}.mismatch"),
                                format!(
                                    "unknown mismatch action `{a}` (LOG, ADD, DELETE or REPLACE)"
                                ),
                            ));
                        }
                    }
                    let name = m.get("name").and_then(Value::as_str).unwrap_or_default();
                    if name.is_empty() {
                        return Err((format!("{at}.name"), "a header match needs a `name`".into()));
                    }
                    header_matches.push(HeaderMatch {
                        name: name.to_string(),
                        value: m.get("value").and_then(Value::as_str).map(str::to_string),
                        mismatch,
                    });
                }
                out.push(HttpRule {
                    method: field("method")?,
                    path: field("path")?,
                    host: field("host")?,
                    headers: h
                        .get("headers")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect(),
                    header_matches,
                });
            }
            Ok(L7Rules::Http(out))
        }
        Some("kafka") => {
            let mut out = Vec::new();
            for (i, k) in items("kafka").iter().enumerate() {
                let at = format!("{path}.kafka[{i}]");
                let s = |f: &str| k.get(f).and_then(Value::as_str).map(str::to_string);
                let role = s("role").map(|r| r.to_ascii_lowercase());
                let api_key = s("apiKey").map(|r| r.to_ascii_lowercase());
                if role.is_some() && api_key.is_some() {
                    return Err((at, "`role` and `apiKey` are mutually exclusive".into()));
                }
                if let Some(r) = &role {
                    if r != "produce" && r != "consume" {
                        return Err((
                            format!("{at}.role"),
                            format!("unknown role `{r}` (produce or consume)"),
                        ));
                    }
                }
                if let Some(key) = &api_key {
                    if !is_kafka_api_key(key) {
                        return Err((
                            format!("{at}.apiKey"),
                            format!("unknown Kafka API key `{key}`"),
                        ));
                    }
                }
                let api_version = match s("apiVersion") {
                    None => None,
                    Some(v) => Some(v.parse::<i32>().map_err(|_| {
                        (
                            format!("{at}.apiVersion"),
                            format!("`{v}` is not an integer"),
                        )
                    })?),
                };
                out.push(KafkaRule {
                    role,
                    api_key,
                    api_version,
                    client_id: s("clientID"),
                    topic: s("topic"),
                });
            }
            Ok(L7Rules::Kafka(out))
        }
        Some("dns") => {
            let mut out = Vec::new();
            for (i, d) in items("dns").iter().enumerate() {
                out.push(fqdn(d, &format!("{path}.dns[{i}]"))?);
            }
            Ok(L7Rules::Dns(out))
        }
        Some(other) => Err((
            format!("{path}.{other}"),
            "generic `l7` rules (l7proto) are not modelled (docs/dialects/cilium.md)".into(),
        )),
        None => Err((
            path.to_string(),
            "`rules` needs one of http, kafka or dns".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(yaml: &str, ns: Option<&str>) -> Result<CiliumPolicy, FieldError> {
        let v: Value = serde_saphyr::from_str(yaml).unwrap();
        policy(&v, "p", ns, Origin::default(), &mut Vec::new())
    }

    #[test]
    fn namespaced_selectors_are_scoped_to_the_policy_namespace() {
        let p = load(
            "spec:\n  endpointSelector:\n    matchLabels: {k8s:io.kubernetes.pod.namespace: b, role: be}\n  ingress:\n  - fromEndpoints: [{}]\n  - fromEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: b}}]\n",
            Some("a"),
        )
        .unwrap();
        let r = &p.rules[0];
        let CiliumSubject::Endpoints(s) = &r.subject else {
            panic!()
        };
        assert_eq!(s.match_labels.get(POD_NAMESPACE_LABEL).unwrap(), "a");
        assert_eq!(
            r.ingress[0].peers,
            Some(vec![CiliumPeer::Endpoints(LabelSelector::from_labels([(
                POD_NAMESPACE_LABEL,
                "a"
            )]))])
        );
        assert_eq!(
            r.ingress[1].peers,
            Some(vec![CiliumPeer::Endpoints(LabelSelector::from_labels([(
                POD_NAMESPACE_LABEL,
                "b"
            )]))])
        );
    }

    #[test]
    fn empty_lists_select_nothing_and_missing_fields_everything() {
        let p = load(
            "spec:\n  endpointSelector: {}\n  ingress:\n  - fromEntities: []\n  - toPorts: [{ports: [{port: '80'}]}]\n",
            Some("a"),
        )
        .unwrap();
        assert_eq!(p.rules[0].ingress[0].peers, Some(vec![]));
        assert_eq!(p.rules[0].ingress[1].peers, None);
    }

    #[test]
    fn invalid_fields_are_named() {
        let e = load(
            "spec:\n  endpointSelector: {}\n  egress:\n  - toFQDNs: [{matchPattern: 'a/b'}]\n",
            Some("a"),
        )
        .unwrap_err();
        assert_eq!(e.0, "spec.egress[0].toFQDNs[0].matchPattern");
        let e = load(
            "spec:\n  endpointSelector: {}\n  ingress:\n  - toPorts: [{ports: [{port: '80'}], rules: {http: [{path: '(['}]}}]\n",
            Some("a"),
        )
        .unwrap_err();
        assert_eq!(e.0, "spec.ingress[0].toPorts[0].rules.http[0].path");
        let e = load(
            "spec:\n  endpointSelector: {}\n  ingressDeny:\n  - toPorts: [{ports: [{port: '80'}], rules: {http: [{}]}}]\n",
            Some("a"),
        )
        .unwrap_err();
        assert!(e.1.contains("deny rules cannot carry L7"), "{e:?}");
    }
}
