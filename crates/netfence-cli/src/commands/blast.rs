//! `netfence blast-radius`: lateral movement from a compromised workload.

#![expect(
    clippy::indexing_slicing,
    reason = "endpoint, class, rule and flow ids index the cluster and tables they were built from"
)]
use crate::out::out;
use std::fmt::Write as _;

use anyhow::{anyhow, bail, Result};
use netfence_engine::connectivity::compute;
use netfence_engine::reach::{namespace_scores, Graph, Reached};
use netfence_model::{Cluster, Endpoint};

use crate::cli::BlastArgs;
use crate::input;

/// A `--target`: labels (`k=v`, or `k` for "has the label") or a `namespace/name`.
fn target_matches(t: &str, ep: &Endpoint) -> bool {
    if t.contains('/') && !t.contains('=') {
        return ep.qualified_name() == t || ep.display_name() == t;
    }
    t.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .all(|part| match part.split_once('=') {
            Some((k, v)) => ep.labels.get(k.trim()).is_some_and(|x| x == v.trim()),
            None => ep.labels.contains_key(part),
        })
}

fn path_txt(c: &Cluster, r: &Reached) -> String {
    let mut s = String::new();
    for (i, h) in r.path.iter().enumerate() {
        if i == 0 {
            s.push_str(&c.endpoints[h.from].display_name());
        }
        let _ = write!(s, " -[{}]-> {}", h.conn, c.endpoints[h.to].display_name());
    }
    s
}

pub fn run(args: &BlastArgs) -> Result<i32> {
    let choice = super::profile(&args.inputs.cni)?;
    let loaded = input::load(&args.inputs)?;
    let profile = choice.resolve(&loaded.cluster)?;
    let c = &loaded.cluster;
    let map = compute(c, profile);
    let graph = Graph::new(c, &map);
    let Some(from) = &args.from else {
        return cluster_view(c, &graph, args.format.as_str());
    };
    let start = match c.find_endpoint(from).as_slice() {
        [one] => *one,
        [] => bail!("no workload or pod `{from}` in the input (use namespace/name)"),
        _ => bail!("`{from}` is ambiguous: use namespace/name"),
    };
    let reached = graph.reach(start, args.max_hops);
    let targets: Vec<&Reached> = if args.target.is_empty() {
        Vec::new()
    } else {
        reached
            .iter()
            .filter(|r| {
                args.target
                    .iter()
                    .any(|t| target_matches(t, &c.endpoints[r.endpoint]))
            })
            .collect()
    };
    let unreached_targets: Vec<String> = c
        .endpoints
        .iter()
        .enumerate()
        .filter(|(i, ep)| {
            *i != start
                && args.target.iter().any(|t| target_matches(t, ep))
                && !reached.iter().any(|r| r.endpoint == *i)
        })
        .map(|(_, ep)| ep.display_name())
        .collect();
    let start_name = c.endpoints[start].display_name();
    match args.format.as_str() {
        "txt" => {
            let mut out = format!(
                "from {start_name}: {} of {} other workloads reachable{}\n",
                reached.len(),
                c.endpoints.len().saturating_sub(1),
                args.max_hops
                    .map(|m| format!(" within {m} hops"))
                    .unwrap_or_default()
            );
            let mut hop = 0;
            for r in &reached {
                if r.path.len() != hop {
                    hop = r.path.len();
                    let _ = writeln!(out, "\nhop {hop}:");
                }
                let last = r
                    .path
                    .last()
                    .map(|h| h.conn.to_string())
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "  {} : {}",
                    c.endpoints[r.endpoint].display_name(),
                    last
                );
            }
            if !args.target.is_empty() {
                let _ = writeln!(out, "\ntargets ({}):", args.target.join(" | "));
                for r in &targets {
                    let _ = writeln!(
                        out,
                        "  reached in {} hops: {}",
                        r.path.len(),
                        path_txt(c, r)
                    );
                }
                for u in &unreached_targets {
                    let _ = writeln!(out, "  not reachable: {u}");
                }
            }
            out!("{out}");
        }
        "json" => {
            use netfence_report::output::{BlastOutput, Hop, Reachable, TargetPath};
            let hops = |r: &Reached| -> Vec<Hop> {
                r.path
                    .iter()
                    .map(|h| Hop {
                        from: c.endpoints[h.from].display_name(),
                        to: c.endpoints[h.to].display_name(),
                        conn: h.conn.to_string(),
                    })
                    .collect()
            };
            let v = BlastOutput {
                from: start_name,
                reachable: reached
                    .iter()
                    .map(|r| Reachable {
                        workload: c.endpoints[r.endpoint].display_name(),
                        hops: r.path.len(),
                        path: hops(r),
                    })
                    .collect(),
                targets: targets
                    .iter()
                    .map(|r| TargetPath {
                        workload: c.endpoints[r.endpoint].display_name(),
                        path: hops(r),
                    })
                    .collect(),
                unreachable_targets: unreached_targets,
            };
            out!("{}", netfence_report::output::to_json(&v));
        }
        "dot" => {
            let q = |s: &str| format!("\"{}\"", s.replace('"', "\\\""));
            let mut out = String::from("digraph blast_radius {\n\trankdir=LR\n");
            let _ = writeln!(
                out,
                "\t{} [style=filled fillcolor=red fontcolor=white]",
                q(&start_name)
            );
            for r in &targets {
                let _ = writeln!(
                    out,
                    "\t{} [style=filled fillcolor=orange]",
                    q(&c.endpoints[r.endpoint].display_name())
                );
            }
            for r in &reached {
                if let Some(h) = r.path.last() {
                    let _ = writeln!(
                        out,
                        "\t{} -> {} [label={}]",
                        q(&c.endpoints[h.from].display_name()),
                        q(&c.endpoints[h.to].display_name()),
                        q(&h.conn.to_string())
                    );
                }
            }
            out.push_str("}\n");
            out!("{out}");
        }
        other => {
            return Err(anyhow!(
                "unknown format `{other}` (expected txt, json or dot)"
            ))
        }
    }
    Ok(0)
}

fn cluster_view(c: &Cluster, graph: &Graph, format: &str) -> Result<i32> {
    let total = c.endpoints.len().saturating_sub(1);
    let counts = netfence_engine::reach::reach_counts(c, graph);
    let exposed: Vec<(String, usize)> = graph
        .exposed
        .iter()
        .map(|&e| (c.endpoints[e].display_name(), counts[e]))
        .collect();
    let scores = namespace_scores(c, &counts);
    match format {
        "json" => {
            let v = netfence_report::output::BlastClusterOutput {
                exposed: exposed
                    .iter()
                    .map(|(w, n)| netfence_report::output::Exposed {
                        workload: w.clone(),
                        reaches: *n,
                        of: total,
                    })
                    .collect(),
                namespace_lateral_movement: scores,
            };
            out!("{}", netfence_report::output::to_json(&v));
        }
        "txt" => {
            let mut out = format!("workloads exposed to the outside ({}), and how much of the cluster each reaches:\n", exposed.len());
            for (w, n) in &exposed {
                let _ = writeln!(out, "  {w} reaches {n} of {total}");
            }
            out.push_str(
                "\nlateral-movement score per namespace (0 isolated - 100 reaches everything):\n",
            );
            for (ns, s) in &scores {
                let _ = writeln!(out, "  {ns}: {s:.0}");
            }
            out!("{out}");
        }
        other => {
            return Err(anyhow!(
                "the cluster-wide view is txt or json, not `{other}`"
            ))
        }
    }
    Ok(0)
}
