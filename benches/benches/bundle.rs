//! Bundles per second: `fleet-bundle` reading a synthetic repository of 1,000 bundle
//! directories, and the fleet-examples repository (remote charts answered by a stub fetcher:
//! there is no network).
//!
//! Run: `cargo bench -p benches --bench bundle`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fleet_bundle::chart::{ChartFetcher, ChartRef, FetchError};
use fleet_bundle::read::Options;
use fleet_bundle::tree::{DirTree, MemTree};
use fleet_bundle::{Scan, read_repo};

struct Stub;

impl ChartFetcher for Stub {
    fn fetch(&self, _chart: &ChartRef) -> Result<MemTree, FetchError> {
        let mut t = MemTree::new("stub");
        t.insert(
            "stub/Chart.yaml",
            "apiVersion: v2\nname: stub\nversion: 0.1.0\n",
        )
        .map_err(|e| FetchError::Unsupported(e.to_string()))?;
        Ok(t)
    }
}

fn options(fetcher: &dyn ChartFetcher) -> Options<'_> {
    Options {
        repo_name: "bench".into(),
        namespace: "fleet-default".into(),
        labels: [("fleet.cattle.io/commit".to_string(), "bench".to_string())].into(),
        targets_file: None,
        compress: false,
        image_scans: true,
        fetcher,
    }
}

/// Writes `n` bundle directories: fleet.yaml with helm values and customizations, a
/// deployment, a service, a configmap, an ignored file and a values file.
fn synthetic_repo(n: usize) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    for i in 0..n {
        let dir = tmp.path().join(format!("apps/team-{}/app-{i:04}", i % 20));
        std::fs::create_dir_all(dir.join("overlays/prod")).expect("mkdir");
        let files = [
            (
                "fleet.yaml",
                format!(
                    "namespace: app-{i}\nlabels:\n  team: t{}\nhelm:\n  releaseName: app-{i}\n  values:\n    replicas: 2\ntargetCustomizations:\n- name: prod\n  clusterSelector:\n    matchLabels:\n      env: prod\n  yaml:\n    overlays: [prod]\ndependsOn:\n- name: base\n  acceptedStates: [Ready]\n",
                    i % 20
                ),
            ),
            (
                "deployment.yaml",
                format!(
                    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-{i}\nspec:\n  replicas: 1\n  template:\n    spec:\n      containers:\n      - name: c\n        image: nginx:1.27\n"
                ),
            ),
            (
                "service.yaml",
                format!(
                    "apiVersion: v1\nkind: Service\nmetadata:\n  name: app-{i}\nspec:\n  ports:\n  - port: 80\n"
                ),
            ),
            (
                "configmap.yaml",
                format!(
                    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-{i}\ndata:\n  k: v{i}\n"
                ),
            ),
            (
                "overlays/prod/deployment_patch.yaml",
                "spec:\n  replicas: 3\n".to_string(),
            ),
            (".fleetignore", "*.md\n".to_string()),
            ("NOTES.md", "ignored\n".to_string()),
        ];
        for (name, body) in files {
            std::fs::write(dir.join(name), body).expect("write");
        }
    }
    tmp
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("bundle");
    group.sample_size(10);

    let repo = synthetic_repo(1000);
    let tree = DirTree::new(repo.path()).expect("tree");
    let opts = options(&Stub);
    let n = read_repo(&tree, &Scan::Classic(vec![".".into()]), &opts)
        .expect("read")
        .len();
    assert_eq!(n, 1000);
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("synthetic-1000-dirs", |b| {
        b.iter(|| {
            let bundles = read_repo(&tree, &Scan::Classic(vec![".".into()]), &opts).expect("read");
            black_box(bundles.len())
        })
    });

    if let Some(examples) = fleet_test_tools::shared::path("corpus/fleet-examples") {
        let tree = DirTree::new(&examples).expect("examples");
        let n = read_repo(&tree, &Scan::Classic(vec![".".into()]), &opts)
            .expect("read examples")
            .len();
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function("fleet-examples", |b| {
            b.iter(|| {
                let bundles =
                    read_repo(&tree, &Scan::Classic(vec![".".into()]), &opts).expect("read");
                black_box(bundles.len())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
