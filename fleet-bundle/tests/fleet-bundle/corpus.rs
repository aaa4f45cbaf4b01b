//! The fleet-cli-assets facts (`EXPECTATIONS.yaml`), and every corpus directory read.
//!
//! Fleet's CLI tests run `fleet apply` on `../assets/<dir>` with repo names that cancel out
//! (`Join("simple", "../assets/simple") = "assets/simple"`); here the tree root is the assets
//! directory and the repo name is `assets`, which gives the same bundle IDs.

use fleet_bundle::read::TargetsFile;
use fleet_bundle::tree::DirTree;
use fleet_bundle::{Scan, read_repo};
use serde_json::{Value, json};

use crate::common::{StubFetcher, as_json, options, resource_names, shared};

fn assets() -> Option<DirTree> {
    let dir = shared()?.join("corpus/fleet-cli-assets");
    Some(DirTree::new(dir).expect("assets dir"))
}

fn read(tree: &DirTree, path: &str) -> Vec<Value> {
    let fetcher = StubFetcher::default();
    let opts = options("assets", &fetcher);
    read_repo(tree, &Scan::Classic(vec![path.into()]), &opts)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .into_iter()
        .map(|b| as_json(&b.bundle))
        .collect()
}

fn by_name<'a>(bundles: &'a [Value], name: &str) -> &'a Value {
    bundles
        .iter()
        .find(|b| b["metadata"]["name"] == name)
        .unwrap_or_else(|| {
            let names: Vec<_> = bundles
                .iter()
                .map(|b| b["metadata"]["name"].clone())
                .collect();
            panic!("no bundle {name} in {names:?}")
        })
}

#[test]
fn simple_and_named() {
    let Some(t) = assets() else { return };
    let b = read(&t, "simple");
    assert_eq!(b.len(), 1);
    assert_eq!(b[0]["metadata"]["name"], "assets-simple");
    assert_eq!(resource_names(&b[0]), ["deployment.yaml", "svc.yaml"]);
    assert_eq!(
        b[0]["spec"]["targets"],
        json!([{"name": "default", "clusterGroup": "default", "ignore": {}}])
    );
    assert!(b[0]["spec"].get("targetRestrictions").is_none());
    assert!(b[0]["spec"].get("keepResources").is_none());

    let b = read(&t, "simple-fleet-yaml");
    assert_eq!(b[0]["metadata"]["name"], "my-great-bundle");
    assert_eq!(resource_names(&b[0]), ["deployment.yaml", "svc.yaml"]);
}

#[test]
fn nested_layouts() {
    let Some(t) = assets() else { return };
    let b = read(&t, "nested_simple");
    assert_eq!(b.len(), 1);
    assert_eq!(b[0]["metadata"]["name"], "assets-nested-simple-118f9eb2");
    assert_eq!(
        resource_names(&b[0]),
        ["README.md", "simple/deployment.yaml", "simple/svc.yaml"]
    );

    let b = read(&t, "nested_two_levels");
    assert_eq!(
        b[0]["metadata"]["name"],
        "assets-nested-two-levels-7fa95aa4"
    );
    assert_eq!(
        resource_names(&b[0]),
        ["nested/deployment/deployment.yaml", "nested/svc/svc.yaml"]
    );

    let b = read(&t, "nested_multiple");
    assert_eq!(b.len(), 3);
    for (name, ns, res) in [
        (
            "assets-nested-multiple-deploymenta-b6124839",
            "deploymenta",
            "svc/svc.yaml",
        ),
        (
            "assets-nested-multiple-deploymentb-3f5665a4",
            "deploymentb",
            "svc/nested/svc.yaml",
        ),
        (
            "assets-nested-multiple-deploymentc-1fa4c10a",
            "deploymentc",
            "deployment.yaml",
        ),
    ] {
        let x = by_name(&b, name);
        assert_eq!(x["spec"]["namespace"], ns);
        assert_eq!(resource_names(x), [res]);
    }

    let b = read(&t, "nested_mixed_two_levels");
    assert_eq!(b.len(), 3);
    let root = by_name(&b, "assets-nested-mixed-two-levels-8b78b9de");
    assert_eq!(
        resource_names(root),
        [
            "nested/deploymentA/deployment.yaml",
            "nested/deploymentA/fleet.yaml",
            "nested/deploymentB/svc.yaml",
            "nested/deploymentC/cm.yaml",
            "nested/deploymentC/fleet.yaml",
            "nested/deploymentD/deployment.yaml",
        ]
    );
    let a = by_name(&b, "assets-nested-mixed-two-levels-nested-deploymen-48ac6");
    assert_eq!(a["spec"]["namespace"], "deploymenta");
    assert_eq!(resource_names(a), ["deployment.yaml"]);
    let c = by_name(&b, "assets-nested-mixed-two-levels-nested-deploymen-7ca89");
    assert_eq!(c["spec"]["namespace"], "deploymentc");
    assert_eq!(resource_names(c), ["cm.yaml"]);
}

#[test]
fn options_reach_the_spec() {
    let Some(t) = assets() else { return };
    let b = read(&t, "keep_resources");
    assert_eq!(b[0]["metadata"]["name"], "assets-keep-resources-2bc0db0d");
    assert_eq!(b[0]["spec"]["keepResources"], true);
    assert_eq!(resource_names(&b[0]), ["svc.yaml"]);

    let b = read(&t, "helm_options_enabled");
    assert_eq!(
        b[0]["metadata"]["name"],
        "assets-helm-options-enabled-e9bfba73"
    );
    let h = &b[0]["spec"]["helm"];
    for k in [
        "takeOwnership",
        "atomic",
        "force",
        "waitForJobs",
        "disablePreProcess",
    ] {
        assert_eq!(h[k], true, "{k}");
    }
    assert_eq!(h["releaseName"], "enabled");

    let b = read(&t, "helm_options_disabled");
    let h = &b[0]["spec"]["helm"];
    for k in [
        "takeOwnership",
        "atomic",
        "force",
        "waitForJobs",
        "disablePreProcess",
    ] {
        // Go's omitempty drops false; readers see false either way.
        assert!(h.get(k).is_none_or(|v| v == false), "{k}");
    }
    assert_eq!(h["releaseName"], "disabled");

    let b = read(&t, "helm_options_kustomize");
    assert_eq!(
        b[0]["metadata"]["name"],
        "assets-helm-options-kustomize-ccbc7439"
    );
    assert_eq!(b[0]["spec"]["helm"]["takeOwnership"], true);
    assert_eq!(b[0]["spec"]["helm"]["releaseName"], "kustomize");
    assert_eq!(resource_names(&b[0]), ["kustomization.yaml"]);
}

#[test]
fn values_files_are_configuration() {
    let Some(t) = assets() else { return };
    let b = read(&t, "helm-values-ignore");
    assert_eq!(b[0]["metadata"]["name"], "assets-helm-values-ignore");
    assert_eq!(
        resource_names(&b[0]),
        [
            "config-chart/Chart.yaml",
            "config-chart/templates/configmap.yaml"
        ]
    );
    assert!(b[0]["spec"]["helm"]["values"].is_object());

    let b = read(&t, "helm-in-chart-fleetyaml-values-ignore");
    assert_eq!(b.len(), 1);
    assert_eq!(
        b[0]["metadata"]["name"],
        "assets-helm-in-chart-fleetyaml-values-ignore-co-f3e60"
    );
    assert_eq!(
        resource_names(&b[0]),
        ["Chart.yaml", "templates/configmap.yaml"]
    );
}

#[test]
fn driven_scans() {
    let Some(t) = assets() else { return };
    let fetcher = StubFetcher::default();
    let opts = options("multiple_paths", &fetcher);
    // The driven scan runs from the assets' parent in Fleet; Join("multiple_paths",
    // "../assets/driven/helm") = "assets/driven/helm". Same IDs with repo "assets".
    let mut opts = opts;
    opts.repo_name = "assets".into();
    let scan = Scan::Driven {
        entries: vec![
            "driven/helm".into(),
            "driven/simple".into(),
            "driven/kustomize:dev.yaml".into(),
            "driven/kustomize:prod.yaml".into(),
        ],
        separator: ':',
    };
    let b: Vec<Value> = read_repo(&t, &scan, &opts)
        .expect("driven")
        .into_iter()
        .map(|b| as_json(&b.bundle))
        .collect();
    assert_eq!(b.len(), 4);
    let helm = by_name(&b, "assets-driven-helm");
    assert_eq!(helm["spec"]["helm"]["releaseName"], "config-chart");
    assert_eq!(
        helm["spec"]["helm"]["chart"],
        "http://localhost:3000/config-chart-0.1.0.tgz"
    );
    let names = resource_names(helm);
    assert!(names.iter().all(|n| {
        n.starts_with(".chart/8001cca048084016ce8f96c7432e99dc01d4964ec99dccea5f5367cdd1ea2df3/")
    }));
    assert_eq!(
        resource_names(by_name(&b, "assets-driven-simple")),
        ["deployment.yaml", "svc.yaml"]
    );
    let dev = by_name(&b, "assets-driven-kustomize-dev");
    assert_eq!(dev["spec"]["kustomize"]["dir"], "overlays/dev");
    assert_eq!(dev["spec"]["namespace"], "fleet-kustomize-example");
    let dev_names = resource_names(dev);
    assert_eq!(dev_names.len(), 7);
    assert!(dev_names.contains(&"prod.yaml".to_string()));
    assert!(!dev_names.contains(&"dev.yaml".to_string()));
    let prod = by_name(&b, "assets-driven-kustomize-prod");
    assert_eq!(prod["spec"]["kustomize"]["dir"], "overlays/prod");
    assert_eq!(resource_names(prod).len(), 6);

    let scan = Scan::Driven {
        entries: vec![
            "driven2/kustomize:fleetDev.yaml".into(),
            "driven2/kustomize:fleetProd.yaml".into(),
        ],
        separator: ':',
    };
    let b: Vec<Value> = read_repo(&t, &scan, &opts)
        .expect("driven2")
        .into_iter()
        .map(|b| as_json(&b.bundle))
        .collect();
    let dev = by_name(&b, "assets-driven2-kustomize-fleetdev-2946f474");
    assert_eq!(resource_names(dev).len(), 6);
    assert_eq!(dev["spec"]["kustomize"]["dir"], "overlays/dev");
    let prod = by_name(&b, "assets-driven2-kustomize-fleetprod-99f597b0");
    assert_eq!(resource_names(prod).len(), 7);
    assert!(resource_names(prod).contains(&"fleetDev.yaml".to_string()));

    let scan = Scan::Driven {
        entries: vec!["driven_fleet_yaml_subfolder/helm".into()],
        separator: ':',
    };
    let b = read_repo(&t, &scan, &opts).expect("subfolder");
    assert_eq!(
        as_json(&b[0].bundle)["metadata"]["name"],
        "assets-driven-fleet-yaml-subfolder-helm-f49dc35c"
    );
    assert_eq!(resource_names(&as_json(&b[0].bundle)), ["test/fleet.yaml"]);
    assert!(as_json(&b[0].bundle)["spec"].get("helm").is_none());

    let scan = Scan::Driven {
        entries: vec!["driven_fleet_yaml_subfolder/helm:test/fleet.yaml".into()],
        separator: ':',
    };
    let b = read_repo(&t, &scan, &opts).expect("subfolder with options");
    let x = &as_json(&b[0].bundle);
    assert_eq!(
        x["metadata"]["name"],
        "assets-driven-fleet-yaml-subfolder-helm-test-fl-b676f"
    );
    assert_eq!(x["spec"]["helm"]["releaseName"], "config-chart");
    assert!(!resource_names(x).contains(&"test/fleet.yaml".to_string()));
}

#[test]
fn depends_on() {
    let Some(t) = assets() else { return };
    let b = read(&t, "dependson_valid");
    assert_eq!(b[0]["metadata"]["name"], "assets-dependson-valid-517d16d4");
    assert_eq!(
        b[0]["spec"]["dependsOn"],
        json!([{"name": "my-dependency", "acceptedStates": ["Ready", "Modified"]}])
    );
    assert_eq!(b[0]["spec"]["defaultNamespace"], "test-dependson");
    assert_eq!(
        b[0]["spec"]["targets"],
        json!([{"name": "target000", "clusterSelector": {}, "ignore": {}}])
    );
    let b = read(&t, "dependson_all_states");
    assert_eq!(
        b[0]["spec"]["dependsOn"][0]["acceptedStates"]
            .as_array()
            .map(Vec::len),
        Some(7)
    );
    let b = read(&t, "dependson_no_acceptedstates");
    assert_eq!(
        b[0]["spec"]["dependsOn"],
        json!([{"name": "my-dependency"}])
    );
    let b = read(&t, "dependson_with_selector");
    assert_eq!(
        b[0]["spec"]["dependsOn"][0]["selector"]["matchLabels"],
        json!({"app": "database", "tier": "backend"})
    );
    let b = read(&t, "dependson_multiple");
    assert_eq!(
        b[0]["spec"]["dependsOn"],
        json!([
            {"name": "first-dependency", "acceptedStates": ["Ready"]},
            {"name": "second-dependency", "acceptedStates": ["Ready", "Modified"]},
            {"selector": {"matchLabels": {"app": "third"}}, "acceptedStates": ["Ready", "NotReady"]},
        ])
    );

    let fetcher = StubFetcher::default();
    let opts = options("assets", &fetcher);
    let err = read_repo(&t, &Scan::Classic(vec!["dependson_invalid".into()]), &opts)
        .expect_err("invalid state")
        .to_string();
    assert!(
        err.contains("dependsOn[0].acceptedStates[1]: invalid state \"InvalidState\""),
        "{err}"
    );
    let err = read_repo(
        &t,
        &Scan::Classic(vec!["dependson_missing_name_selector".into()]),
        &opts,
    )
    .expect_err("no name")
    .to_string();
    assert!(
        err.contains("dependsOn[0]: must specify either 'name' or 'selector'"),
        "{err}"
    );
    assert!(
        err.contains("dependson_missing_name_selector/fleet.yaml"),
        "{err}"
    );
}

#[test]
fn targets_and_overrides() {
    let Some(t) = assets() else { return };
    let b = read(&t, "targets/simple");
    assert_eq!(b[0]["metadata"]["name"], "assets-targets-simple");
    assert_eq!(b[0]["spec"]["namespace"], "test");
    assert_eq!(
        b[0]["spec"]["targets"],
        json!([{"name": "default", "clusterGroup": "default", "ignore": {}}])
    );
    let b = read(&t, "targets/override");
    assert_eq!(b[0]["metadata"]["name"], "assets-targets-override");
    // Go's BundleTarget carries an `ignore` struct, always serialised; restrictions do not.
    assert_eq!(
        b[0]["spec"]["targets"],
        json!([{"clusterName": "overridden", "ignore": {}}])
    );
    assert_eq!(
        b[0]["spec"]["targetRestrictions"],
        json!([{"clusterName": "overridden"}])
    );

    let fetcher = StubFetcher::default();
    let mut opts = options("assets", &fetcher);
    opts.targets_file = Some(
        TargetsFile::parse(
            "targets.yaml",
            r#"{"targets":[{"name":"target1","clusterName":"test1"}],"targetRestrictions":[{"name":"target1","clusterName":"test1"}]}"#,
        )
        .expect("targets file"),
    );
    let b = read_repo(&t, &Scan::Classic(vec!["targets/simple".into()]), &opts).expect("tf");
    assert_eq!(
        as_json(&b[0].bundle)["spec"]["targets"],
        json!([{"name": "target1", "clusterName": "test1", "ignore": {}}])
    );
    assert_eq!(
        as_json(&b[0].bundle)["spec"]["targetRestrictions"],
        json!([{"name": "target1", "clusterName": "test1"}])
    );
    let b = read_repo(&t, &Scan::Classic(vec!["targets/override".into()]), &opts).expect("tf2");
    assert_eq!(
        as_json(&b[0].bundle)["spec"]["targets"],
        json!([{"clusterName": "overridden", "ignore": {}}])
    );
}

#[test]
fn remote_chart_prefixes() {
    let Some(t) = assets() else { return };
    let b = read(&t, "helm_repo_url");
    assert_eq!(b[0]["metadata"]["name"], "assets-helm-repo-url-63073729");
    assert!(resource_names(&b[0]).iter().all(|n| {
        n.starts_with(".chart/9cd746da56c214c17f9f0b7b43ea23a5010f4651488965bdead75fe6ac974f1b/")
    }));
    let b = read(&t, "helm_chart_url");
    assert_eq!(b[0]["metadata"]["name"], "assets-helm-chart-url-d8534825");
    let b = read(&t, "helm_path_credentials");
    assert_eq!(b.len(), 1);
    assert_eq!(
        b[0]["metadata"]["name"],
        "assets-helm-path-credentials-subfolder-4edac7b8"
    );
}

/// Every directory of the three corpora reads without error (remote charts come from a stub
/// fetcher: there is no network), except the two fixtures where Fleet itself fails.
#[test]
fn every_corpus_directory() {
    let Some(shared) = shared() else { return };
    let fetcher = StubFetcher::default();
    let mut checked = 0;
    for corpus in ["fleet-examples", "fleet-test-data", "fleet-cli-assets"] {
        let root = shared.join("corpus").join(corpus);
        let tree = DirTree::new(&root).expect("corpus");
        let mut opts = options(corpus, &fetcher);
        opts.image_scans = true;
        let mut dirs: Vec<String> = std::fs::read_dir(&root)
            .expect("list")
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        dirs.sort();
        for dir in dirs {
            let result = read_repo(&tree, &Scan::Classic(vec![dir.clone()]), &opts);
            let expected_error = match (corpus, dir.as_str()) {
                ("fleet-cli-assets", "dependson_invalid") => Some("invalid state"),
                ("fleet-cli-assets", "dependson_missing_name_selector") => {
                    Some("must specify either")
                }
                _ => None,
            };
            match (result, expected_error) {
                (Ok(b), None) => assert!(!b.is_empty()),
                (Err(e), Some(msg)) => assert!(e.to_string().contains(msg), "{corpus}/{dir}: {e}"),
                (Ok(_), Some(msg)) => panic!("{corpus}/{dir}: expected error {msg:?}"),
                (Err(e), None) => panic!("{corpus}/{dir}: {e}"),
            }
            checked += 1;
        }
    }
    assert!(checked > 50, "only {checked} directories");
}
