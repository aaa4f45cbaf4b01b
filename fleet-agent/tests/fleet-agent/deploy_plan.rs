//! A fleet-examples raw bundle rendered with the agent's labels and planned for a deploy.

use std::collections::BTreeSet;

use fleet_agent::deploy::{Action, Discovery, PlanInput, plan, render};
use fleet_core::crd::{BundleDeployment, BundleDeploymentSpec};
use fleet_render::render::{ClusterFacts, Renderer};

struct CoreKinds;
impl Discovery for CoreKinds {
    fn scope(&self, api_version: &str, kind: &str) -> Option<bool> {
        match (api_version, kind) {
            ("v1", "Namespace") => Some(false),
            ("v1", _) | ("apps/v1", _) => Some(true),
            _ => None,
        }
    }
}

#[test]
fn simple_example_plans_services_before_deployments_and_records_all() {
    let Some(dir) = fleet_test_tools::shared::path("corpus/fleet-examples/simple") else {
        return;
    };
    let bundle = fleet_agent::cmd::test::load_bundle(&dir, None)
        .unwrap()
        .expect("bundle");
    let mut bd = BundleDeployment::new("simple", "cluster-ns");
    bd.spec = serde_json::from_value(serde_json::json!({"deploymentID": "s-1:abc"})).unwrap();
    let spec: &BundleDeploymentSpec = &bd.spec;
    let objects = render(
        &Renderer::default(),
        &bd,
        &bundle.files,
        &ClusterFacts::named("local", "fleet-local"),
    )
    .unwrap();
    assert_eq!(objects.len(), 6);
    for o in &objects {
        assert!(
            o.pointer("/metadata/labels/objectset.rio.cattle.io~1hash")
                .is_some(),
            "{o}"
        );
    }
    let actions = plan(&PlanInput {
        bd_name: "simple",
        spec,
        objects: &objects,
        hooks: &[],
        inventory: None,
        live: &[],
        existing_namespaces: &BTreeSet::new(),
        discovery: &CoreKinds,
        force: false,
    })
    .unwrap();
    let kinds: Vec<&str> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Apply { object, .. } => object["kind"].as_str(),
            _ => None,
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "Service",
            "Service",
            "Service",
            "Deployment",
            "Deployment",
            "Deployment"
        ]
    );
    let Some(Action::RecordInventory { inventory }) = actions.last() else {
        panic!("no inventory action");
    };
    assert_eq!(inventory.objects.len(), 6);
    assert_eq!(inventory.namespace, "default");
}
