//! Helm charts rendered in-process by `fleet-helm`, from loading the chart directory to the
//! engine's map (what `helm template` computes before sorting manifests): podinfo (3 cases'
//! worth of templates, no dependencies) and kube-prometheus-stack (four `.tgz` dependencies,
//! a large helper library), both from the Helm corpus in `../shared`.
//!
//! Run: `cargo bench -p benches --bench helm`. The same work through Helm v4.2.3's own engine,
//! for comparison on the same machine, is `benches/helm_sdk.py` (PyPI `helm-python-sdk`).

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, criterion_group, criterion_main};
use fleet_helm::render::{self, Release};
use fleet_helm::{chart, coalesce, dependencies, values};

fn release() -> Release {
    Release {
        name: "demo".into(),
        namespace: "fleet-demo".into(),
        revision: 1,
        is_install: true,
        kube_version: "v1.31.0".into(),
        api_versions: Vec::new(),
    }
}

/// Loads, processes dependencies, coalesces and renders one case; returns the template count.
fn render_case(dir: &Path, case_values: &str) -> usize {
    let mut chart = chart::load(dir).expect("chart loads");
    let user = values::parse(case_values, "case").expect("values parse");
    dependencies::process(&mut chart, &user);
    let values = coalesce::coalesce_values(&chart, &user);
    render::render(&chart, &values, &release())
        .expect("chart renders")
        .len()
}

fn corpus_chart(id: &str, case: &str) -> Option<(PathBuf, String)> {
    let Some(root) = fleet_test_tools::shared::path("corpus/helm") else {
        eprintln!("skipping the Helm benches: ../shared/corpus/helm is missing");
        return None;
    };
    let dir = root.join(id);
    let text = std::fs::read_to_string(dir.join("cases").join(format!("{case}.yaml")))
        .expect("case values");
    Some((dir.join("chart"), text))
}

fn bench(c: &mut Criterion) {
    for (id, case) in [
        ("podinfo", "defaults"),
        ("kube-prometheus-stack", "defaults-with-grafana-password"),
    ] {
        let Some((dir, text)) = corpus_chart(id, case) else {
            return;
        };
        c.bench_function(&format!("helm render {id}/{case}"), |b| {
            b.iter(|| black_box(render_case(&dir, &text)))
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
