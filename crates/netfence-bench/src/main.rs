//! `netfence-gen`: writes a synthetic cluster to a folder, or measures netfence on one.
//!
//! ```text
//! netfence-gen write DIR [--as files|kubectl-yaml|kubectl-json] [--namespaces N] [--workloads N] [--replicas N] [--seed N]
//! netfence-gen measure [--as files|kubectl-yaml|kubectl-json] [--namespaces N] [--workloads N] [--replicas N] [--seed N] [--cni generic|cilium|calico] [--dialect networkpolicy|cilium|calico]
//! ```

#![expect(
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "a development tool over generated data it builds itself"
)]
#![allow(
    clippy::disallowed_methods,
    reason = "a command-line tool: files and the clock"
)]

use std::time::Instant;

use netfence_bench::{generate, Params};

/// The allocator the `netfence` binary uses, so that figures match it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn peak_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

fn main() {
    netfence_bench::memory_as_the_cli();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut p = Params::reference();
    let mut dir = None;
    let mut profile = netfence_engine::Profile::Generic;
    let mut shape = "files".to_string();
    let mut i = 1;
    while i < args.len() {
        let val = |k: usize| args.get(k + 1).and_then(|v| v.parse::<u64>().ok());
        match args[i].as_str() {
            "--namespaces" => p.namespaces = val(i).unwrap_or(100) as usize,
            "--workloads" => p.workloads_per_namespace = val(i).unwrap_or(50) as usize,
            "--replicas" => p.replicas = val(i).unwrap_or(2) as usize,
            "--seed" => p.seed = val(i).unwrap_or(7),
            "--as" => shape = args.get(i + 1).cloned().unwrap_or_default(),
            "--dialect" => {
                p.dialect = match args.get(i + 1).map(String::as_str) {
                    Some("networkpolicy") => netfence_bench::Dialect::NetworkPolicy,
                    Some("cilium") => netfence_bench::Dialect::Cilium,
                    Some("calico") => netfence_bench::Dialect::Calico,
                    _ => {
                        eprintln!("--dialect: networkpolicy, cilium or calico");
                        std::process::exit(2)
                    }
                }
            }
            "--cni" => {
                profile = args
                    .get(i + 1)
                    .and_then(|v| netfence_engine::Profile::parse(v))
                    .unwrap_or_else(|| {
                        eprintln!("--cni: generic, calico or cilium");
                        std::process::exit(2)
                    })
            }
            other if dir.is_none() && !other.starts_with("--") => {
                dir = Some(other.to_string());
                i += 1;
                continue;
            }
            other => {
                eprintln!("unknown argument `{other}`");
                std::process::exit(2);
            }
        }
        i += 2;
    }
    match args.first().map(String::as_str) {
        Some("write") => {
            let Some(dir) = dir else {
                eprintln!("usage: netfence-gen write DIR [options]");
                std::process::exit(2);
            };
            let files = generate(p);
            let files = match shape.as_str() {
                "files" => files,
                "kubectl-yaml" => vec![(
                    "cluster.yaml".to_string(),
                    netfence_bench::kubectl::list(&files, netfence_bench::kubectl::Format::Yaml),
                )],
                "kubectl-json" => vec![(
                    "cluster.json".to_string(),
                    netfence_bench::kubectl::list(&files, netfence_bench::kubectl::Format::Json),
                )],
                other => {
                    eprintln!("--as: files, kubectl-yaml or kubectl-json, not `{other}`");
                    std::process::exit(2);
                }
            };
            for (path, text) in files {
                let full = std::path::Path::new(&dir).join(path);
                if let Some(parent) = full.parent() {
                    std::fs::create_dir_all(parent).expect("create folder");
                }
                std::fs::write(&full, text).expect("write file");
            }
            println!(
                "wrote {} namespaces, {} pods to {dir}",
                p.namespaces,
                p.namespaces * p.workloads_per_namespace * p.replicas
            );
        }
        Some("measure") => {
            let files = match shape.as_str() {
                "kubectl-yaml" => vec![(
                    "cluster.yaml".to_string(),
                    netfence_bench::kubectl::list(
                        &generate(p),
                        netfence_bench::kubectl::Format::Yaml,
                    ),
                )],
                "kubectl-json" => vec![(
                    "cluster.json".to_string(),
                    netfence_bench::kubectl::list(
                        &generate(p),
                        netfence_bench::kubectl::Format::Json,
                    ),
                )],
                _ => generate(p),
            };
            let bytes: usize = files.iter().map(|(_, t)| t.len()).sum();
            let sources: Vec<netfence_load::Source> = files
                .into_iter()
                .map(|(name, text)| netfence_load::Source { name, text })
                .collect();
            let t0 = Instant::now();
            let loaded = netfence_load::load(&sources);
            let t_load = t0.elapsed();
            assert!(loaded.errors.is_empty(), "{:?}", loaded.errors.first());
            let c = &loaded.cluster;
            let t1 = Instant::now();
            let map = netfence_engine::connectivity::compute(c, profile);
            let t_map = t1.elapsed();
            let classes = netfence_engine::classes::Classes::new(c).len();
            println!(
                "pods={} workloads={} classes={} policies={} (NetworkPolicy {}, Cilium {}, Calico {}) edges={} (pod pairs would be {})",
                p.namespaces * p.workloads_per_namespace * p.replicas,
                c.endpoints.len(),
                classes,
                c.policies.network_policies().len() + c.policies.cilium_policies().len() + c.policies.calico_policies().len(),
                c.policies.network_policies().len(),
                c.policies.cilium_policies().len(),
                c.policies.calico_policies().len(),
                map.edge_count(),
                (c.endpoints.len() * p.replicas).pow(2),
            );
            println!(
                "input {} ({:.1} MB): load {:.1} MB/s",
                shape,
                bytes as f64 / 1e6,
                bytes as f64 / 1e6 / t_load.as_secs_f64()
            );
            println!(
                "profile {profile}  load {:.2}s  connectivity {:.2}s  peak RSS {} MiB",
                t_load.as_secs_f64(),
                t_map.as_secs_f64(),
                peak_rss_kib().unwrap_or(0) / 1024
            );
        }
        _ => {
            eprintln!("usage: netfence-gen write DIR | measure [--namespaces N] [--workloads N] [--replicas N] [--seed N]");
            std::process::exit(2);
        }
    }
}
