//! Drift diff throughput: objects diffed per second for a 500-object bundle (the shape of
//! Fleet's "50 BundleDeployments × 500 resources" scale test), one core.
//!
//! `cargo bench -p benches --bench diff`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fleet_drift::diff::{self, DiffOptions, rules::Rules, schema::BuiltinSchema};

use benches::drift::{OBJECTS, desired_bundle, drifted, live_bundle};

fn bench(c: &mut Criterion) {
    let hash = diff::set_hash(&diff::set_id("bench", "default", ""));
    let desired = desired_bundle();
    let live = live_bundle(&desired, &hash);
    let rules = Rules::default();
    let options = DiffOptions::new(&BuiltinSchema, &hash, &rules);

    // Sanity: the generated bundle is in sync.
    let report = diff::diff(&desired, &live, &options).expect("diff");
    assert!(report.in_sync(), "{:?}", report.entries.first());

    let drifted = drifted(&live);
    let report = diff::diff(&desired, &drifted, &options).expect("diff");
    assert_eq!(report.entries.len(), OBJECTS.div_ceil(10));

    let mut group = c.benchmark_group("diff");
    group.throughput(Throughput::Elements(OBJECTS as u64));
    group.bench_function("bundle_500_in_sync", |b| {
        b.iter(|| diff::diff(black_box(&desired), black_box(&live), &options).expect("diff"))
    });
    group.bench_function("bundle_500_10pct_drift", |b| {
        b.iter(|| diff::diff(black_box(&desired), black_box(&drifted), &options).expect("diff"))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
