//! From a Bundle through the BundleDeployment builder to the agent's render: Helm values are
//! processed once, when the BundleDeployment is built, and reach the chart renderer unchanged;
//! the `substitute` extension travels on annotations.

use std::sync::{Arc, Mutex};

use fleet_core::crd::{Bundle, Cluster};
use fleet_render::chart::{ChartError, ChartRenderer, ChartRequest};
use fleet_render::files::Files;
use fleet_render::render::{ClusterFacts, NativeKustomize, Renderer};
use fleet_targeting::Decision;
use fleet_targeting::deployment::{ManifestRef, bundle_deployment};
use serde_json::{Value, json};

/// Records the values each render receives and renders one ConfigMap holding them.
struct RecordingCharts(Arc<Mutex<Vec<Value>>>);

impl ChartRenderer for RecordingCharts {
    fn render(&self, request: &ChartRequest<'_>) -> Result<Vec<Value>, ChartError> {
        self.0.lock().unwrap().push(request.values.clone());
        Ok(vec![json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "values"},
            "data": {"text": request.values.to_string()},
        })])
    }
}

#[test]
fn values_reach_the_chart_as_the_bundle_deployment_holds_them() {
    let bundle: Bundle = serde_json::from_value(json!({
        "apiVersion": "fleet.cattle.io/v1alpha1",
        "kind": "Bundle",
        "metadata": {"name": "app", "namespace": "fleet-default"},
        "spec": {
            "helm": {"chart": "chart", "values": {
                "env": "${ .ClusterLabels.env }",
                // Processing turns this into the literal `${ .ClusterName }`; a second pass
                // would turn it into `c1`.
                "escaped": "${`${ .ClusterName }`}",
            }},
            "targets": [{"clusterSelector": {}}],
        },
    }))
    .unwrap();
    let cluster: Cluster = serde_json::from_value(json!({
        "apiVersion": "fleet.cattle.io/v1alpha1",
        "kind": "Cluster",
        "metadata": {"name": "c1", "namespace": "fleet-default", "labels": {"env": "prod"}},
        "spec": {},
    }))
    .unwrap();
    let decision = Decision {
        target: 0,
        customizations: vec![],
    };
    let manifest = ManifestRef {
        id: "s-1".to_string(),
        in_content: true,
    };
    let bd = bundle_deployment(&bundle, &decision, &cluster, &manifest)
        .unwrap()
        .unwrap();

    let mut files = Files::new();
    files
        .insert(
            "chart/Chart.yaml",
            "apiVersion: v2\nname: app\nversion: 0.1.0\n",
        )
        .unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let renderer = Renderer {
        charts: Box::new(RecordingCharts(seen.clone())),
        kustomize: Box::new(NativeKustomize),
    };
    let objects = fleet_agent::deploy::render(
        &renderer,
        &bd,
        &files,
        // The same labels as the Cluster: a renderer that processed values again would have
        // what it needs to expand `escaped`.
        &ClusterFacts {
            labels: cluster.metadata.labels.clone(),
            ..ClusterFacts::named("c1", "fleet-default")
        },
    )
    .unwrap();
    assert_eq!(objects.len(), 1);
    let seen = seen.lock().unwrap();
    assert_eq!(
        seen.as_slice(),
        [json!({"env": "prod", "escaped": "${ .ClusterName }"})]
    );
}

/// fleet.yaml's `substitute` extension reaches the agent through the Bundle's and the
/// BundleDeployment's annotation, and changing it alone changes the deployment ID.
#[test]
fn substitute_travels_from_fleet_yaml_to_the_agent() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fleet-agent/fixtures/test/substitute");
    let tree = fleet_bundle::tree::DirTree::new(&dir).unwrap();
    let opts = fleet_bundle::read::Options {
        repo_name: "repo".to_string(),
        namespace: "fleet-default".to_string(),
        labels: Default::default(),
        targets_file: None,
        compress: false,
        image_scans: false,
        fetcher: &fleet_bundle::chart::Offline,
    };
    let bundle_dir = fleet_bundle::read::BundleDir {
        path: String::new(),
        id_path: ".".to_string(),
        options_file: None,
    };
    let read = fleet_bundle::read::read_bundle(&tree, &bundle_dir, &opts)
        .unwrap()
        .expect("a bundle");
    let mut bundle = read.bundle;
    let annotation = bundle.metadata.annotations[fleet_core::substitute::ANNOTATION].clone();
    assert_eq!(
        annotation,
        r#"{"enabled":true,"strict":true,"variables":{"tier":"free"}}"#
    );

    let cluster: Cluster = serde_json::from_value(json!({
        "apiVersion": "fleet.cattle.io/v1alpha1",
        "kind": "Cluster",
        "metadata": {"name": "east", "namespace": "fleet-default", "labels": {"replicas": "3"}},
        "spec": {},
    }))
    .unwrap();
    let decision = Decision {
        target: 0,
        customizations: vec![],
    };
    let manifest = ManifestRef::of(&bundle).unwrap();
    let bd = bundle_deployment(&bundle, &decision, &cluster, &manifest)
        .unwrap()
        .unwrap();
    assert_eq!(
        bd.metadata.annotations[fleet_core::substitute::ANNOTATION],
        annotation
    );
    assert!(bd.spec.deployment_id.starts_with(&manifest.id));

    let mut files = Files::new();
    for r in &bundle.spec.resources {
        files.insert(&r.name, r.content.clone()).unwrap();
    }
    let facts = ClusterFacts {
        labels: cluster.metadata.labels.clone(),
        ..ClusterFacts::named("east", "fleet-default")
    };
    let objects = fleet_agent::deploy::render(&Renderer::default(), &bd, &files, &facts).unwrap();
    let deployment = objects
        .iter()
        .find(|o| o["kind"] == "Deployment")
        .expect("the Deployment");
    assert_eq!(deployment["metadata"]["name"], "web-east");
    assert_eq!(deployment["metadata"]["labels"]["tier"], "free");
    assert_eq!(deployment["spec"]["replicas"], 3);

    // Only the extension changes: a new deployment ID, so the agent redeploys.
    bundle.metadata.annotations.insert(
        fleet_core::substitute::ANNOTATION.to_string(),
        r#"{"enabled":true,"strict":true,"variables":{"tier":"paid"}}"#.to_string(),
    );
    let changed = bundle_deployment(&bundle, &decision, &cluster, &manifest)
        .unwrap()
        .unwrap();
    assert_ne!(changed.spec.deployment_id, bd.spec.deployment_id);
    // Without it, the ID is Fleet's.
    bundle
        .metadata
        .annotations
        .remove(fleet_core::substitute::ANNOTATION);
    let plain = bundle_deployment(&bundle, &decision, &cluster, &manifest)
        .unwrap()
        .unwrap();
    assert_eq!(
        plain.spec.deployment_id,
        fleet_core::manifest::options_deployment_id(&manifest.id, &plain.spec.options).unwrap()
    );

    // A broken annotation is an error naming the bundle.
    bundle.metadata.annotations.insert(
        fleet_core::substitute::ANNOTATION.to_string(),
        "{not json".to_string(),
    );
    let err = bundle_deployment(&bundle, &decision, &cluster, &manifest)
        .expect_err("invalid annotation")
        .to_string();
    assert!(err.contains("substitute.fleet-rs.io/options"), "{err}");
}
