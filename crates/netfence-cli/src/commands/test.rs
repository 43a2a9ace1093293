//! `netfence test`: connectivity assertions checked offline, as CI tests.

use crate::out::out;
use anyhow::{anyhow, bail, Context, Result};
use netfence_engine::connectivity::external_ranges;
use netfence_engine::eval::Evaluator;
use netfence_load::spec::{self, Expect, Selector};
use netfence_model::{Cluster, IpRange, Protocol};
use netfence_report::tests_report::{self, CaseResult};

use super::ends::{self, End};
use crate::cli::{Inputs, TestArgs};
use crate::input;

fn select(c: &Cluster, sel: &Selector, ranges: &[IpRange]) -> Result<Vec<End>> {
    match sel {
        Selector::Name(s) => ends::named(c, s, ranges),
        Selector::Match { namespace, labels } => Ok(c
            .endpoints
            .iter()
            .enumerate()
            .filter(|(_, e)| namespace.as_ref().is_none_or(|n| &e.namespace == n))
            .filter(|(_, e)| labels.iter().all(|(k, v)| e.labels.get(k) == Some(v)))
            .map(|(i, _)| End::Endpoint(i))
            .collect()),
    }
}

pub fn run(args: &TestArgs) -> Result<i32> {
    if args.print_schema {
        out!("{}", spec::schema_json());
        return Ok(0);
    }
    let Some(spec_path) = &args.spec else {
        bail!("--spec is required");
    };
    let text = std::fs::read_to_string(spec_path)
        .with_context(|| format!("cannot read `{}`", spec_path.display()))?;
    let spec = spec::parse(&spec_path.display().to_string(), &text).map_err(|e| anyhow!(e))?;
    let choice = super::profile(&args.cni)?;
    let loaded = input::load(&Inputs {
        paths: args.paths.clone(),
        live: Default::default(),
        cni: args.cni.clone(),
        verbose: false,
    })?;
    let profile = choice.resolve(&loaded.cluster)?;
    let c = &loaded.cluster;
    let (src_ranges, dst_ranges) = external_ranges(c);
    let ev = Evaluator::new(c, profile);
    let mut results = Vec::new();
    for case in &spec.tests {
        let protocol = Protocol::parse(&case.protocol)
            .ok_or_else(|| anyhow!("test `{}`: unknown protocol `{}`", case.name, case.protocol))?;
        let froms = select(c, &case.from, &src_ranges)
            .with_context(|| format!("test `{}`: from", case.name))?;
        let tos = select(c, &case.to, &dst_ranges)
            .with_context(|| format!("test `{}`: to", case.name))?;
        let mut r = CaseResult {
            name: case.name.clone(),
            pairs: 0,
            failures: Vec::new(),
            notes: Vec::new(),
        };
        let facts = crate::cli::L7Args {
            http_method: case.http.as_ref().map(|h| h.method.clone()),
            http_path: case.http.as_ref().map(|h| h.path.clone()),
            http_host: case.http.as_ref().and_then(|h| h.host.clone()),
            kafka_role: case.kafka.as_ref().map(|k| k.role.clone()),
            kafka_topic: case.kafka.iter().map(|k| k.topic.clone()).collect(),
            dns_name: case.dns.clone(),
            ..Default::default()
        };
        let request =
            super::query::request(&facts).with_context(|| format!("test `{}`", case.name))?;
        if request.is_some() && !profile.cni.enforces_cilium_policies() {
            r.notes.push(format!(
                "application-layer facts do not change this verdict: --cni {profile} enforces no layer-7 rules"
            ));
        }
        let name = |e: &End| e.name(c);
        for f in &froms {
            for t in &tos {
                if let (End::Endpoint(a), End::Endpoint(b)) = (f, t) {
                    if a == b {
                        continue;
                    }
                }
                if matches!((f, t), (End::Ip(_), End::Ip(_))) {
                    continue;
                }
                let (src, dst) = (f.peer(c), t.peer(c));
                r.pairs += 1;
                let allowed = match &request {
                    None => ev.pair_allowed(src, dst).contains(protocol, case.port),
                    Some(req) => {
                        ev.flow(src, dst, protocol, case.port, Some(req)).outcome
                            == netfence_engine::verdict::Outcome::Allow
                    }
                };
                if allowed != (case.expect == Expect::Allow) {
                    r.failures.push(format!(
                        "{} => {} {} {}: expected {}, got {}",
                        name(f),
                        name(t),
                        protocol,
                        case.port,
                        if case.expect == Expect::Allow {
                            "allow"
                        } else {
                            "deny"
                        },
                        if allowed { "allow" } else { "deny" }
                    ));
                }
            }
        }
        if r.pairs == 0 {
            r.failures
                .push("no workload pair matched `from` and `to`".into());
        }
        results.push(r);
    }
    let out = match args.format.as_str() {
        "junit" => tests_report::junit(&spec_path.display().to_string(), &results),
        "json" => tests_report::json(&spec_path.display().to_string(), &results),
        _ => tests_report::text(&results),
    };
    out!("{out}");
    Ok(if results.iter().all(CaseResult::passed) {
        0
    } else {
        1
    })
}
