//! `netfence flows explain|replay` and `netfence generate from-flows`: Hubble flow logs
//! against the manifests.

#![expect(
    clippy::indexing_slicing,
    reason = "endpoint, class, rule and flow ids index the cluster and tables they were built from"
)]
use crate::out::{out, outln};
use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Result};
use netfence_engine::eval::{Evaluator, FlowVerdict, LayerVerdict};
use netfence_engine::flows::{self, Kind, Resolved};
use netfence_engine::Direction;
use netfence_generate::from_flows::{self, Dialect, Options};
use netfence_load::hubble;
use netfence_model::flow::ObservedFlow;
use netfence_model::Cluster;

use crate::cli::{FlowsArgs, FlowsCommand, FromFlowsArgs, Inputs};
use crate::input;

pub fn run(cmd: &FlowsCommand) -> Result<i32> {
    match cmd {
        FlowsCommand::Explain(a) => explain(a),
        FlowsCommand::Replay(a) => replay(a),
    }
}

fn read_flows(path: &Path) -> Result<Vec<ObservedFlow>> {
    let src = crate::input::read_one(path)?;
    let parsed = hubble::parse(&src.name, &src.text);
    if !parsed.errors.is_empty() {
        for e in &parsed.errors {
            eprintln!("error: {e}");
        }
        bail!(
            "{} invalid record(s) in `{}`",
            parsed.errors.len(),
            path.display()
        );
    }
    if parsed.flows.is_empty() {
        bail!(
            "`{}` holds no flow record ({} record(s) without a flow); `hubble observe -o json` prints one per line",
            src.name,
            parsed.other_records
        );
    }
    Ok(parsed.flows)
}

/// The flows and the inventory they are resolved against (with the CNI the flows imply).
fn setup(
    flows_path: &Path,
    inputs: &Inputs,
) -> Result<(Vec<ObservedFlow>, Resolved, netfence_engine::DataPath)> {
    let flows_in = read_flows(flows_path)?;
    // Hubble flows come from Cilium: without `--cni`, the cilium profile.
    let choice = match inputs.cni.cni {
        None => super::profile(&crate::flags::CniArg {
            cni: Some(crate::flags::CniChoice {
                cni: crate::flags::Cni::Cilium,
                version: None,
            }),
            cni_settings: inputs.cni.cni_settings.clone(),
        })?,
        Some(_) => super::profile(&inputs.cni)?,
    };
    let loaded = input::load(inputs)?;
    let profile = choice.resolve(&loaded.cluster)?;
    let resolved = flows::resolve(
        &loaded.cluster,
        &flows_in,
        &flows_path.display().to_string(),
    );
    Ok((flows_in, resolved, profile))
}

/// One group of identical connections.
struct Group {
    key: String,
    lines: Vec<usize>,
    first: usize,
    verdict: Option<FlowVerdict>,
}

fn groups(
    c: &Resolved,
    flows_in: &[ObservedFlow],
    ev: &Evaluator<'_>,
    kinds: &[Kind],
) -> Vec<Group> {
    let mut by_key: BTreeMap<String, Group> = BTreeMap::new();
    for (i, f) in flows_in.iter().enumerate() {
        if !kinds.contains(&flows::kind(f)) {
            continue;
        }
        let Some(ends) = &c.ends[i] else { continue };
        let key = flows::key(&c.cluster, f, ends);
        by_key
            .entry(key.clone())
            .or_insert_with(|| Group {
                key,
                lines: Vec::new(),
                first: i,
                verdict: flows::judge(ev, f, ends),
            })
            .lines
            .push(f.line);
    }
    by_key.into_values().collect()
}

fn verdict_text(v: &Option<FlowVerdict>) -> String {
    let Some(v) = v else {
        return "not evaluated (the record names no protocol or port)".into();
    };
    let Some((dir, step)) = v.decisive() else {
        return "allowed".into();
    };
    let what = match step.verdict {
        LayerVerdict::Deny => "DENIED",
        LayerVerdict::L7Deny => "DENIED at L7",
        _ => "ALLOWED",
    };
    let by = step
        .policy
        .as_deref()
        .map(|p| {
            format!(
                " {p}{}",
                step.rule
                    .as_deref()
                    .map(|r| format!(" {r}"))
                    .unwrap_or_default()
            )
        })
        .unwrap_or_default();
    format!(
        "{what} ({}, {}{by}): {}",
        dir.to_string().to_lowercase(),
        step.layer,
        step.detail
    )
}

fn denied(v: &Option<FlowVerdict>) -> bool {
    v.as_ref().is_some_and(flows::denies)
}

fn lines(g: &Group) -> String {
    let v: Vec<String> = g.lines.iter().map(ToString::to_string).collect();
    format!("{} record(s), line {}", g.lines.len(), v.join(","))
}

fn explain(a: &FlowsArgs) -> Result<i32> {
    let (flows_in, resolved, profile) = setup(&a.flows, &a.inputs)?;
    let c: &Cluster = &resolved.cluster;
    let ev = Evaluator::new(c, profile);
    let drops = groups(&resolved, &flows_in, &ev, &[Kind::PolicyDrop]);
    let forwarded = groups(&resolved, &flows_in, &ev, &[Kind::Forwarded]);
    let audit = groups(&resolved, &flows_in, &ev, &[Kind::Audit]);
    let other: Vec<(&ObservedFlow, String)> = flows_in
        .iter()
        .enumerate()
        .filter(|(_, f)| flows::kind(f) == Kind::NonPolicyDrop)
        .map(|(i, f)| {
            let key = resolved.ends[i]
                .as_ref()
                .map(|e| flows::key(c, f, e))
                .unwrap_or_default();
            (f, key)
        })
        .collect();
    let drift: Vec<&Group> = forwarded.iter().filter(|g| denied(&g.verdict)).collect();
    // Each side that denies on its own gets its own smallest allow.
    let fix = |g: &Group| -> Vec<(String, bool)> {
        let f = &flows_in[g.first];
        let (Some(ends), Some((protocol, port))) = (&resolved.ends[g.first], f.probe()) else {
            return Vec::new();
        };
        let sides = [
            (&ends.0, &ends.1, Direction::Egress),
            (&ends.1, &ends.0, Direction::Ingress),
        ];
        sides
            .into_iter()
            .filter_map(|(subject, far, dir)| {
                let flows::End::Endpoint(id) = subject else {
                    return None;
                };
                let (outcome, _) = ev.explain_request(
                    &c.endpoints[*id],
                    far.peer(c),
                    dir,
                    protocol,
                    port,
                    f.l7.as_ref(),
                );
                if outcome == netfence_engine::verdict::Outcome::Allow {
                    return None;
                }
                from_flows::smallest_allow(&resolved, &flows_in, g.first, dir, profile.cni)
            })
            .collect()
    };
    if a.format == crate::flags::Format::Json {
        let group_json = |g: &Group, with_fix: bool| {
            let f = if with_fix && denied(&g.verdict) {
                fix(g)
            } else {
                Vec::new()
            };
            netfence_report::output::FlowGroup {
                connection: g.key.to_string(),
                lines: g.lines.clone(),
                offline: verdict_text(&g.verdict),
                offline_denies: denied(&g.verdict),
                explicit_deny: flows_in[g.first].explicit_deny(),
                cluster_named: flows_in[g.first].decided_by.clone(),
                fixes: f
                    .iter()
                    .map(|(yaml, verified)| netfence_report::output::FlowFix {
                        yaml: yaml.clone(),
                        verified: *verified,
                    })
                    .collect(),
            }
        };
        let v = netfence_report::output::FlowsExplainOutput {
            profile: profile.to_string(),
            policy_drops: drops.iter().map(|g| group_json(g, true)).collect(),
            drift: drift.iter().map(|g| group_json(g, false)).collect(),
            audit: audit.iter().map(|g| group_json(g, false)).collect(),
            non_policy_drops: other
                .iter()
                .map(|(f, key)| netfence_report::output::NonPolicyDrop {
                    connection: key.to_string(),
                    line: f.line,
                    reason: f.drop_reason.clone(),
                })
                .collect(),
        };
        out!("{}", netfence_report::output::to_json(&v));
        return Ok(i32::from(!drift.is_empty()));
    }
    outln!(
        "{} flow records from {} (--cni {profile})",
        flows_in.len(),
        a.flows.display()
    );
    outln!("\nPolicy drops ({}):", drops.len());
    for g in &drops {
        outln!("  {}  [{}]", g.key, lines(g));
        let f = &flows_in[g.first];
        if !denied(&g.verdict) && g.verdict.is_some() {
            outln!("    drift: the manifests ALLOW this connection; the cluster runs other policies than these files");
            continue;
        }
        outln!("    denied by: {}", verdict_text(&g.verdict));
        if !f.decided_by.is_empty() {
            outln!("    the cluster names: {}", f.decided_by.join(", "));
        }
        if f.explicit_deny() {
            outln!("    an explicit deny rule decides: no allow rule can open it; narrow or remove the deny if the traffic is wanted");
        } else {
            if matches!(
                &resolved.ends[g.first],
                Some((flows::End::Ip(_) | flows::End::Fqdn(..), _))
            ) {
                outln!("    the source is on the internet: open it only if the traffic is wanted (a scan is not)");
            }
            for (yaml, verified) in fix(g) {
                outln!(
                    "    smallest allow{}:",
                    if verified {
                        " (checked: that side then allows it)"
                    } else {
                        " (NOT verified)"
                    }
                );
                for l in yaml.lines() {
                    outln!("      {l}");
                }
            }
        }
    }
    outln!(
        "\nDrift: forwarded in the cluster, denied by the manifests ({}):",
        drift.len()
    );
    for g in &drift {
        outln!(
            "  {}  [{}]\n    manifests: {}",
            g.key,
            lines(g),
            verdict_text(&g.verdict)
        );
    }
    outln!(
        "\nAudit mode: would be dropped under enforcement ({}):",
        audit.len()
    );
    for g in &audit {
        outln!(
            "  {}  [{}]\n    manifests: {}",
            g.key,
            lines(g),
            verdict_text(&g.verdict)
        );
    }
    outln!(
        "\nNon-policy drops, not blamed on policy ({}):",
        other.len()
    );
    for (f, key) in &other {
        outln!(
            "  {key}  [line {}]: {}",
            f.line,
            f.drop_reason.as_deref().unwrap_or("unknown")
        );
    }
    let unjudged: Vec<String> = flows_in
        .iter()
        .filter(|f| flows::kind(f) == Kind::Other)
        .map(|f| f.line.to_string())
        .collect();
    if !unjudged.is_empty() {
        outln!(
            "\nOther verdicts (error, redirected, traced, translated), not judged ({}): lines {}",
            unjudged.len(),
            unjudged.join(",")
        );
    }
    Ok(i32::from(!drift.is_empty()))
}

fn replay(a: &FlowsArgs) -> Result<i32> {
    let (flows_in, resolved, profile) = setup(&a.flows, &a.inputs)?;
    let ev = Evaluator::new(&resolved.cluster, profile);
    let observed = groups(&resolved, &flows_in, &ev, &[Kind::Forwarded, Kind::Audit]);
    let breaks: Vec<&Group> = observed.iter().filter(|g| denied(&g.verdict)).collect();
    let unevaluated = observed.iter().filter(|g| g.verdict.is_none()).count();
    if a.format == crate::flags::Format::Json {
        let v = netfence_report::output::FlowsReplayOutput {
            profile: profile.to_string(),
            observed_connections: observed.len(),
            not_evaluated: unevaluated,
            would_break: breaks
                .iter()
                .map(|g| netfence_report::output::Breaks {
                    connection: g.key.to_string(),
                    lines: g.lines.clone(),
                    by: verdict_text(&g.verdict),
                })
                .collect(),
        };
        out!("{}", netfence_report::output::to_json(&v));
    } else {
        outln!(
            "{} observed connections replayed against the policies (--cni {profile}); {} would now be dropped{}:",
            observed.len(),
            breaks.len(),
            if unevaluated > 0 { format!(" ({unevaluated} without a protocol or port, not evaluated)") } else { String::new() }
        );
        for g in &breaks {
            outln!(
                "  {}  [{}]\n    {}",
                g.key,
                lines(g),
                verdict_text(&g.verdict)
            );
        }
    }
    Ok(i32::from(!breaks.is_empty()))
}

pub fn generate(a: &FromFlowsArgs) -> Result<i32> {
    let dialect = match a.dialect {
        crate::flags::Dialect::Cilium => Dialect::Cilium,
        crate::flags::Dialect::Networkpolicy => Dialect::NetworkPolicy,
    };
    if dialect == Dialect::NetworkPolicy && (a.l7 || a.fqdn) {
        bail!("--l7 and --fqdn need --dialect cilium: NetworkPolicy has no L7 or DNS rules");
    }
    let flows_in = read_flows(&a.flows)?;
    let cluster = if a.paths.is_empty() {
        Cluster::default()
    } else {
        input::load(&Inputs {
            paths: a.paths.clone(),
            live: Default::default(),
            cni: crate::flags::CniArg::default(),
            verbose: false,
        })?
        .cluster
    };
    let resolved = flows::resolve(&cluster, &flows_in, &a.flows.display().to_string());
    let out = from_flows::from_flows(
        &resolved,
        &flows_in,
        Options {
            dialect,
            l7: a.l7,
            fqdn: a.fqdn,
        },
    );
    if a.format == crate::flags::Format::Json {
        let v = netfence_report::output::FromFlowsOutput {
            policies: out.policies,
            yaml: out.yaml.clone(),
            learned: out.learned.clone(),
            excluded: out
                .excluded
                .iter()
                .map(|e| netfence_report::output::Excluded {
                    connection: e.key.to_string(),
                    reason: e.reason.to_string(),
                })
                .collect(),
            proof: netfence_report::output::Proof {
                holds: out.proof.holds(),
                learned_allowed: out.proof.kept.0,
                learned_total: out.proof.kept.1,
                dropped_denied: out.proof.dropped.0,
                dropped_total: out.proof.dropped.1,
                failures: out.proof.failures.clone(),
                widened: out.proof.widened.clone(),
            },
        };
        crate::out::out!("{}", netfence_report::output::to_json(&v));
    } else {
        outln!(
            "# netfence generate from-flows: {} policies from {} flow records.\n# proof: {}/{} learned connections allowed, {}/{} policy-dropped connections still denied{}",
            out.policies,
            flows_in.len(),
            out.proof.kept.0,
            out.proof.kept.1,
            out.proof.dropped.0,
            out.proof.dropped.1,
            if out.proof.holds() { "" } else { " -- PROOF FAILED" }
        );
        for e in &out.excluded {
            outln!("# not learned: {} ({})", e.key, e.reason);
        }
        for f in &out.proof.failures {
            outln!("# failure: {f}");
        }
        for w in &out.proof.widened {
            outln!("# widened: {w}");
        }
        out!("{}", out.yaml);
    }
    Ok(if out.proof.holds() { 0 } else { 1 })
}
