//! Helm values are processed once, when the BundleDeployment is built, and reach the chart
//! renderer unchanged: a `${` that processing leaves in a value is not expanded again.

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
        "app",
        &bd.spec,
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
