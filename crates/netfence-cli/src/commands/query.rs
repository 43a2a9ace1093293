//! `netfence query`: one flow's verdict with every layer's say.

#![expect(
    clippy::indexing_slicing,
    reason = "endpoint, class, rule and flow ids index the cluster and tables they were built from"
)]
use crate::out::outln;
use std::net::IpAddr;

use anyhow::{anyhow, bail, Result};
use netfence_audit::troubleshoot;
use netfence_engine::connectivity::external_ranges;
use netfence_engine::eval::{Evaluator, LayerStep, LayerVerdict};
use netfence_engine::fix::{self, FarEnd};
use netfence_engine::verdict::Outcome;
use netfence_engine::Direction;
use netfence_model::{L7Request, Protocol};

use super::ends::{self, End};
use crate::cli::{L7Args, QueryArgs};
use crate::input;

fn verdict_str(v: LayerVerdict) -> &'static str {
    match v {
        LayerVerdict::Allow => "allow",
        LayerVerdict::Deny => "deny",
        LayerVerdict::Pass => "pass",
        LayerVerdict::NoMatch => "no-match",
        LayerVerdict::L7Deny => "l7-deny",
    }
}

/// The request the flags describe, if any.
pub(crate) fn request(a: &L7Args) -> Result<Option<L7Request>> {
    let http = a.http_method.is_some() || a.http_path.is_some() || a.http_host.is_some();
    let kafka = a.kafka_role.is_some() || a.kafka_api_key.is_some() || !a.kafka_topic.is_empty();
    let dns = a.dns_name.is_some();
    let tls = a.tls_sni.is_some();
    if usize::from(http) + usize::from(kafka) + usize::from(dns) + usize::from(tls) > 1 {
        bail!(
            "a flow carries one kind of request: give HTTP, Kafka, DNS or TLS flags, not several"
        );
    }
    if http {
        let headers = a
            .http_header
            .iter()
            .map(|h| match h.split_once(':') {
                Some((k, v)) => Ok((k.trim().to_string(), v.trim().to_string())),
                None => Err(anyhow!("--http-header `{h}`: expected `Name: value`")),
            })
            .collect::<Result<Vec<_>>>()?;
        return Ok(Some(L7Request::Http {
            method: a
                .http_method
                .clone()
                .unwrap_or_else(|| "GET".into())
                .to_ascii_uppercase(),
            path: a.http_path.clone().unwrap_or_else(|| "/".into()),
            host: a.http_host.clone(),
            headers,
        }));
    }
    if kafka {
        let api_key = match (&a.kafka_api_key, a.kafka_role.as_deref()) {
            (Some(k), None) => {
                let k = k.to_ascii_lowercase();
                if !netfence_model::l7::is_kafka_api_key(&k) {
                    bail!("--kafka-api-key `{k}` is not a Kafka API key");
                }
                k
            }
            (None, Some("produce")) | (None, None) => "produce".into(),
            (None, Some("consume")) => "fetch".into(),
            (None, Some(r)) => bail!("--kafka-role `{r}`: expected produce or consume"),
            (Some(_), Some(_)) => bail!("give --kafka-role or --kafka-api-key, not both"),
        };
        return Ok(Some(L7Request::Kafka {
            api_key,
            api_version: None,
            client_id: a.kafka_client_id.clone(),
            topics: a.kafka_topic.clone(),
        }));
    }
    if let Some(sni) = &a.tls_sni {
        return Ok(Some(L7Request::Tls { sni: sni.clone() }));
    }
    Ok(a.dns_name.clone().map(|name| L7Request::Dns { name }))
}

pub fn run(args: &QueryArgs) -> Result<i32> {
    let choice = super::profile(&args.inputs.cni)?;
    let protocol = Protocol::from(args.protocol);
    // the probe: a port, or an ICMP type (held as type + 1, see PortSet::icmp_types)
    let (probe, shown) = match (protocol.is_icmp(), args.port, args.icmp_type) {
        (true, None, Some(t)) => (netfence_model::PortSet::icmp_probe(t), u16::from(t)),
        (false, Some(p), None) => (p, p),
        (true, ..) => bail!(
            "ICMP has types, not ports: pass --icmp-type N (8 is an echo request, 128 in ICMPv6)"
        ),
        (false, ..) => bail!("--icmp-type is for --protocol ICMP or ICMPv6; pass --port"),
    };
    let loaded = input::load(&args.inputs)?;
    let profile = choice.resolve(&loaded.cluster)?;
    let c = &loaded.cluster;
    let (src_ranges, dst_ranges) = external_ranges(c);
    let src = ends::one(c, &args.from, &src_ranges)?;
    let dst = ends::one(c, &args.to, &dst_ranges)?;
    // a Service ClusterIP: the backend is reached on the Service port's target
    let probe = if protocol.is_icmp() {
        probe
    } else {
        let backend = match &dst {
            End::Endpoint(i) => Some(&c.endpoints[*i]),
            _ => None,
        };
        let target = ends::dnat_port(c, &args.to, protocol, probe, backend)?;
        if target != probe {
            eprintln!("note: port {probe} of the Service is port {target} of the backend");
        }
        target
    };
    let shown = if protocol.is_icmp() { shown } else { probe };
    // `TCP 80`, `ICMP type 8`: the probe as a connection set prints it
    let what =
        netfence_model::ConnSet::single(protocol, netfence_model::PortSet::range(probe, probe))
            .to_string();
    let req = request(&args.l7)?;
    if req.is_some() && !profile.cni.enforces_cilium_policies() {
        eprintln!(
            "note: --cni {profile} has no L7 rules of its own: the CNI checks this flow at L3/L4; a mesh proxy, if any, checks the request"
        );
    }
    let ev = Evaluator::new(c, profile);
    // The engine's verdict, every side explained; a denying side gets its smallest fix and
    // its likely causes.
    let explained = ev.explain_flow(src.peer(c), dst.peer(c), protocol, probe, req.as_ref());
    let mut steps: Vec<(&'static str, LayerStep)> = Vec::new();
    let mut fixes = Vec::new();
    let mut causes = Vec::new();
    for side in &explained.sides {
        let (subject, far, far_text, label) = match side.direction {
            Direction::Egress => (&src, &dst, &args.to, "egress"),
            Direction::Ingress => (&dst, &src, &args.from, "ingress"),
        };
        steps.extend(side.steps.iter().cloned().map(|x| (label, x)));
        if side.outcome != Outcome::Deny {
            continue;
        }
        let End::Endpoint(i) = subject else { continue };
        let ep = &c.endpoints[*i];
        let far = match far {
            End::Endpoint(j) => FarEnd::Endpoint(&c.endpoints[*j]),
            End::Ip(r) => FarEnd::Ip(r, far_text.parse::<IpAddr>().unwrap_or(r.first())),
            End::Entity(_) | End::Fqdn(_) => continue,
        };
        // (NetworkPolicy has no ICMP: no smallest fix to write for it)
        if !protocol.is_icmp() {
            fixes.extend(fix::propose(
                c,
                profile,
                ep,
                far,
                side.direction,
                protocol,
                probe,
            ));
        }
        let far_ep = match far {
            FarEnd::Endpoint(e) => Some(e),
            FarEnd::Ip(..) => None,
        };
        causes.extend(troubleshoot::causes(
            c,
            &ev,
            ep,
            far_ep,
            side.direction,
            protocol,
            probe,
        ));
    }
    if let Some((_, mesh)) = &explained.mesh {
        steps.extend(mesh.iter().cloned().map(|x| ("mesh", x)));
    }
    let allowed = explained.outcome != Outcome::Deny;
    let l7_denied = explained.outcome == Outcome::L7Deny;
    let verdict = match (allowed, l7_denied) {
        (false, _) => "deny",
        (true, true) => "l7-deny",
        (true, false) => "allow",
    };
    let name = |e: &End| e.name(c);
    if args.format == crate::flags::Format::Json {
        use netfence_report::output::{CauseOutput, FixOutput, LayerOutput, QueryOutput};
        let v = QueryOutput {
            from: name(&src),
            to: name(&dst),
            protocol: protocol.as_str().to_string(),
            port: shown,
            request: req.as_ref().map(ToString::to_string),
            verdict: verdict.to_string(),
            allowed: allowed && !l7_denied,
            connection_allowed: allowed,
            layers: steps
                .iter()
                .map(|(d, s)| LayerOutput {
                    direction: d.to_string(),
                    layer: s.layer.to_string(),
                    verdict: verdict_str(s.verdict).to_string(),
                    policy: s.policy.clone(),
                    rule: s.rule.clone(),
                    location: s.origin.as_ref().map(ToString::to_string),
                    detail: s.detail.clone(),
                })
                .collect(),
            likely_causes: causes
                .iter()
                .map(|k| CauseOutput {
                    cause: k.cause.clone(),
                    fix: k.fix.clone(),
                })
                .collect(),
            cni_not_enforcing: if allowed {
                None
            } else {
                netfence_audit::cni::not_enforcing(c)
            },
            fixes: fixes
                .iter()
                .map(|f| FixOutput {
                    summary: f.summary.clone(),
                    yaml: f.yaml.clone(),
                    verified: f.verified,
                })
                .collect(),
            data_path: profile.to_string(),
        };
        crate::out::out!("{}", netfence_report::output::to_json(&v));
    } else {
        outln!(
            "{} => {} : {}{} is {}",
            name(&src),
            name(&dst),
            what,
            req.as_ref().map(|r| format!(" [{r}]")).unwrap_or_default(),
            match verdict {
                "deny" => "DENIED",
                "l7-deny" => "DENIED at L7 (connection allowed, request refused)",
                _ => "ALLOWED",
            }
        );
        for (d, s) in &steps {
            let at = s
                .origin
                .as_ref()
                .map(|o| format!(" ({o})"))
                .unwrap_or_default();
            outln!(
                "  {d:<7} {:<26} {:<5} {}{}{}",
                s.layer,
                verdict_str(s.verdict),
                s.policy
                    .as_deref()
                    .map(|p| format!("{p} "))
                    .unwrap_or_default(),
                s.rule
                    .as_deref()
                    .map(|r| format!("{r}: "))
                    .unwrap_or_default(),
                s.detail,
            );
            if !at.is_empty() {
                outln!("          at{at}");
            }
        }
        // the release and settings the verdict follows (upstream semantics need no line)
        if profile.cni != netfence_engine::Profile::Generic {
            outln!("  data path: {profile}");
        }
        if !allowed {
            if let Some(cni) = netfence_audit::cni::not_enforcing(c) {
                outln!("note: the cluster runs {cni}, which does not enforce NetworkPolicy: this flow is not blocked there (policies are accepted by the API server whatever the CNI; see `netfence cni`)");
            }
        }
        for cause in &causes {
            outln!("likely cause: {}\n    fix: {}", cause.cause, cause.fix);
        }
        for f in &fixes {
            outln!(
                "fix: {}{}",
                f.summary,
                if f.verified {
                    " (checked: the flow is then allowed)"
                } else {
                    ""
                }
            );
            if let Some(y) = &f.yaml {
                for line in y.lines() {
                    outln!("    {line}");
                }
            }
        }
    }
    Ok(if verdict == "allow" { 0 } else { 1 })
}
