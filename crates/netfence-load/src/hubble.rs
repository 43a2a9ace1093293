//! Hubble flow logs: one JSON record per line, as `hubble observe -o json` (a
//! `GetFlowsResponse` envelope `{"flow": ...}`), the Hubble exporter, or the legacy bare flow
//! object print them. Records without a flow (`lost_events`, node status) are counted.

use std::net::IpAddr;

use netfence_model::cilium::{POD_NAMESPACE_LABEL, RESERVED_PREFIX, SERVICE_ACCOUNT_LABEL};
use netfence_model::flow::{FlowEnd, ObservedFlow, Verdict};
use netfence_model::{Entity, L7Request, Labels, Protocol};
use serde_json::Value;

use crate::err::LoadError;

/// Flows read from one log.
#[derive(Debug, Default)]
pub struct Flows {
    /// The flows, in file order.
    pub flows: Vec<ObservedFlow>,
    /// Records that carry no flow (`lost_events`, node events).
    pub other_records: usize,
    /// Lines that are not valid records.
    pub errors: Vec<LoadError>,
}

/// `GetFlowsResponse` records that carry no flow.
const NON_FLOW_RECORDS: &[&str] = &["lost_events", "node_status"];

/// Verdicts Hubble reports that decide nothing about policy (`flow.proto`'s `Verdict`).
const OTHER_VERDICTS: &[&str] = &[
    "ERROR",
    "REDIRECTED",
    "TRACED",
    "TRANSLATED",
    "VERDICT_UNKNOWN",
];

/// Parses a Hubble JSON-lines log named `name`.
pub fn parse(name: &str, text: &str) -> Flows {
    let mut out = Flows::default();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let err = |message: String| LoadError {
            file: name.to_string(),
            document: line_no,
            line: Some(line_no),
            object: None,
            field: None,
            message,
            help: Some("expected one `hubble observe -o json` record per line".into()),
        };
        let line = line.strip_prefix('\u{feff}').unwrap_or(line);
        let v: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                out.errors.push(err(format!("invalid JSON: {e}")));
                continue;
            }
        };
        let flow = match &v {
            Value::Object(m) => match m.get("flow") {
                Some(f @ Value::Object(_)) => f,
                Some(_) => {
                    out.errors.push(err("`flow` must be an object".into()));
                    continue;
                }
                None if m.contains_key("verdict") || m.contains_key("source") => &v,
                None if NON_FLOW_RECORDS.iter().any(|k| m.contains_key(*k)) => {
                    out.other_records += 1;
                    continue;
                }
                None => {
                    out.errors.push(err(
                        "not a Hubble record: it has no `flow`, `lost_events` or `node_status`"
                            .into(),
                    ));
                    continue;
                }
            },
            Value::Array(_) => {
                out.errors.push(LoadError {
                    help: Some("`hubble observe -o json` prints one record per line; turn an array into lines with `jq -c '.[]'`".into()),
                    ..err("a JSON array is not a Hubble record".into())
                });
                continue;
            }
            other => {
                out.errors.push(err(format!(
                    "a Hubble record must be a JSON object, not {}",
                    crate::schema::type_name(other)
                )));
                continue;
            }
        };
        match convert(flow, line_no) {
            Ok(f) => out.flows.push(f),
            Err(m) => out.errors.push(err(m)),
        }
    }
    out
}

fn s<'a>(v: &'a Value, path: &str) -> Option<&'a str> {
    v.pointer(path).and_then(Value::as_str)
}

fn end(v: Option<&Value>, ip: Option<&str>) -> FlowEnd {
    let mut e = FlowEnd {
        ip: ip.and_then(|i| i.parse::<IpAddr>().ok()),
        ..FlowEnd::default()
    };
    let Some(v) = v else { return e };
    e.namespace = s(v, "/namespace")
        .filter(|x| !x.is_empty())
        .map(str::to_string);
    e.pod = s(v, "/pod_name")
        .filter(|x| !x.is_empty())
        .map(str::to_string);
    let mut labels = Labels::new();
    for l in v
        .get("labels")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(l) = l.as_str() else { continue };
        if let Some(r) = l.strip_prefix(RESERVED_PREFIX) {
            let r = r.split('=').next().unwrap_or(r);
            if e.entity.is_none() {
                e.entity = Entity::parse(r);
            }
            continue;
        }
        let l = l.split_once(':').map_or(l, |(src, rest)| {
            if matches!(src, "k8s" | "any" | "container" | "unspec") {
                rest
            } else {
                l
            }
        });
        let (k, val) = l.split_once('=').unwrap_or((l, ""));
        if k == SERVICE_ACCOUNT_LABEL {
            e.service_account = Some(val.to_string());
        } else if k.starts_with("io.cilium.k8s.") || k == POD_NAMESPACE_LABEL {
            continue;
        } else {
            labels.insert(k.to_string(), val.to_string());
        }
    }
    e.labels = labels;
    e
}

fn convert(f: &Value, line: usize) -> Result<ObservedFlow, String> {
    let verdict = match s(f, "/verdict") {
        Some("FORWARDED") => Verdict::Forwarded,
        Some("DROPPED") => Verdict::Dropped,
        Some("AUDIT") => Verdict::Audit,
        Some(v) if OTHER_VERDICTS.contains(&v) => Verdict::Other,
        Some(v) => {
            return Err(format!(
                "unknown verdict `{v}` (FORWARDED, DROPPED, AUDIT, ERROR, REDIRECTED, TRACED, TRANSLATED)"
            ))
        }
        None => return Err("the flow has no `verdict`".into()),
    };
    let (protocol, port) = match f.get("l4") {
        None | Some(Value::Null) => (None, None),
        Some(Value::Object(l4)) => {
            let mut found = (None, None);
            for (key, proto, field) in [
                ("TCP", Protocol::Tcp, "destination_port"),
                ("UDP", Protocol::Udp, "destination_port"),
                ("SCTP", Protocol::Sctp, "destination_port"),
                ("ICMPv4", Protocol::Icmp, "type"),
                ("ICMPv6", Protocol::IcmpV6, "type"),
            ] {
                let Some(x) = l4.get(key) else { continue };
                // protobuf's JSON leaves zero out: an ICMP record without `type` is type 0
                let max = if proto.is_icmp() { 255 } else { 65535 };
                let value = match x.get(field) {
                    None if proto.is_icmp() => Some(0),
                    None => None,
                    Some(Value::Number(n)) => Some(
                        n.as_u64()
                            .filter(|v| *v <= max)
                            .and_then(|v| u16::try_from(v).ok())
                            .ok_or_else(|| format!("l4.{key}.{field} {n} is outside 0-{max}"))?,
                    ),
                    Some(other) => {
                        return Err(format!(
                            "l4.{key}.{field} must be a number, not {}",
                            crate::schema::type_name(other)
                        ))
                    }
                };
                found = (Some(proto), value);
            }
            if !l4.is_empty()
                && !l4
                    .keys()
                    .any(|k| ["TCP", "UDP", "SCTP", "ICMPv4", "ICMPv6"].contains(&k.as_str()))
            {
                return Err("`l4` names no protocol (TCP, UDP, SCTP, ICMPv4 or ICMPv6)".into());
            }
            found
        }
        Some(other) => {
            return Err(format!(
                "`l4` must be an object, not {}",
                crate::schema::type_name(other)
            ))
        }
    };
    let mut l7 = None;
    let mut l7_response = false;
    let mut dns_answer = None;
    if let Some(rec) = f.get("l7") {
        l7_response = s(rec, "/type") != Some("REQUEST");
        if let Some(h) = rec.get("http") {
            let url = s(h, "/url").unwrap_or("/");
            let (host, path) = match url.split_once("://") {
                Some((_, rest)) => match rest.find('/') {
                    Some(i) => (Some(rest[..i].to_string()), rest[i..].to_string()),
                    None => (Some(rest.to_string()), "/".to_string()),
                },
                None => (None, url.to_string()),
            };
            let headers = h
                .get("headers")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|x| Some((s(x, "/key")?.to_string(), s(x, "/value")?.to_string())))
                .collect();
            l7 = Some(L7Request::Http {
                method: s(h, "/method").unwrap_or("GET").to_string(),
                path,
                host,
                headers,
            });
        } else if let Some(d) = rec.get("dns") {
            let name = s(d, "/query")
                .unwrap_or_default()
                .trim_end_matches('.')
                .to_string();
            if l7_response {
                let ips = d
                    .get("ips")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|x| x.as_str()?.parse().ok())
                    .collect();
                dns_answer = Some((name.clone(), ips));
            }
            l7 = Some(L7Request::Dns { name });
        } else if let Some(k) = rec.get("kafka") {
            l7 = Some(L7Request::Kafka {
                api_key: s(k, "/api_key").unwrap_or_default().to_ascii_lowercase(),
                api_version: k
                    .get("api_version")
                    .and_then(Value::as_i64)
                    .and_then(|v| i32::try_from(v).ok()),
                client_id: None,
                topics: s(k, "/topic")
                    .map(|t| vec![t.to_string()])
                    .unwrap_or_default(),
            });
        }
    }
    let decided_by = [
        "ingress_allowed_by",
        "egress_allowed_by",
        "ingress_denied_by",
        "egress_denied_by",
    ]
    .iter()
    .flat_map(|k| f.get(*k).and_then(Value::as_array).into_iter().flatten())
    .map(|p| {
        let name = s(p, "/name").unwrap_or_default();
        let kind = s(p, "/kind").unwrap_or_default();
        match s(p, "/namespace") {
            Some(ns) => format!("{ns}/{name} ({kind})"),
            None => format!("{name} ({kind})"),
        }
    })
    .collect();
    Ok(ObservedFlow {
        line,
        verdict,
        drop_reason: s(f, "/drop_reason_desc").map(str::to_string),
        is_reply: f.get("is_reply").and_then(Value::as_bool).unwrap_or(false)
            || f.get("reply").and_then(Value::as_bool).unwrap_or(false),
        src: end(f.get("source"), s(f, "/IP/source")),
        dst: end(f.get("destination"), s(f, "/IP/destination")),
        protocol,
        port,
        l7,
        l7_response,
        dst_names: f
            .get("destination_names")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_str().map(|n| n.trim_end_matches('.').to_string()))
            .collect(),
        dns_answer,
        decided_by,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_bare_and_other_records() {
        let text = r#"{"flow":{"verdict":"FORWARDED","IP":{"source":"10.0.0.1","destination":"1.2.3.4"},"l4":{"TCP":{"source_port":1234,"destination_port":443}},"source":{"namespace":"shop","pod_name":"api-1","labels":["k8s:app=api","k8s:io.cilium.k8s.policy.serviceaccount=api","k8s:io.kubernetes.pod.namespace=shop"]},"destination":{"labels":["reserved:world"]},"destination_names":["api.stripe.com"]}}
{"verdict":"DROPPED","drop_reason_desc":"POLICY_DENIED","l4":{"UDP":{"destination_port":53}},"source":{"namespace":"a","pod_name":"x"},"destination":{"namespace":"b","pod_name":"y"}}
{"lost_events":{"source":"HUBBLE_RING_BUFFER","num_events_lost":3}}
not json
"#;
        let f = parse("f.jsonl", text);
        assert_eq!(f.flows.len(), 2);
        assert_eq!(f.other_records, 1);
        assert_eq!(f.errors.len(), 1);
        assert_eq!(f.errors[0].line, Some(4));
        let a = &f.flows[0];
        assert_eq!(a.src.labels.get("app").map(String::as_str), Some("api"));
        assert_eq!(a.src.labels.len(), 1);
        assert_eq!(a.src.service_account.as_deref(), Some("api"));
        assert_eq!(a.dst.entity, Some(Entity::World));
        assert_eq!(a.dst_names, vec!["api.stripe.com".to_string()]);
        assert_eq!((a.protocol, a.port), (Some(Protocol::Tcp), Some(443)));
        assert!(f.flows[1].policy_drop());
    }

    /// ICMP records carry their type (protobuf's JSON leaves type 0 out); a type past 255 is
    /// an error on its line.
    #[test]
    fn icmp_records_carry_their_type() {
        let ends = r#""source":{"namespace":"a","pod_name":"x"},"destination":{"namespace":"b","pod_name":"y"}"#;
        let text = [
            format!(r#"{{"verdict":"FORWARDED","l4":{{"ICMPv4":{{"type":8}}}},{ends}}}"#),
            format!(r#"{{"verdict":"FORWARDED","l4":{{"ICMPv4":{{}}}},{ends}}}"#),
            format!(
                r#"{{"verdict":"FORWARDED","l4":{{"ICMPv6":{{"type":128,"code":0}}}},{ends}}}"#
            ),
            format!(r#"{{"verdict":"FORWARDED","l4":{{"ICMPv4":{{"type":300}}}},{ends}}}"#),
        ]
        .join("\n");
        let f = parse("f.jsonl", &text);
        let got: Vec<_> = f.flows.iter().map(|x| (x.protocol, x.port)).collect();
        assert_eq!(
            got,
            vec![
                (Some(Protocol::Icmp), Some(8)),
                (Some(Protocol::Icmp), Some(0)),
                (Some(Protocol::IcmpV6), Some(128)),
            ]
        );
        // the engine probes a type as connection sets hold it
        assert_eq!(
            f.flows[0].probe(),
            Some((Protocol::Icmp, netfence_model::PortSet::icmp_probe(8)))
        );
        assert_eq!(f.errors.len(), 1);
        assert_eq!(f.errors[0].line, Some(4));
        assert!(
            f.errors[0].message.contains("outside 0-255"),
            "{}",
            f.errors[0].message
        );
    }
}
