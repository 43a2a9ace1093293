//! Criterion benchmarks: load throughput (bytes per second) of the generated cluster as
//! `kubectl get -o yaml|json` prints it (one `kind: List` with managedFields and status).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failed test"
)]

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use netfence_bench::kubectl::{list, Format};
use netfence_bench::{generate, Params};

/// The allocator the `netfence` binary uses, so that figures match it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn bench(c: &mut Criterion) {
    netfence_bench::memory_as_the_cli();
    let mut g = c.benchmark_group("load");
    g.sample_size(10);
    let p = Params {
        namespaces: 20,
        workloads_per_namespace: 25,
        replicas: 2,
        seed: 7,
        dialect: netfence_bench::Dialect::NetworkPolicy,
    };
    let files = generate(p);
    for (label, format, name) in [
        ("kubectl-yaml/1k-pods", Format::Yaml, "cluster.yaml"),
        ("kubectl-json/1k-pods", Format::Json, "cluster.json"),
    ] {
        let src = vec![netfence_load::Source {
            name: name.into(),
            text: list(&files, format),
        }];
        assert!(netfence_load::load(&src).errors.is_empty());
        g.throughput(Throughput::Bytes(src[0].text.len() as u64));
        g.bench_function(label, |b| b.iter(|| netfence_load::load(black_box(&src))));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
