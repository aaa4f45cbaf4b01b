//! Criterion benches of the targeting engine on the perf-anchor workload (spec
//! `perf-anchor.md` §3) at N = 10,000 clusters: (a) one bundle, (b1) all bundles, (d) one
//! cluster's label change, (e) building the index. Larger N: the `targeting-scale` binary.

use std::hint::black_box;

use benches::targeting::{self, NAMESPACE};
use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let n = 10_000;
    let clusters = targeting::clusters(n);
    let mut engine = targeting::build_engine(&clusters);
    let ids = targeting::add_bundles(&mut engine, 1000, false);
    let mut g = c.benchmark_group("targeting-10k");
    g.sample_size(20);
    g.bench_function("a_one_bundle", |b| {
        let mut k = 0;
        b.iter(|| {
            k = (k + 397) % ids.len();
            let v: Vec<u32> = engine.targets(ids[k]).clusters().iter().collect();
            black_box(v.len())
        })
    });
    g.bench_function("b1_all_bundles", |b| {
        b.iter(|| black_box(engine.all_targets().len()))
    });
    g.bench_function("e_build_index", |b| {
        b.iter(|| black_box(targeting::build_engine(&clusters).cluster_count()))
    });
    let labels: Vec<(String, Vec<(String, String)>)> = (0..256)
        .map(|k| {
            let i = (k * 7919) % n;
            (format!("c{i}"), targeting::changed_labels(i, k))
        })
        .collect();
    g.bench_function("d_cluster_label_change", |b| {
        let mut k = 0;
        b.iter(|| {
            k = (k + 1) % labels.len();
            let (name, l) = &labels[k];
            let d = engine.upsert_cluster(
                NAMESPACE,
                name,
                l.iter().map(|(a, v)| (a.as_str(), v.as_str())),
            );
            black_box(d.changes.len())
        })
    });
    let mut gitrepo = targeting::build_engine(&clusters);
    let gids = targeting::add_bundles(&mut gitrepo, 1000, true);
    g.bench_function("a_one_bundle_gitrepo", |b| {
        let mut k = 0;
        b.iter(|| {
            k = (k + 397) % gids.len();
            let v: Vec<u32> = gitrepo.targets(gids[k]).clusters().iter().collect();
            black_box(v.len())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
