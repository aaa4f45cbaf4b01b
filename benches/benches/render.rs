//! Renders per second of a typical overlay: a base (10 objects, a ConfigMap generator) and
//! two overlays (prefix, namespace, annotations, images, replicas, a Secret generator, a
//! strategic merge patch and two JSON6902 patches), on one thread and on all cores.
//!
//! Run: `cargo bench -p benches --bench render`.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fleet_kustomize as kustomize;
use fleet_kustomize::files::Files;

fn typical() -> Files {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fleet-render/kustomize/tests/fleet-kustomize/fixtures/typical");
    match Files::load_dir(&dir) {
        Ok(files) => files,
        Err(err) => panic!(
            "cannot read the typical overlay fixture at {}: {err}",
            dir.display()
        ),
    }
}

fn render_both(files: &Files) -> usize {
    let mut n = 0;
    for overlay in ["staging", "production"] {
        match kustomize::build(files, overlay) {
            Ok(objects) => n += objects.len(),
            Err(err) => panic!("typical overlay {overlay} does not build: {err}"),
        }
    }
    n
}

fn bench_render(c: &mut Criterion) {
    let files = typical();
    assert_eq!(
        render_both(&files),
        22,
        "the fixture renders 11 objects per overlay"
    );
    let mut group = c.benchmark_group("kustomize_typical_overlay");
    // One element = one overlay rendered.
    group.throughput(Throughput::Elements(2));
    group.bench_function("one_thread", |b| b.iter(|| black_box(render_both(&files))));
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    group.throughput(Throughput::Elements(2 * threads as u64));
    group.bench_function(format!("all_cores_{threads}_threads"), |b| {
        b.iter(|| {
            std::thread::scope(|scope| {
                let handles: Vec<_> = (0..threads)
                    .map(|_| scope.spawn(|| render_both(&files)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_default())
                    .sum::<usize>()
            })
        })
    });
    group.finish();
    let yaml = kustomize::build(&files, "production").unwrap_or_default();
    c.bench_function("kustomize_print_yaml", |b| {
        b.iter(|| black_box(kustomize::to_yaml(&yaml)))
    });
}

criterion_group!(benches, bench_render);
criterion_main!(benches);
