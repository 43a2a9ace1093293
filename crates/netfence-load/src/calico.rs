//! projectcalico.org/v3 NetworkPolicy, GlobalNetworkPolicy, Staged*NetworkPolicy and Tier to
//! the model, with Calico's validation (selectors parsed with their position, ports need a
//! protocol, types defaulting).

use netfence_model::calico::{
    Action, CalicoPolicy, EntityRule, HttpMatch, NetworkSet, Port, Rule, Selector,
    ServiceAccountMatch, Tier,
};
use netfence_model::{Direction, IpSet, Origin, Protocol};
use serde_json::Value;

/// An error at a field path.
pub(crate) type FieldError = (String, String);

fn selector(v: &Value, path: &str) -> Result<Option<Selector>, FieldError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Selector::parse(s)
            .map(Some)
            .map_err(|e| (path.to_string(), format!("selector `{s}`: {e}"))),
        _ => Err((path.to_string(), "a selector is a string".into())),
    }
}

fn get<'a>(v: &'a Value, k: &str) -> &'a Value {
    v.get(k).unwrap_or(&Value::Null)
}

fn order(v: &Value, path: &str) -> Result<Option<f64>, FieldError> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => Ok(n.as_f64()),
        _ => Err((path.to_string(), "order is a number".into())),
    }
}

/// Converts a policy object; `namespace` is `None` for a global policy.
pub(crate) fn policy(
    value: &Value,
    name: &str,
    namespace: Option<&str>,
    staged: bool,
    origin: Origin,
    warnings: &mut Vec<FieldError>,
) -> Result<CalicoPolicy, FieldError> {
    let spec = get(value, "spec");
    let tier = get(spec, "tier").as_str().unwrap_or("default").to_string();
    let sel = selector(get(spec, "selector"), "spec.selector")?.unwrap_or(Selector::All);
    let namespace_selector = selector(get(spec, "namespaceSelector"), "spec.namespaceSelector")?;
    if namespace.is_some() && namespace_selector.is_some() {
        return Err((
            "spec.namespaceSelector".into(),
            "only a GlobalNetworkPolicy has `namespaceSelector`".into(),
        ));
    }
    let service_account_selector = selector(
        get(spec, "serviceAccountSelector"),
        "spec.serviceAccountSelector",
    )?;
    let (mut ingress, mut egress) = (Vec::new(), Vec::new());
    for key in ["ingress", "egress"] {
        let list = match get(spec, key) {
            Value::Null => continue,
            Value::Array(a) => a,
            _ => return Err((format!("spec.{key}"), "must be a list".into())),
        };
        for (i, r) in list.iter().enumerate() {
            let rules = if key == "ingress" {
                &mut ingress
            } else {
                &mut egress
            };
            rules.push(rule(
                r,
                &format!("spec.{key}[{i}]"),
                if key == "ingress" {
                    Direction::Ingress
                } else {
                    Direction::Egress
                },
                warnings,
            )?);
        }
    }
    let (applies_ingress, applies_egress) = match get(spec, "types") {
        Value::Null => match (ingress.is_empty(), egress.is_empty()) {
            // Calico: an egress-only policy is Egress only (Kubernetes would add Ingress).
            (true, false) => (false, true),
            (false, false) => (true, true),
            _ => (true, false),
        },
        Value::Array(a) => {
            let mut t = (false, false);
            for (i, x) in a.iter().enumerate() {
                match x.as_str() {
                    Some("Ingress") => t.0 = true,
                    Some("Egress") => t.1 = true,
                    _ => {
                        return Err((
                            format!("spec.types[{i}]"),
                            "a type is Ingress or Egress".into(),
                        ))
                    }
                }
            }
            t
        }
        _ => return Err(("spec.types".into(), "must be a list".into())),
    };
    let mut host_flags = Vec::new();
    for flag in ["doNotTrack", "preDNAT", "applyOnForward"] {
        if get(spec, flag).as_bool() == Some(true) {
            host_flags.push(flag);
        }
    }
    if !host_flags.is_empty() {
        warnings.push((
            "spec".into(),
            format!(
                "{} apply to host endpoints, which netfence does not model: the policy is evaluated for pods only (docs/dialects/calico.md)",
                host_flags.join(", ")
            ),
        ));
    }
    Ok(CalicoPolicy {
        namespace: namespace.map(str::to_string),
        name: name.to_string(),
        tier,
        order: order(get(spec, "order"), "spec.order")?,
        selector: sel,
        namespace_selector,
        service_account_selector,
        applies_ingress,
        applies_egress,
        ingress,
        egress,
        staged,
        host_flags,
        origin,
    })
}

fn protocol(v: &Value, path: &str) -> Result<(Option<Protocol>, Option<String>), FieldError> {
    match v {
        Value::Null => Ok((None, None)),
        // numorstring.Protocol: a string of digits is a number (`protocol: "1"`)
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            match s.parse::<u64>() {
                Ok(n) => protocol(&Value::from(n), path),
                Err(_) => Err((path.to_string(), "a protocol number is 1-255".into())),
            }
        }
        Value::String(s) => match s.as_str() {
            "TCP" => Ok((Some(Protocol::Tcp), None)),
            "UDP" => Ok((Some(Protocol::Udp), None)),
            "SCTP" => Ok((Some(Protocol::Sctp), None)),
            "ICMP" => Ok((Some(Protocol::Icmp), None)),
            "ICMPv6" => Ok((Some(Protocol::IcmpV6), None)),
            "UDPLite" => Ok((None, Some(s.clone()))),
            _ => Err((
                path.to_string(),
                format!("unknown protocol `{s}` (TCP, UDP, SCTP, ICMP, ICMPv6, UDPLite or 1-255)"),
            )),
        },
        Value::Number(n) => match n.as_u64() {
            Some(6) => Ok((Some(Protocol::Tcp), None)),
            Some(17) => Ok((Some(Protocol::Udp), None)),
            Some(132) => Ok((Some(Protocol::Sctp), None)),
            Some(1) => Ok((Some(Protocol::Icmp), None)),
            Some(58) => Ok((Some(Protocol::IcmpV6), None)),
            Some(x @ 1..=255) => Ok((None, Some(x.to_string()))),
            _ => Err((path.to_string(), "a protocol number is 1-255".into())),
        },
        _ => Err((path.to_string(), "a protocol is a name or a number".into())),
    }
}

fn rule(
    v: &Value,
    path: &str,
    dir: Direction,
    warnings: &mut Vec<FieldError>,
) -> Result<Rule, FieldError> {
    let action = match get(v, "action").as_str() {
        Some("Allow") => Action::Allow,
        Some("Deny") => Action::Deny,
        Some("Log") => Action::Log,
        Some("Pass") => Action::Pass,
        other => {
            return Err((
                format!("{path}.action"),
                format!(
                    "action `{}` is not Allow, Deny, Log or Pass",
                    other.unwrap_or("")
                ),
            ))
        }
    };
    let (proto, other_protocol) = protocol(get(v, "protocol"), &format!("{path}.protocol"))?;
    let (not_protocol, _) = protocol(get(v, "notProtocol"), &format!("{path}.notProtocol"))?;
    let source = entity(get(v, "source"), &format!("{path}.source"), warnings)?;
    let destination = entity(
        get(v, "destination"),
        &format!("{path}.destination"),
        warnings,
    )?;
    // Calico's validator wants a protocol for numeric ports only: a named port carries its
    // own protocol (it matches the pods' ports of that name, whatever their protocol).
    let numeric = |ps: &Option<Vec<Port>>| {
        ps.iter()
            .flatten()
            .any(|p| matches!(p, Port::Number(_) | Port::Range(..)))
    };
    let has_numeric = |e: &EntityRule| numeric(&e.ports) || numeric(&e.not_ports);
    if (has_numeric(&source) || has_numeric(&destination)) && proto.is_none_or(Protocol::is_icmp) {
        return Err((
            format!("{path}.protocol"),
            "numeric ports need `protocol: TCP`, `UDP` or `SCTP` (the API server rejects the rule)"
                .into(),
        ));
    }
    let icmp = icmp_match(get(v, "icmp"), &format!("{path}.icmp"), proto, warnings)?;
    let not_icmp = icmp_match(
        get(v, "notICMP"),
        &format!("{path}.notICMP"),
        proto,
        warnings,
    )?;
    if !source.domains.is_empty() {
        return Err((
            format!("{path}.source.domains"),
            "domains are for egress destinations only".into(),
        ));
    }
    let http = match get(v, "http") {
        Value::Null => None,
        h => {
            if dir == Direction::Egress {
                return Err((
                    format!("{path}.http"),
                    "http matches are for ingress rules only".into(),
                ));
            }
            let methods = strings(get(h, "methods"));
            let mut paths = Vec::new();
            for (i, p) in get(h, "paths").as_array().into_iter().flatten().enumerate() {
                match (
                    p.get("exact").and_then(Value::as_str),
                    p.get("prefix").and_then(Value::as_str),
                ) {
                    (Some(e), None) => paths.push((true, e.to_string())),
                    (None, Some(x)) => paths.push((false, x.to_string())),
                    _ => {
                        return Err((
                            format!("{path}.http.paths[{i}]"),
                            "a path has exactly one of `exact` and `prefix`".into(),
                        ))
                    }
                }
            }
            Some(HttpMatch { methods, paths })
        }
    };
    Ok(Rule {
        action,
        protocol: proto,
        other_protocol,
        icmp,
        not_icmp,
        not_protocol,
        source,
        destination,
        http,
        line: None,
    })
}

/// A rule's `icmp` or `notICMP` (Calico's validator: only with `protocol: ICMP` or `ICMPv6`,
/// type 0-254, code 0-255 and only with a type).
fn icmp_match(
    v: &Value,
    path: &str,
    protocol: Option<Protocol>,
    warnings: &mut Vec<(String, String)>,
) -> Result<Option<netfence_model::calico::IcmpMatch>, FieldError> {
    if v.is_null() {
        return Ok(None);
    }
    if !protocol.is_some_and(Protocol::is_icmp) {
        return Err((
            path.to_string(),
            "an ICMP match needs `protocol: ICMP` or `ICMPv6` (the API server rejects the rule)"
                .into(),
        ));
    }
    let int = |k: &str, max: u64| -> Result<Option<u8>, FieldError> {
        match v.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(n) => n
                .as_u64()
                .filter(|x| *x <= max)
                .and_then(|x| u8::try_from(x).ok())
                .map(Some)
                .ok_or_else(|| (format!("{path}.{k}"), format!("an ICMP {k} is 0-{max}"))),
        }
    };
    let code = int("code", 255)?;
    // `icmp: {}` restricts nothing: every type of the rule's protocol
    if code.is_none() && v.get("type").is_none_or(Value::is_null) {
        return Ok(None);
    }
    let Some(icmp_type) = int("type", 254)? else {
        return Err((
            format!("{path}.type"),
            "an ICMP match needs a `type` (a code alone is rejected)".into(),
        ));
    };
    if code.is_some() {
        warnings.push((
            format!("{path}.code"),
            format!("ICMP codes are not modelled: the rule is read as matching every code of type {icmp_type}"),
        ));
    }
    Ok(Some(netfence_model::calico::IcmpMatch { icmp_type, code }))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str().map(str::to_string))
        .collect()
}

fn nets(v: &Value, path: &str) -> Result<Option<IpSet>, FieldError> {
    let Some(list) = v.as_array() else {
        return Ok(None);
    };
    let mut set = IpSet::empty();
    for (i, c) in list.iter().enumerate() {
        let c = c.as_str().unwrap_or_default();
        set = set.union(&IpSet::parse_cidr(c).map_err(|e| (format!("{path}[{i}]"), e.0))?);
    }
    Ok(Some(set))
}

fn ports(v: &Value, path: &str) -> Result<Option<Vec<Port>>, FieldError> {
    let Some(list) = v.as_array() else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for (i, p) in list.iter().enumerate() {
        let at = format!("{path}[{i}]");
        let bad = || {
            (
                at.clone(),
                "a port is 1-65535, \"lo:hi\" or a port name".to_string(),
            )
        };
        out.push(match p {
            Value::Number(n) => Port::Number(
                n.as_u64()
                    .and_then(|x| u16::try_from(x).ok())
                    .filter(|x| *x > 0)
                    .ok_or_else(bad)?,
            ),
            Value::String(s) => match s.split_once(':') {
                Some((lo, hi)) => {
                    let (lo, hi) = (
                        lo.parse::<u16>().map_err(|_| bad())?,
                        hi.parse::<u16>().map_err(|_| bad())?,
                    );
                    if lo == 0 || lo > hi {
                        return Err((at, format!("range {lo}:{hi} is empty or starts at 0")));
                    }
                    Port::Range(lo, hi)
                }
                None => match s.parse::<u16>() {
                    Ok(n) if n > 0 => Port::Number(n),
                    Ok(_) => return Err(bad()),
                    Err(_) => Port::Named(s.clone()),
                },
            },
            _ => return Err(bad()),
        });
    }
    Ok(Some(out))
}

fn entity(v: &Value, path: &str, warnings: &mut Vec<FieldError>) -> Result<EntityRule, FieldError> {
    if v.is_null() {
        return Ok(EntityRule::default());
    }
    let service_accounts = match get(v, "serviceAccounts") {
        Value::Null => None,
        sa => Some(ServiceAccountMatch {
            names: strings(get(sa, "names")),
            selector: selector(
                get(sa, "selector"),
                &format!("{path}.serviceAccounts.selector"),
            )?,
        }),
    };
    let services = match get(v, "services") {
        Value::Null => None,
        s => Some((
            get(s, "name").as_str().unwrap_or_default().to_string(),
            get(s, "namespace").as_str().map(str::to_string),
        )),
    };
    let domains = strings(get(v, "domains"));
    if !domains.is_empty() {
        warnings.push((
            format!("{path}.domains"),
            "`domains` (DNS policy) is a Calico Enterprise/Cloud feature: Calico OSS does not enforce it, so this rule matches no traffic there".into(),
        ));
    }
    Ok(EntityRule {
        nets: nets(get(v, "nets"), &format!("{path}.nets"))?,
        not_nets: nets(get(v, "notNets"), &format!("{path}.notNets"))?,
        selector: selector(get(v, "selector"), &format!("{path}.selector"))?,
        not_selector: selector(get(v, "notSelector"), &format!("{path}.notSelector"))?,
        namespace_selector: selector(
            get(v, "namespaceSelector"),
            &format!("{path}.namespaceSelector"),
        )?,
        service_accounts,
        services,
        ports: ports(get(v, "ports"), &format!("{path}.ports"))?,
        not_ports: ports(get(v, "notPorts"), &format!("{path}.notPorts"))?,
        domains,
    })
}

/// Converts a Tier.
/// A NetworkSet (`namespace` set) or GlobalNetworkSet.
pub(crate) fn network_set(
    value: &Value,
    name: &str,
    namespace: Option<&str>,
    origin: Origin,
) -> Result<NetworkSet, FieldError> {
    let spec = get(value, "spec");
    if get(spec, "allowedEgressDomains")
        .as_array()
        .is_some_and(|d| !d.is_empty())
    {
        return Err((
            "spec.allowedEgressDomains".into(),
            "domain-based network sets are Calico Enterprise's; netfence does not model them"
                .into(),
        ));
    }
    let nets = nets(get(spec, "nets"), "spec.nets")?.unwrap_or_else(IpSet::empty);
    let labels = crate::convert::metadata_labels(value);
    Ok(NetworkSet {
        namespace: namespace.map(str::to_string),
        name: name.to_string(),
        labels,
        nets,
        origin,
    })
}

pub(crate) fn tier(value: &Value, name: &str, origin: Origin) -> Result<Tier, FieldError> {
    let spec = get(value, "spec");
    let default_pass = match get(spec, "defaultAction").as_str() {
        None | Some("Deny") => false,
        Some("Pass") => true,
        Some(other) => {
            return Err((
                "spec.defaultAction".into(),
                format!("defaultAction `{other}` is not Deny or Pass"),
            ))
        }
    };
    Ok(Tier {
        name: name.to_string(),
        order: order(get(spec, "order"), "spec.order")?,
        default_pass,
        origin: Some(origin),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(yaml: &str) -> Result<CalicoPolicy, FieldError> {
        let v: Value = serde_saphyr::from_str(yaml).unwrap();
        policy(
            &v,
            "p",
            Some("a"),
            false,
            Origin::default(),
            &mut Vec::new(),
        )
    }

    #[test]
    fn protocols_as_digit_strings_and_an_empty_icmp_match_load() {
        let p = load(
            "spec:\n  selector: all()\n  ingress:\n  - action: Allow\n    protocol: \"1\"\n    icmp: {}\n  - action: Allow\n    protocol: \"6\"\n",
        )
        .unwrap();
        assert_eq!(p.ingress[0].protocol, Some(Protocol::Icmp));
        assert!(p.ingress[0].icmp.is_none());
        assert_eq!(p.ingress[1].protocol, Some(Protocol::Tcp));
        assert!(load(
            "spec:\n  selector: all()\n  ingress:\n  - action: Allow\n    protocol: \"300\"\n"
        )
        .is_err());
    }

    #[test]
    fn types_default_as_calico_does() {
        let egress_only = load("spec:\n  selector: all()\n  egress:\n  - action: Allow\n").unwrap();
        assert_eq!(
            (egress_only.applies_ingress, egress_only.applies_egress),
            (false, true)
        );
        let none = load("spec:\n  selector: all()\n").unwrap();
        assert_eq!((none.applies_ingress, none.applies_egress), (true, false));
    }

    #[test]
    fn ports_without_protocol_and_bad_selectors_are_errors() {
        let e = load("spec:\n  ingress:\n  - action: Allow\n    destination: {ports: [8080]}\n")
            .unwrap_err();
        assert_eq!(e.0, "spec.ingress[0].protocol", "CA19");
        let e = load("spec:\n  selector: app == web\n").unwrap_err();
        assert_eq!(e.0, "spec.selector");
        assert!(e.1.contains("at character 8"), "{}", e.1);
        let e = load("spec:\n  ingress:\n  - action: Accept\n").unwrap_err();
        assert_eq!(e.0, "spec.ingress[0].action");
    }

    #[test]
    fn network_sets_read_their_labels_and_nets() {
        let v: Value = serde_saphyr::from_str(
            "metadata: {name: db, labels: {role: db}}\nspec: {nets: [198.51.100.0/28, 203.0.113.7/32]}\n",
        )
        .unwrap();
        let set = network_set(&v, "db", None, Origin::default()).unwrap();
        assert_eq!(set.labels.get("role").map(String::as_str), Some("db"));
        assert!(set.nets.contains("203.0.113.7".parse().unwrap()));
        assert!(!set.nets.contains("203.0.113.8".parse().unwrap()));
        let bad: Value = serde_saphyr::from_str("spec: {nets: [300.1.1.1/8]}\n").unwrap();
        assert_eq!(
            network_set(&bad, "x", Some("a"), Origin::default())
                .unwrap_err()
                .0,
            "spec.nets[0]"
        );
        let domains: Value =
            serde_saphyr::from_str("spec: {allowedEgressDomains: [example.com]}\n").unwrap();
        assert_eq!(
            network_set(&domains, "x", None, Origin::default())
                .unwrap_err()
                .0,
            "spec.allowedEgressDomains"
        );
    }

    #[test]
    fn named_ports_need_no_protocol() {
        // Calico's validator exempts named ports (they carry their own protocol)
        let p = load("spec:\n  ingress:\n  - action: Allow\n    destination: {ports: [http]}\n")
            .unwrap();
        assert_eq!(p.ingress[0].protocol, None);
        assert_eq!(
            p.ingress[0].destination.ports,
            Some(vec![Port::Named("http".into())])
        );
        let e =
            load("spec:\n  ingress:\n  - action: Allow\n    destination: {ports: [http, 443]}\n")
                .unwrap_err();
        assert_eq!(e.0, "spec.ingress[0].protocol");
    }

    #[test]
    fn port_ranges_and_names() {
        let p = load("spec:\n  ingress:\n  - action: Allow\n    protocol: TCP\n    destination: {ports: ['8000:8100', http, 443]}\n").unwrap();
        assert_eq!(
            p.ingress[0].destination.ports,
            Some(vec![
                Port::Range(8000, 8100),
                Port::Named("http".into()),
                Port::Number(443)
            ])
        );
    }
}
