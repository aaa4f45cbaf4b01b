//! BundleDeployments built from targeting decisions: option folding, value processing, the
//! deployment ID, namespace labels, labels and namespaces.

use fleet_core::crd::{Bundle, Cluster};
use fleet_targeting::Decision;
use fleet_targeting::deployment::{
    ManifestRef, bundle_deployment, cluster_deployment_namespace, target_options,
};
use serde_json::{Value, json};

fn bundle(spec: Value) -> Bundle {
    serde_json::from_value(json!({
        "apiVersion": "fleet.cattle.io/v1alpha1",
        "kind": "Bundle",
        "metadata": {
            "name": "app",
            "namespace": "fleet-default",
            "labels": {
                "team": "a",
                "kubectl.kubernetes.io/last-applied": "x",
                "foo.cattle.io/skip": "x",
                "fleet.cattle.io/repo-name": "repo",
            },
        },
        "spec": spec,
    }))
    .expect("bundle")
}

fn cluster(labels: Value, status: Value) -> Cluster {
    let mut c = json!({
        "apiVersion": "fleet.cattle.io/v1alpha1",
        "kind": "Cluster",
        "metadata": {"name": "c1", "namespace": "fleet-default", "labels": labels},
        "spec": {"templateValues": {"region": "eu"}},
    });
    if !status.is_null() {
        c["status"] = status;
    }
    serde_json::from_value(c).expect("cluster")
}

fn decision(target: u32, customizations: &[u32]) -> Decision {
    Decision {
        target,
        customizations: customizations.to_vec(),
    }
}

fn manifest() -> ManifestRef {
    ManifestRef {
        id: "s-abc".to_string(),
        in_content: true,
    }
}

fn values(bd: &fleet_core::crd::BundleDeployment) -> Value {
    Value::Object(
        bd.spec
            .options
            .helm
            .as_ref()
            .and_then(|h| h.values.clone())
            .unwrap_or_default(),
    )
}

#[test]
fn first_match_replaces_and_all_matches_folds() {
    let spec = json!({
        "helm": {"values": {"base": 1, "shared": "bundle"}},
        "targets": [
            {"name": "custom-a", "helm": {"values": {"a": 1, "shared": "a"}}},
            {"name": "custom-b", "helm": {"values": {"b": 1, "shared": "b"}}},
            {"name": "deploy", "helm": {"values": {"t": 1, "shared": "target"}}},
        ],
    });
    let first = bundle(spec.clone());
    let opts = target_options(&first.spec, &decision(2, &[0]));
    let v = Value::Object(opts.helm.unwrap().values.unwrap());
    // The customization replaces the target's options, then merges over the bundle's.
    assert_eq!(v, json!({"base": 1, "a": 1, "shared": "a"}));

    let mut all_spec = spec;
    all_spec["targetCustomizationMode"] = json!("AllMatches");
    let all = bundle(all_spec);
    let opts = target_options(&all.spec, &decision(2, &[0, 1]));
    let v = Value::Object(opts.helm.unwrap().values.unwrap());
    // Folded in list order: the target, then a, then b (last wins).
    assert_eq!(v, json!({"base": 1, "t": 1, "a": 1, "b": 1, "shared": "b"}));
}

#[test]
fn values_are_processed_for_the_cluster_once() {
    let b = bundle(json!({
        "helm": {
            "values": {
                "env": "${ .ClusterLabels.env }",
                "region": "${ .ClusterValues.region }",
                "label": "global.fleet.clusterLabels.env",
                "literal": "${`${PWD}`}",
            },
        },
        "targets": [{"clusterSelector": {}}],
    }));
    let c = cluster(json!({"env": "prod"}), json!({"namespace": "cluster-ns"}));
    let bd = bundle_deployment(&b, &decision(0, &[]), &c, &manifest())
        .expect("builds")
        .expect("has a namespace");
    assert_eq!(
        values(&bd),
        json!({"env": "prod", "region": "eu", "label": "prod", "literal": "${PWD}"})
    );
    assert_eq!(bd.spec.staged_options, bd.spec.options);
}

#[test]
fn clusters_without_exportable_labels_are_not_processed() {
    let b = bundle(json!({
        "helm": {"values": {"env": "${ .ClusterLabels.env }"}},
        "targets": [{"clusterSelector": {}}],
    }));
    let c = cluster(json!({"foo.cattle.io/x": "1"}), Value::Null);
    let bd = bundle_deployment(&b, &decision(0, &[]), &c, &manifest())
        .unwrap()
        .unwrap();
    assert_eq!(values(&bd), json!({"env": "${ .ClusterLabels.env }"}));
}

#[test]
fn a_template_error_names_bundle_cluster_and_value() {
    let b = bundle(json!({
        "helm": {"values": {"x": {"y": "${ .ClusterLabels.missing }"}}},
        "targets": [{"clusterSelector": {}}],
    }));
    let c = cluster(json!({"env": "prod"}), Value::Null);
    let err = bundle_deployment(&b, &decision(0, &[]), &c, &manifest())
        .expect_err("missing key")
        .to_string();
    for part in [
        "bundle fleet-default/app",
        "cluster c1 in namespace fleet-default",
        "helm.values.x.y",
    ] {
        assert!(err.contains(part), "{part} not in {err}");
    }
}

#[test]
fn namespace_labels_of_every_target_are_unioned_after_hashing() {
    let without = bundle(json!({
        "targets": [{"name": "a", "clusterSelector": {}}, {"name": "b", "clusterName": "x"}],
    }));
    let with = bundle(json!({
        "targets": [
            {"name": "a", "clusterSelector": {}},
            {"name": "b", "clusterName": "x", "namespaceLabels": {"l": "1"},
             "namespaceAnnotations": {"n": "2"}},
        ],
    }));
    let c = cluster(json!({"env": "prod"}), Value::Null);
    let bd_without = bundle_deployment(&without, &decision(0, &[]), &c, &manifest())
        .unwrap()
        .unwrap();
    let bd_with = bundle_deployment(&with, &decision(0, &[]), &c, &manifest())
        .unwrap()
        .unwrap();
    // Target b did not match, yet its namespace labels reach the options; the ID is the same.
    assert_eq!(bd_with.spec.deployment_id, bd_without.spec.deployment_id);
    let labels = bd_with.spec.options.namespace_labels.as_ref().unwrap();
    assert_eq!(labels.get("l").map(String::as_str), Some("1"));
    let annotations = bd_with.spec.staged_options.namespace_annotations.as_ref();
    assert_eq!(annotations.unwrap().get("n").map(String::as_str), Some("2"));
    assert!(bd_with.spec.deployment_id.starts_with("s-abc:"));
}

#[test]
fn identity_labels_and_namespace() {
    let b = bundle(json!({
        "paused": true,
        "dependsOn": [{"name": "db"}],
        "correctDrift": {"enabled": true},
        "targets": [{"clusterSelector": {}}],
    }));
    let c = cluster(json!({}), json!({"namespace": "cluster-ns"}));
    let bd = bundle_deployment(&b, &decision(0, &[]), &c, &manifest())
        .unwrap()
        .unwrap();
    assert_eq!(
        (bd.metadata.name.as_str(), bd.metadata.namespace.as_str()),
        ("app", "cluster-ns")
    );
    let labels: Vec<(&str, &str)> = bd
        .metadata
        .labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        labels,
        [
            ("fleet.cattle.io/bundle-name", "app"),
            ("fleet.cattle.io/bundle-namespace", "fleet-default"),
            ("fleet.cattle.io/cluster", "c1"),
            ("fleet.cattle.io/cluster-namespace", "fleet-default"),
            ("fleet.cattle.io/content-name", "s-abc"),
            ("fleet.cattle.io/managed", "true"),
            ("fleet.cattle.io/repo-name", "repo"),
            ("team", "a"),
        ]
    );
    assert!(bd.spec.paused);
    assert_eq!(bd.spec.depends_on.len(), 1);
    assert!(bd.spec.correct_drift.as_ref().is_some_and(|d| d.enabled));

    // A status without a namespace: Fleet writes no BundleDeployment yet.
    let pending = cluster(json!({}), json!({"namespace": ""}));
    assert_eq!(cluster_deployment_namespace(&pending), None);
    assert!(
        bundle_deployment(&b, &decision(0, &[]), &pending, &manifest())
            .unwrap()
            .is_none()
    );
    // No status at all: the namespace Fleet would generate.
    let fresh = cluster(json!({}), Value::Null);
    let ns = cluster_deployment_namespace(&fresh).unwrap();
    assert!(ns.starts_with("cluster-fleet-default-c1-"), "{ns}");
}

#[test]
fn decisions_naming_missing_targets_are_errors() {
    let b = bundle(json!({"targets": [{"clusterSelector": {}}]}));
    let c = cluster(json!({}), Value::Null);
    let err = bundle_deployment(&b, &decision(0, &[3]), &c, &manifest())
        .expect_err("no target 3")
        .to_string();
    assert!(err.contains("target 3"), "{err}");
}

#[test]
fn a_snapshot_writes_deployments_in_cluster_name_order() {
    use fleet_targeting::deployment::{Objects, Snapshot};
    let b = bundle(json!({"targets": [{"clusterSelector": {"matchLabels": {"env": "prod"}}}]}));
    let named = |ns: &str, name: &str, env: &str| -> Cluster {
        serde_json::from_value(json!({
            "apiVersion": "fleet.cattle.io/v1alpha1",
            "kind": "Cluster",
            "metadata": {"name": name, "namespace": ns, "labels": {"env": env}},
            "spec": {},
            "status": {"namespace": format!("cluster-{ns}-{name}")},
        }))
        .unwrap()
    };
    let clusters = vec![
        named("fleet-default", "zeta", "prod"),
        named("fleet-default", "alpha", "prod"),
        named("fleet-default", "mid", "dev"),
    ];
    let bundles = vec![b];
    let snapshot = Snapshot::build(Objects {
        bundles: &bundles,
        clusters: &clusters,
        ..Objects::default()
    })
    .unwrap();
    let bds = snapshot.bundle_deployments().unwrap();
    let namespaces: Vec<&str> = bds
        .iter()
        .map(|bd| bd.metadata.namespace.as_str())
        .collect();
    assert_eq!(
        namespaces,
        ["cluster-fleet-default-alpha", "cluster-fleet-default-zeta"]
    );

    let twice = vec![clusters[0].clone(), clusters[0].clone()];
    let err = Snapshot::build(Objects {
        bundles: &bundles,
        clusters: &twice,
        ..Objects::default()
    })
    .err()
    .expect("duplicate cluster")
    .to_string();
    assert_eq!(err, "duplicate Cluster fleet-default/zeta");
}

#[test]
fn a_snapshot_gives_the_rollout_view_in_target_order() {
    use fleet_core::crd::ClusterGroup;
    use fleet_targeting::deployment::{Objects, Snapshot};
    let b = bundle(json!({"targets": [{"clusterGroup": "edge"}]}));
    let c = |name: &str, paused: bool| -> Cluster {
        serde_json::from_value(json!({
            "apiVersion": "fleet.cattle.io/v1alpha1",
            "kind": "Cluster",
            "metadata": {"name": name, "namespace": "fleet-default", "labels": {"site": name}},
            "spec": {"paused": paused},
        }))
        .unwrap()
    };
    let group: ClusterGroup = serde_json::from_value(json!({
        "apiVersion": "fleet.cattle.io/v1alpha1",
        "kind": "ClusterGroup",
        "metadata": {"name": "edge", "namespace": "fleet-default", "labels": {"tier": "edge"}},
        "spec": {"selector": {}},
    }))
    .unwrap();
    let (bundles, clusters, groups) = (vec![b], vec![c("b", true), c("a", false)], vec![group]);
    let snapshot = Snapshot::build(Objects {
        bundles: &bundles,
        clusters: &clusters,
        groups: &groups,
        ..Objects::default()
    })
    .unwrap();
    let view = snapshot.rollout_targets(0);
    let names: Vec<&str> = view.iter().map(|t| t.cluster.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    assert!(view[1].cluster.paused && !view[0].cluster.paused);
    assert_eq!(view[0].cluster.labels["site"], "a");
    assert_eq!(view[0].cluster.groups.len(), 1);
    assert_eq!(view[0].cluster.groups[0].0, "edge");
    assert_eq!(view[0].cluster.groups[0].1["tier"], "edge");
}
