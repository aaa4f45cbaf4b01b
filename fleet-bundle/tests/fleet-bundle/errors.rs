//! Bad input gets a typed error naming the file and the reason; repository rules on synthetic
//! trees (values files, encoding, compression, discovery).

use std::path::Path;

use base64::Engine;
use fleet_bundle::chart::Offline;
use fleet_bundle::tree::DirTree;
use fleet_bundle::{Scan, read_repo};
use serde_json::json;

use crate::common::{as_json, options, resource_names};

fn write(root: &Path, files: &[(&str, &[u8])]) {
    for (p, c) in files {
        let p = root.join(p);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, c).expect("write");
    }
}

fn run(files: &[(&str, &[u8])], paths: &[&str]) -> Result<Vec<serde_json::Value>, String> {
    let tmp = tempfile::tempdir().expect("tmp");
    write(tmp.path(), files);
    let t = DirTree::new(tmp.path()).expect("tree");
    let opts = options("repo", &Offline);
    read_repo(
        &t,
        &Scan::Classic(paths.iter().map(|s| s.to_string()).collect()),
        &opts,
    )
    .map(|b| b.into_iter().map(|b| as_json(&b.bundle)).collect())
    .map_err(|e| e.to_string())
}

fn err(files: &[(&str, &[u8])]) -> String {
    run(files, &["app"]).expect_err("should fail")
}

#[test]
fn invalid_yaml_names_the_file() {
    let e = err(&[
        ("app/fleet.yaml", b"helm: [unclosed\n"),
        ("app/a.yaml", b"x: 1\n"),
    ]);
    assert!(
        e.contains("app/fleet.yaml") && e.contains("invalid YAML"),
        "{e}"
    );
}

#[test]
fn wrong_key_types() {
    let e = err(&[
        ("app/fleet.yaml", b"helm:\n  chart: [a]\n"),
        ("app/a.yaml", b"x: 1\n"),
    ]);
    assert!(
        e.contains("app/fleet.yaml: helm.chart: expected a string, found a list"),
        "{e}"
    );
    let e = err(&[
        ("app/fleet.yaml", b"targetCustomizations: {}\n"),
        ("app/a.yaml", b"x: 1\n"),
    ]);
    assert!(
        e.contains("targetCustomizations: expected a list, found a mapping"),
        "{e}"
    );
    let e = err(&[
        ("app/fleet.yaml", b"labels:\n  a: [1]\n"),
        ("app/a.yaml", b"x: 1\n"),
    ]);
    assert!(e.contains("labels.a: expected a string"), "{e}");
    let e = err(&[("app/fleet.yaml", b"- a\n"), ("app/a.yaml", b"x: 1\n")]);
    assert!(e.contains("expected a mapping, found a list"), "{e}");
}

#[test]
fn invalid_selectors() {
    let e = err(&[
        (
            "app/fleet.yaml",
            b"targetCustomizations:\n- clusterSelector:\n    matchExpressions:\n    - key: env\n      operator: Equals\n      values: [a]\n",
        ),
        ("app/a.yaml", b"x: 1\n"),
    ]);
    assert!(
        e.contains("targetCustomizations[0].clusterSelector: \"Equals\" is not a valid label selector operator"),
        "{e}"
    );
    let e = err(&[
        (
            "app/fleet.yaml",
            b"targets:\n- clusterSelector:\n    matchExpressions:\n    - key: env\n      operator: In\n",
        ),
        ("app/a.yaml", b"x: 1\n"),
    ]);
    assert!(e.contains("targets[0].clusterSelector"), "{e}");
}

#[test]
fn depends_on_rules() {
    let e = err(&[
        ("app/fleet.yaml", b"dependsOn:\n- acceptedStates: [Ready]\n"),
        ("app/a.yaml", b"x: 1\n"),
    ]);
    assert!(
        e.contains("dependsOn[0]: must specify either 'name' or 'selector'"),
        "{e}"
    );
    let e = err(&[
        (
            "app/fleet.yaml",
            b"dependsOn:\n- name: x\n  acceptedStates: [Done]\n",
        ),
        ("app/a.yaml", b"x: 1\n"),
    ]);
    assert!(
        e.contains("dependsOn[0].acceptedStates[0]: invalid state \"Done\""),
        "{e}"
    );
}

#[test]
fn path_escaping_the_repository() {
    let e = run(&[("app/a.yaml", b"x: 1\n")], &["../app"]).expect_err("escape");
    assert!(e.contains("escapes the repository root"), "{e}");
    let e = err(&[
        (
            "app/fleet.yaml",
            b"helm:\n  chart: ./c\n  valuesFiles: [../../etc/passwd]\n",
        ),
        ("app/c/Chart.yaml", b"name: c\n"),
    ]);
    assert!(e.contains("escapes the repository root"), "{e}");
}

#[test]
fn missing_chart() {
    let e = err(&[("app/fleet.yaml", b"helm:\n  chart: ./nochart\n")]);
    assert!(
        e.contains("chart=./nochart") && e.contains("not found"),
        "{e}"
    );
}

#[test]
fn image_scans_rejected_unless_enabled() {
    let e = err(&[
        (
            "app/fleet.yaml",
            b"imageScans:\n- image: nginx\n  tagName: t\n",
        ),
        ("app/a.yaml", b"x: 1\n"),
    ]);
    assert!(
        e.contains("imageScans: image scans are an experimental feature and are not enabled"),
        "{e}"
    );
    // With the feature off, any imageScans list is refused (fleet_core::fleetyaml rule).
    let refused = run(
        &[
            ("app/fleet.yaml", b"imageScans:\n- tagName: t\n"),
            ("app/a.yaml", b"x: 1\n"),
        ],
        &["app"],
    );
    assert!(refused.is_err());
}

#[test]
fn no_bundle_is_an_error_and_empty_bundles_are_skipped() {
    let e = run(&[("README.md", b"hi")], &["."]).expect_err("none");
    assert!(e.contains("no resource found"), "{e}");
    // `b` has a fleet.yaml but no resources: skipped; `a` remains.
    let b = run(
        &[
            ("a/fleet.yaml", b"{}\n"),
            ("a/x.yaml", b"k: v\n"),
            ("b/fleet.yaml", b"{}\n"),
        ],
        &["."],
    )
    .expect("ok");
    let names: Vec<_> = b.iter().map(|b| b["metadata"]["name"].clone()).collect();
    assert_eq!(names, [json!("repo-a")]);
}

#[test]
fn discovery_rules() {
    let b = run(
        &[
            ("root.yaml", b"a: 1\n"),
            (".git/config.yaml", b"a: 1\n"),
            ("x/fleet.yml", b"namespace: x\n"),
            ("x/cm.yaml", b"a: 1\n"),
            ("x/.hidden.yaml", b"a: 1\n"),
            ("x/.hid/y.yaml", b"a: 1\n"),
            ("z/deep/fleet.yaml", b"{}\n"),
            ("z/deep/c.json", b"{}\n"),
        ],
        &["."],
    )
    .expect("ok");
    let names: Vec<String> = b
        .iter()
        .map(|b| {
            b["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert_eq!(names, ["repo", "repo-x", "repo-z-deep"]);
    // The root holds everything below it (nested bundle files included); .git is hidden.
    assert_eq!(
        resource_names(&b[0]),
        [
            "root.yaml",
            "x/cm.yaml",
            "x/fleet.yml",
            "z/deep/c.json",
            "z/deep/fleet.yaml"
        ]
    );
    // fleet.yml read as configuration stays a resource (only fleet.yaml is excluded).
    assert_eq!(resource_names(&b[1]), ["cm.yaml", "fleet.yml"]);
    assert_eq!(b[1]["spec"]["namespace"], "x");
    // Globs.
    let b = run(
        &[("apps/a/x.yaml", b"a: 1\n"), ("apps/b/y.yaml", b"a: 1\n")],
        &["/apps/*"],
    )
    .expect("glob");
    assert_eq!(b.len(), 2);
    assert_eq!(b[1]["metadata"]["name"], "repo-apps-b");
}

#[test]
fn values_files_win_and_are_not_resources() {
    let b = run(
        &[
            (
                "app/fleet.yaml",
                b"helm:\n  chart: ./chart\n  values:\n    a: 1\n    m: {x: 1, y: 1}\n  valuesFiles: [v1.yaml, vals/v2.yaml]\ntargetCustomizations:\n- name: t\n  helm:\n    valuesFiles: [t.yaml]\n",
            ),
            ("app/v1.yaml", b"a: 2\nm: {y: 2}\n"),
            ("app/vals/v2.yaml", b"b: 3\n"),
            ("app/t.yaml", b"c: 4\n"),
            ("app/chart/Chart.yaml", b"name: c\n"),
        ],
        &["app"],
    )
    .expect("ok");
    let spec = &b[0]["spec"];
    assert_eq!(
        spec["helm"]["values"],
        json!({"a": 2, "b": 3, "m": {"x": 1, "y": 2}})
    );
    assert_eq!(spec["targets"][0]["helm"]["values"], json!({"c": 4}));
    // The root chart is propagated into the target's helm block.
    assert_eq!(spec["targets"][0]["helm"]["chart"], "./chart");
    assert_eq!(resource_names(&b[0]), ["chart/Chart.yaml"]);
}

#[test]
fn encoding_and_compression() {
    let binary: &[u8] = &[0xff, 0xfe, 0x00, 0x01];
    let b = run(
        &[("app/a.yaml", b"x: 1\n"), ("app/bin.dat", binary)],
        &["app"],
    )
    .expect("ok");
    let res = b[0]["spec"]["resources"].as_array().expect("res").clone();
    assert_eq!(res[0]["name"], "a.yaml");
    assert!(res[0].get("encoding").is_none());
    assert_eq!(res[1]["encoding"], "base64+gz");
    let gz = base64::engine::general_purpose::STANDARD
        .decode(res[1]["content"].as_str().expect("content"))
        .expect("b64");
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut out).expect("gz");
    assert_eq!(out, binary);

    // A bundle reaching 1,000,000 bytes of JSON is rebuilt with every resource compressed.
    let big = "a: b\n".repeat(210_000);
    let b = run(
        &[("app/big.yaml", big.as_bytes()), ("app/s.yaml", b"x: 1\n")],
        &["app"],
    )
    .expect("ok");
    for r in b[0]["spec"]["resources"].as_array().expect("res") {
        assert_eq!(r["encoding"], "base64+gz");
    }
    let small = "a: b\n".repeat(150_000);
    let b = run(&[("app/big.yaml", small.as_bytes())], &["app"]).expect("ok");
    assert!(b[0]["spec"]["resources"][0].get("encoding").is_none());
}

#[test]
fn labels_annotations_and_case_insensitive_keys() {
    let tmp = tempfile::tempdir().expect("tmp");
    write(
        tmp.path(),
        &[
            (
                "app/fleet.yaml",
                b"labels: {team: a}\nannotations: {note: n}\nDefaultNamespace: dn\nhelm:\n  disablePreprocess: true\nunknownKey: 1\n",
            ),
            ("app/a.yaml", b"x: 1\n"),
        ],
    );
    let t = DirTree::new(tmp.path()).expect("tree");
    let mut opts = options("repo", &Offline);
    opts.labels
        .insert("fleet.cattle.io/commit".into(), "abc".into());
    opts.labels.insert("team".into(), "cli".into());
    let b = read_repo(&t, &Scan::Classic(vec!["app".into()]), &opts).expect("ok");
    let m = &as_json(&b[0].bundle)["metadata"];
    assert_eq!(
        m["labels"],
        json!({"fleet.cattle.io/commit": "abc", "team": "a"})
    );
    assert_eq!(m["annotations"], json!({"note": "n"}));
    let spec = &as_json(&b[0].bundle)["spec"];
    assert_eq!(spec["defaultNamespace"], "dn");
    assert_eq!(spec["helm"]["disablePreProcess"], true);
    assert!(spec.get("unknownKey").is_none());
    assert!(spec.get("labels").is_none());
}
