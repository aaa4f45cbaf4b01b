//! The Fleet-facing render entry: styles, Fleet combinations, and Fleet's own `fleet test`
//! goldens from fleet-examples (raw YAML cases).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use fleet_core::crd::BundleDeploymentOptions;
use fleet_render::files::Files;
use fleet_render::render::{
    self, ClusterFacts, KustomizeBuilder, RenderRequest, Renderer, Style, SubstituteOptions,
};
use serde_json::{Value, json};

fn examples() -> Option<PathBuf> {
    let path = fleet_test_tools::shared::path("corpus/fleet-examples")?;
    Some(path)
}

fn docs(text: &str) -> Vec<Value> {
    fleet_core::yaml::documents(text)
        .expect("yaml")
        .into_iter()
        .filter(|d| !d.is_null())
        .collect()
}

/// The options of a fleet.yaml merged with one of its targetCustomizations by Fleet's `Merge`.
fn merged_options(fleet_yaml: &Value, customization: Option<&str>) -> BundleDeploymentOptions {
    let opts: BundleDeploymentOptions =
        serde_json::from_value(fleet_yaml.clone()).expect("options");
    let Some(name) = customization else {
        return opts;
    };
    let custom = fleet_yaml["targetCustomizations"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["name"] == name)
        .expect("customization");
    let custom: BundleDeploymentOptions = serde_json::from_value(custom.clone()).expect("custom");
    fleet_core::merge::merge(&opts, &custom)
}

fn load(dir: &std::path::Path) -> (Files, Value) {
    let files = Files::load_dir(dir).expect("load");
    let fleet_yaml = files
        .get("fleet.yaml")
        .map(|b| {
            fleet_core::yaml::from_str_value(std::str::from_utf8(b).expect("utf8"))
                .expect("fleet.yaml")
        })
        .unwrap_or(json!({}));
    (files, fleet_yaml)
}

fn fleet_test_request<'a>(
    files: &'a Files,
    options: &'a BundleDeploymentOptions,
    cluster: &'a ClusterFacts,
) -> RenderRequest<'a> {
    RenderRequest {
        label_prefix: "",
        ..RenderRequest::new("test", files, options, cluster)
    }
}

#[test]
fn fleet_examples_goldens() {
    let Some(root) = examples() else { return };
    let mut compared = 0;
    let same = [("dev", None), ("test", None), ("prod", None)];
    let per_env = [
        ("dev", Some("dev")),
        ("test", Some("test")),
        ("prod", Some("prod")),
    ];
    for (case, envs) in [
        ("single-cluster/manifests", same),
        ("multi-cluster/manifests", per_env),
        ("single-cluster/kustomize", same),
        ("multi-cluster/kustomize", per_env),
    ] {
        let (files, fleet_yaml) = load(&root.join(case));
        for (env, customization) in envs {
            let options = merged_options(&fleet_yaml, customization);
            let cluster = ClusterFacts::named("test", "fleet-local");
            let got = render::render(&fleet_test_request(&files, &options, &cluster))
                .unwrap_or_else(|e| panic!("{case} {env}: {e}"));
            let golden = root.join(format!("tests/expected/{case}/{env}-output.yaml"));
            let want = docs(&std::fs::read_to_string(&golden).expect("golden"));
            assert_eq!(got, want, "{case} {env}");
            compared += 1;
        }
    }
    assert_eq!(compared, 12);
}

#[test]
fn same_bundle_differs_per_cluster() {
    let Some(root) = examples() else { return };
    let (files, fleet_yaml) = load(&root.join("multi-cluster/manifests"));
    let render_for = |c: Option<&str>| {
        let options = merged_options(&fleet_yaml, c);
        let cluster = ClusterFacts::named("c", "ns");
        render::render(&RenderRequest::new("b", &files, &options, &cluster)).expect("render")
    };
    let base = render_for(None);
    let dev = render_for(Some("dev"));
    let prod = render_for(Some("prod"));
    // noreplication empties redis-slave-deployment.yaml: one object fewer.
    assert_eq!(base.len(), 6);
    assert_eq!(dev.len(), 5);
    assert!(
        !dev.iter()
            .any(|o| o["metadata"]["name"] == "redis-slave" && o["kind"] == "Deployment")
    );
    // servicelb and scale3 (two overlays from one customization, applied in order).
    let frontend_svc = prod
        .iter()
        .find(|o| o["kind"] == "Service" && o["metadata"]["name"] == "frontend")
        .expect("frontend service");
    assert_eq!(frontend_svc["spec"]["type"], "LoadBalancer");
    let frontend = prod
        .iter()
        .find(|o| o["kind"] == "Deployment" && o["metadata"]["name"] == "frontend")
        .expect("frontend");
    assert_eq!(frontend["spec"]["replicas"], 3);
    // The agent's objectset ID is default-<bd name>.
    assert_eq!(
        frontend["metadata"]["annotations"]["objectset.rio.cattle.io/id"],
        "default-b"
    );
}

/// Records which directory was built, to check the style each cluster's options select.
struct Recorder(Mutex<Vec<String>>);

impl KustomizeBuilder for Recorder {
    fn build(&self, _files: &Files, dir: &str) -> Result<Vec<Value>, render::BuildError> {
        self.0
            .lock()
            .map_err(|e| e.to_string())?
            .push(dir.to_string());
        Ok(vec![
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("built-{}", dir.replace('/', "-"))}}),
        ])
    }
}

#[test]
fn kustomize_dir_from_target_customizations() {
    let Some(root) = examples() else { return };
    let (files, fleet_yaml) = load(&root.join("multi-cluster/kustomize"));
    let recorder = Recorder(Mutex::new(Vec::new()));
    let renderer = Renderer::with_kustomize(Box::new(recorder));
    let cluster = ClusterFacts::named("c", "ns");
    for env in ["dev", "test", "prod"] {
        let options = merged_options(&fleet_yaml, Some(env));
        assert_eq!(
            render::determine_style(&files, &options),
            Style::Kustomize {
                dir: format!("overlays/{env}")
            }
        );
        let objs = renderer
            .render(&RenderRequest::new("b", &files, &options, &cluster))
            .expect("render");
        assert_eq!(
            objs[0]["metadata"]["name"],
            json!(format!("built-overlays-{env}"))
        );
        assert_eq!(
            objs[0]["metadata"]["namespace"],
            "fleet-mc-kustomize-example"
        );
    }
    // A cluster without a customization has no root kustomization: raw YAML, everything
    // under overlays/ dropped, base/kustomization.yaml skipped (no kind).
    let options = merged_options(&fleet_yaml, None);
    assert_eq!(render::determine_style(&files, &options), Style::RawYaml);
    let objs = renderer
        .render(&RenderRequest::new("b", &files, &options, &cluster))
        .expect("render");
    assert_eq!(objs.len(), 6, "{objs:?}");
}

#[test]
fn styles() {
    let mut files = Files::new();
    files
        .insert("chart/Chart.yaml", "name: x\n")
        .expect("insert");
    files
        .insert("kustomization.yaml", "resources: []\n")
        .expect("insert");
    let helm: BundleDeploymentOptions =
        serde_json::from_value(json!({"helm": {"chart": "./chart"}})).expect("opts");
    assert_eq!(
        render::determine_style(&files, &helm),
        Style::Helm {
            chart_yaml: "chart/Chart.yaml".into()
        }
    );
    let plain = BundleDeploymentOptions::default();
    assert_eq!(
        render::determine_style(&files, &plain),
        Style::Kustomize { dir: String::new() }
    );
    let cluster = ClusterFacts::named("c", "ns");
    let err = render::render(&RenderRequest::new("b", &files, &helm, &cluster))
        .expect_err("helm is not supported")
        .to_string();
    assert!(err.contains("Helm chart renderer"), "{err}");
    // Raw YAML with templates/ needs a chart renderer too.
    let mut files = Files::new();
    files
        .insert("templates/a.yaml", "kind: ConfigMap\n")
        .expect("insert");
    let err = render::render(&RenderRequest::new("b", &files, &plain, &cluster))
        .expect_err("templates")
        .to_string();
    assert!(err.contains("templates/"), "{err}");
}

#[test]
fn substitute_extension_per_cluster() {
    let mut files = Files::new();
    files
        .insert(
            "cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg-${env}\ndata:\n  replicas: ${replicas:=1}\n  cluster: ${FLEET_CLUSTER_NAME}\n",
        )
        .expect("insert");
    let subst: SubstituteOptions = serde_json::from_value(
        json!({"enabled": true, "strict": true, "variables": {"env": "none"}}),
    )
    .expect("substitute options");
    let options = BundleDeploymentOptions::default();
    let cluster = ClusterFacts {
        labels: BTreeMap::from([("env".to_string(), "prod".to_string())]),
        template_values: serde_json::from_value(json!({"replicas": 3})).expect("map"),
        ..ClusterFacts::named("east", "fleet-default")
    };
    let req = RenderRequest {
        substitute: Some(&subst),
        ..RenderRequest::new("b", &files, &options, &cluster)
    };
    let objs = render::render(&req).expect("render");
    assert_eq!(objs[0]["metadata"]["name"], "cfg-prod");
    assert_eq!(objs[0]["data"]["replicas"], 3);
    assert_eq!(objs[0]["data"]["cluster"], "east");
    // Strict mode: a variable no cluster defines is an error naming the object.
    let mut files2 = Files::new();
    files2
        .insert(
            "cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: ${nope}\n",
        )
        .expect("insert");
    let req = RenderRequest {
        substitute: Some(&subst),
        ..RenderRequest::new("b", &files2, &options, &cluster)
    };
    let err = render::render(&req).expect_err("strict").to_string();
    assert!(err.contains("ConfigMap/x") && err.contains("nope"), "{err}");
}

#[test]
fn rendering_is_deterministic() {
    let Some(root) = examples() else { return };
    let (files, fleet_yaml) = load(&root.join("multi-cluster/manifests"));
    let options = merged_options(&fleet_yaml, Some("prod"));
    let cluster = ClusterFacts::named("c", "ns");
    let a = render::render(&RenderRequest::new("b", &files, &options, &cluster)).expect("a");
    let b = render::render(&RenderRequest::new("b", &files, &options, &cluster)).expect("b");
    assert_eq!(a, b);
}

/// A chart renderer that returns fixed objects and records what it was asked.
struct FixedChart {
    objects: Vec<Value>,
    seen: Mutex<Vec<(String, String, String, bool)>>,
}

impl fleet_render::chart::ChartRenderer for FixedChart {
    fn render(
        &self,
        request: &fleet_render::chart::ChartRequest<'_>,
    ) -> Result<Vec<Value>, fleet_render::chart::ChartError> {
        self.seen.lock().unwrap().push((
            request.chart_dir.to_string(),
            request.release_name.to_string(),
            request.bundle_name.to_string(),
            request.skip_schema_validation,
        ));
        Ok(self.objects.clone())
    }
}

fn renderer_with(objects: Vec<Value>) -> (Renderer, std::sync::Arc<FixedChart>) {
    let chart = std::sync::Arc::new(FixedChart {
        objects,
        seen: Mutex::new(Vec::new()),
    });
    struct Shared(std::sync::Arc<FixedChart>);
    impl fleet_render::chart::ChartRenderer for Shared {
        fn render(
            &self,
            request: &fleet_render::chart::ChartRequest<'_>,
        ) -> Result<Vec<Value>, fleet_render::chart::ChartError> {
            self.0.render(request)
        }
    }
    let renderer = Renderer {
        charts: Box::new(Shared(chart.clone())),
        ..Renderer::default()
    };
    (renderer, chart)
}

#[test]
fn helm_output_goes_through_the_kustomize_dir_as_fleet_manifests() {
    let mut files = Files::new();
    files
        .insert(
            "chart/Chart.yaml",
            "apiVersion: v2\nname: c\nversion: 1.0.0\n",
        )
        .expect("insert");
    files
        .insert(
            "overlay/kustomization.yaml",
            "resources:\n- extra.yaml\npatches:\n- target:\n    kind: ConfigMap\n    name: from-chart\n  patch: |-\n    - op: add\n      path: /data/patched\n      value: \"yes\"\n",
        )
        .expect("insert");
    files
        .insert(
            "overlay/extra.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n",
        )
        .expect("insert");
    let chart_object = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "from-chart"}, "data": {"a": "1"}});
    let (renderer, chart) = renderer_with(vec![chart_object.clone()]);
    let options: BundleDeploymentOptions = serde_json::from_value(json!({
        "helm": {"chart": "chart", "skipSchemaValidation": true},
        "kustomize": {"dir": "overlay"}
    }))
    .expect("opts");
    let cluster = ClusterFacts::named("c", "ns");
    let objects = renderer
        .render(&RenderRequest::new("my-bundle", &files, &options, &cluster))
        .expect("render");
    let names: Vec<&str> = objects
        .iter()
        .map(|o| o["metadata"]["name"].as_str().unwrap_or_default())
        .collect();
    // The chart's output comes first in resources, then the kustomization's own.
    assert_eq!(names, ["from-chart", "extra"]);
    assert_eq!(objects[0]["data"]["patched"], "yes");
    assert_eq!(objects[0]["data"]["a"], "1");
    assert_eq!(
        chart.seen.lock().unwrap()[0],
        (
            "chart".to_string(),
            "my-bundle".to_string(),
            "my-bundle".to_string(),
            true
        )
    );

    // Without a kustomization in kustomize.dir, the chart's objects are the output.
    let plain: BundleDeploymentOptions =
        serde_json::from_value(json!({"helm": {"chart": "chart", "releaseName": "rel"}}))
            .expect("opts");
    let objects = renderer
        .render(&RenderRequest::new("my-bundle", &files, &plain, &cluster))
        .expect("render");
    assert_eq!(objects.len(), 1);
    assert_eq!(objects[0]["metadata"]["name"], "from-chart");
    assert_eq!(chart.seen.lock().unwrap()[1].1, "rel");

    // A chart that renders nothing leaves the kustomization's resources as they are.
    let (empty, _) = renderer_with(Vec::new());
    let objects = empty
        .render(&RenderRequest::new("my-bundle", &files, &options, &cluster))
        .expect("render");
    let names: Vec<&str> = objects
        .iter()
        .map(|o| o["metadata"]["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(names, ["extra"]);
}
