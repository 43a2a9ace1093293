//! Criterion benchmarks: loading and the full connectivity map of generated clusters.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failed test"
)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use netfence_bench::{generate, Params};

fn sources(p: Params) -> Vec<netfence_load::Source> {
    generate(p)
        .into_iter()
        .map(|(name, text)| netfence_load::Source { name, text })
        .collect()
}

/// The allocator the `netfence` binary uses, so that figures match it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn bench(c: &mut Criterion) {
    netfence_bench::memory_as_the_cli();
    let mut g = c.benchmark_group("connectivity");
    g.sample_size(10);
    for (label, p) in [
        (
            "1k-pods",
            Params {
                namespaces: 20,
                workloads_per_namespace: 25,
                replicas: 2,
                seed: 7,
                dialect: netfence_bench::Dialect::NetworkPolicy,
            },
        ),
        ("10k-pods", Params::reference()),
    ] {
        let src = sources(p);
        let loaded = netfence_load::load(&src);
        g.bench_function(format!("map/{label}"), |b| {
            b.iter(|| {
                netfence_engine::connectivity::compute(
                    black_box(&loaded.cluster),
                    netfence_engine::Profile::Generic,
                )
            })
        });
        if label == "1k-pods" {
            g.bench_function(format!("load/{label}"), |b| {
                b.iter(|| netfence_load::load(black_box(&src)))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
