//! `fleet-manager target`.

use serde_json::{Value, json};

use crate::{corpus, docs, fixture, fleet_manager};

fn bd_by_cluster(out: &[Value], cluster: &str) -> Value {
    out.iter()
        .find(|d| d["metadata"]["labels"]["fleet.cattle.io/cluster"] == cluster)
        .cloned()
        .unwrap_or_else(|| panic!("a BundleDeployment for {cluster}"))
}

#[test]
fn fleet_cli_bundle_targets_cluster_name_local() {
    let Some(bundle) = corpus("bundle/bundle.yaml") else {
        return;
    };
    let r = fleet_manager(&[
        "target",
        "--bundle",
        &bundle,
        "--clusters",
        &fixture("target/clusters.yaml"),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = docs(&r.stdout);
    assert_eq!(out.len(), 1, "clusterName local matches only local");
    let bd = &out[0];
    assert_eq!(bd["kind"], "BundleDeployment");
    assert_eq!(bd["metadata"]["name"], "external-secret");
    assert_eq!(
        bd["metadata"]["namespace"],
        "cluster-fleet-local-local-1a3d67d0a899"
    );
    let labels = &bd["metadata"]["labels"];
    assert_eq!(labels["fleet.cattle.io/cluster"], "local");
    assert_eq!(labels["fleet.cattle.io/cluster-namespace"], "fleet-local");
    assert_eq!(labels["fleet.cattle.io/bundle-name"], "external-secret");
    assert_eq!(labels["fleet.cattle.io/bundle-namespace"], "fleet-local");
    assert_eq!(labels["fleet.cattle.io/managed"], "true");
    let id = bd["spec"]["deploymentID"].as_str().expect("deploymentID");
    let content = labels["fleet.cattle.io/content-name"]
        .as_str()
        .expect("content");
    assert_eq!(content.len(), 63);
    assert!(id.starts_with(&format!("{content}:")), "{id}");
    assert_eq!(bd["spec"]["stagedDeploymentID"], bd["spec"]["deploymentID"]);
    assert_eq!(bd["spec"]["stagedOptions"], bd["spec"]["options"]);
}

#[test]
fn fleet_cli_bundle_all_targets_every_cluster_in_name_order() {
    let Some(bundle) = corpus("bundle/bundle-all.yaml") else {
        return;
    };
    let r = fleet_manager(&[
        "target",
        "--bundle",
        &bundle,
        "--clusters",
        &fixture("target/clusters.yaml"),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = docs(&r.stdout);
    let clusters: Vec<&str> = out
        .iter()
        .map(|d| {
            d["metadata"]["labels"]["fleet.cattle.io/cluster"]
                .as_str()
                .expect("label")
        })
        .collect();
    // "pending" has an empty status.namespace: a target, but no BundleDeployment.
    assert_eq!(clusters, ["default", "local"]);
    // No status at all: the namespace Fleet generates.
    assert_eq!(
        out[0]["metadata"]["namespace"],
        fleet_core::names::cluster_namespace("fleet-local", "default")
    );
}

#[test]
fn fleet_cli_no_cluster_in_namespace() {
    let Some(bundle) = corpus("bundle/bundle-all.yaml") else {
        return;
    };
    let r = fleet_manager(&[
        "target",
        "--bundle",
        &bundle,
        "--clusters",
        &fixture("target/clusters-elsewhere.yaml"),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(docs(&r.stdout).is_empty(), "{}", r.stdout);
}

#[test]
fn customizations_restrictions_and_do_not_deploy() {
    let r = fleet_manager(&[
        "target",
        "--bundle",
        &fixture("target/customized-bundle.yaml"),
        "--clusters",
        &fixture("target/abc-clusters.yaml"),
        "--groups",
        &fixture("target/abc-groups.yaml"),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = docs(&r.stdout);
    assert_eq!(out.len(), 2, "two is vetoed by doNotDeploy");
    let one = bd_by_cluster(&out, "one");
    assert_eq!(one["metadata"]["namespace"], "cluster-one");
    // FirstMatch: the customization's options replace the target's, merged over the bundle's;
    // global.fleet.clusterLabels.* substituted.
    assert_eq!(
        one["spec"]["options"]["helm"]["values"],
        json!({"base": "1", "region": "one", "replicas": "1"})
    );
    let three = bd_by_cluster(&out, "three");
    assert_eq!(
        three["spec"]["options"]["helm"]["values"],
        json!({"base": "1", "region": "three", "replicas": "4"})
    );
    assert_ne!(one["spec"]["deploymentID"], three["spec"]["deploymentID"]);
    let labels = &one["metadata"]["labels"];
    assert_eq!(labels["foo"], "bar");
    assert_eq!(labels["fleet.cattle.io/repo-name"], "repo");
    assert!(
        labels
            .get("kubectl.kubernetes.io/last-applied-configuration")
            .is_none()
    );
}

#[test]
fn mappings_bring_other_namespaces_into_scope() {
    let args = |with_mapping: bool| {
        let mut a = vec![
            "target".to_string(),
            "--bundle".into(),
            fixture("target/mapped-bundle.yaml"),
            "--clusters".into(),
            fixture("target/abc-clusters.yaml"),
        ];
        if with_mapping {
            a.extend([
                "--mappings".into(),
                fixture("target/mappings.yaml"),
                "--namespaces".into(),
                fixture("target/namespaces.yaml"),
            ]);
        }
        a
    };
    let a = args(false);
    let r = fleet_manager(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(docs(&r.stdout).is_empty());
    let a = args(true);
    let r = fleet_manager(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = docs(&r.stdout);
    assert_eq!(out.len(), 3);
    assert!(
        out.iter()
            .all(|d| d["metadata"]["labels"]["fleet.cattle.io/bundle-namespace"] == "apps")
    );
}

#[test]
fn explain_names_group_restriction_and_veto() {
    let r = fleet_manager(&[
        "target",
        "--bundle",
        &fixture("target/customized-bundle.yaml"),
        "--clusters",
        &fixture("target/abc-clusters.yaml"),
        "--groups",
        &fixture("target/abc-groups.yaml"),
        "--explain",
        "two",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = r.stdout;
    assert!(
        text.contains("cluster groups: two, all") || text.contains("cluster groups: all, two"),
        "{text}"
    );
    assert!(text.contains("restriction[0]: allows"), "{text}");
    assert!(
        text.contains("targets[1] (customization, doNotDeploy)"),
        "{text}"
    );
    assert!(
        text.contains(
            "result: not deployed: deploy target targets[2], vetoed by customization targets[1]"
        ),
        "{text}"
    );
    let r = fleet_manager(&[
        "target",
        "--bundle",
        &fixture("target/customized-bundle.yaml"),
        "--clusters",
        &fixture("target/abc-clusters.yaml"),
        "--groups",
        &fixture("target/abc-groups.yaml"),
        "--explain",
        "one",
    ]);
    assert!(
        r.stdout
            .contains("result: deployed through targets[2]; customizations: targets[0]"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("rollout partition: \"All\""),
        "{}",
        r.stdout
    );
}

#[test]
fn bad_input_exits_2() {
    let bundle = fixture("target/mapped-bundle.yaml");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--clusters".into(), fixture("target/unknown-kind.yaml")],
            "unsupported kind \"ConfigMap\"",
        ),
        (
            vec!["--clusters".into(), fixture("target/missing.yaml")],
            "cannot read",
        ),
    ];
    for (extra, want) in cases {
        let mut a = vec!["target".to_string(), "--bundle".into(), bundle.clone()];
        a.extend(extra);
        let r = fleet_manager(&a.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(r.code, 2, "{a:?}");
        assert!(r.stderr.contains(want), "{}", r.stderr);
        assert!(r.stdout.is_empty());
    }
    let r = fleet_manager(&[
        "target",
        "--bundle",
        &fixture("target/invalid-selector-bundle.yaml"),
        "--clusters",
        &fixture("target/clusters.yaml"),
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("Bundle fleet-local/bad: targeting error"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("Gt"), "{}", r.stderr);
    let r = fleet_manager(&[
        "target",
        "--bundle",
        &bundle,
        "--clusters",
        &fixture("target/clusters.yaml"),
        "--mappings",
        &fixture("target/mappings.yaml"),
    ]);
    assert_eq!(r.code, 2, "--mappings needs --namespaces");
}

/// Helm values are pre-processed per cluster as Fleet's bundle controller does (spec §6.2):
/// `global.fleet.clusterLabels.*`, `${ }` templates over the cluster's name, labels and
/// templateValues, and `templateValues` parsed back as YAML — so each cluster's options (and
/// deploymentID) differ.
#[test]
fn helm_values_are_templated_per_cluster() {
    let r = fleet_manager(&[
        "target",
        "--bundle",
        &fixture("target/templated/bundle.yaml"),
        "--clusters",
        &fixture("target/templated/clusters.yaml"),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = docs(&r.stdout);
    assert_eq!(out.len(), 2);
    let eu = bd_by_cluster(&out, "edge-1");
    let us = bd_by_cluster(&out, "edge-2");
    assert_eq!(
        eu["spec"]["options"]["helm"]["values"],
        json!({"cluster": "edge-1", "env": "prod", "region": "EU", "replicas": 3})
    );
    assert_eq!(
        us["spec"]["options"]["helm"]["values"],
        json!({"cluster": "edge-2", "env": "prod", "region": "US", "replicas": 1})
    );
    assert_ne!(eu["spec"]["deploymentID"], us["spec"]["deploymentID"]);
    assert_eq!(eu["spec"]["stagedOptions"], eu["spec"]["options"]);
}

/// A template key the cluster does not have is an error for the whole bundle, as in Fleet
/// (`missingkey=error`), and nothing is printed.
#[test]
fn missing_template_value_is_an_error() {
    let r = fleet_manager(&[
        "target",
        "--bundle",
        &fixture("target/templated/bundle.yaml"),
        "--clusters",
        &fixture("target/templated/clusters-missing-value.yaml"),
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    assert!(
        r.stderr.contains("cluster edge-2") && r.stderr.contains("replicas"),
        "{}",
        r.stderr
    );
}
