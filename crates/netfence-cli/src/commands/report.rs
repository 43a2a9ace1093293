//! `netfence report`: one self-contained HTML file.

#![expect(
    clippy::indexing_slicing,
    reason = "endpoint, class, rule and flow ids index the cluster and tables they were built from"
)]
use std::collections::BTreeMap;

use anyhow::{Context, Result};
use netfence_engine::connectivity::{compute, Node};
use netfence_engine::eval::{Direction, Evaluator};
use netfence_engine::reach::{namespace_scores, reach_counts, Graph};
use netfence_report::html::{self, AuditSummary, Blast, Link, Report, Workload};

use crate::cli::ReportArgs;
use crate::input;

pub fn run(args: &ReportArgs) -> Result<i32> {
    let choice = super::profile(&args.inputs.cni)?;
    let loaded = input::load(&args.inputs)?;
    let profile = choice.resolve(&loaded.cluster)?;
    let c = &loaded.cluster;
    let map = compute(c, profile);
    let graph = Graph::new(c, &map);
    let ev = Evaluator::new(c, profile);
    let workloads: Vec<Workload> = c
        .endpoints
        .iter()
        .enumerate()
        .map(|(i, e)| Workload {
            name: e.display_name(),
            namespace: e.namespace.clone(),
            open_ingress: !ev.is_isolated(e, Direction::Ingress)
                && !ev.admin_subject_has_rules(e, Direction::Ingress),
            open_egress: !ev.is_isolated(e, Direction::Egress)
                && !ev.admin_subject_has_rules(e, Direction::Egress),
            exposed: graph.exposed.contains(&i),
        })
        .collect();
    let mut links = Vec::new();
    let mut external_in: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in map.edges() {
        match (&e.src, &e.dst) {
            (Node::Endpoint(s), Node::Endpoint(d)) => links.push(Link {
                src: *s,
                dst: *d,
                conn: e.conn.to_string(),
            }),
            (Node::External(r), Node::Endpoint(d)) => external_in
                .entry(c.endpoints[*d].display_name())
                .or_default()
                .push(format!("{r}: {}", e.conn)),
            (Node::IngressController, Node::Endpoint(d)) => external_in
                .entry(c.endpoints[*d].display_name())
                .or_default()
                .push(format!("ingress controller: {}", e.conn)),
            _ => {}
        }
    }
    links.sort_by_key(|l| (l.src, l.dst));
    let blast = graph
        .exposed
        .iter()
        .map(|&e| {
            let reached = graph.reach(e, None);
            Blast {
                from: c.endpoints[e].display_name(),
                reaches: reached.len(),
                reached: reached
                    .iter()
                    .map(|r| (c.endpoints[r.endpoint].display_name(), r.path.len()))
                    .collect(),
            }
        })
        .collect();
    // every dialect's objects, counted by kind (NetworkPolicies always listed)
    let mut policies: Vec<(String, usize)> = vec![("NetworkPolicies".to_string(), 0)];
    for p in c.policies.iter().filter(|p| p.decides_traffic()) {
        let kind = p.kind();
        let label = match kind.strip_suffix("Policy") {
            _ if kind == "BaselineAdminNetworkPolicy" => kind.clone(),
            Some(stem) => format!("{stem}Policies"),
            None => format!("{kind}s"),
        };
        match policies.iter_mut().find(|(l, _)| *l == label) {
            Some((_, n)) => *n += 1,
            None => policies.push((label, 1)),
        }
    }
    let ctx = netfence_audit::AuditCtx::new(c, profile, netfence_audit::AuditConfig::default());
    let result = netfence_audit::run(&ctx, &netfence_audit::Selection::default());
    let sc = netfence_audit::score::score(&ctx);
    let audit = AuditSummary {
        score: sc.score,
        maturity: sc.maturity,
        namespaces: sc
            .namespaces
            .iter()
            .map(|n| (n.namespace.clone(), n.score, n.maturity))
            .collect(),
        findings: result
            .diagnostics
            .iter()
            .map(|d| {
                (
                    d.severity.to_string(),
                    d.code.to_string(),
                    d.message.clone(),
                    d.origin
                        .as_ref()
                        .filter(|o| !o.file.is_empty())
                        .map(|o| o.to_string())
                        .unwrap_or_default(),
                    d.help.clone(),
                )
            })
            .collect(),
    };
    let report = Report {
        title: args.title.clone(),
        workloads,
        links,
        external_in: external_in
            .into_iter()
            .map(|(w, v)| (w, v.join(", ")))
            .collect(),
        policies,
        blast,
        namespace_scores: namespace_scores(c, &reach_counts(c, &graph))
            .into_iter()
            .collect(),
        audit: Some(audit),
    };
    std::fs::write(&args.out, html::render(&report))
        .with_context(|| format!("cannot write `{}`", args.out.display()))?;
    eprintln!("wrote {}", args.out.display());
    Ok(0)
}
