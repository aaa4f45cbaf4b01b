//! Raw YAML bundles and `yaml.overlays`.

use fleet_render::files::Files;
use fleet_render::raw_yaml::{self, Error};
use serde_json::{Value, json};

fn files(entries: &[(&str, &str)]) -> Files {
    let mut f = Files::new();
    for (name, content) in entries {
        f.insert(name, content.as_bytes().to_vec()).expect("insert");
    }
    f
}

fn objects(f: &Files) -> Vec<Value> {
    raw_yaml::raw_objects(f).expect("objects")
}

const DEPLOY: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  template:
    spec:
      containers:
      - name: app
        image: app:1
        env:
        - name: A
          value: a
      - name: side
        image: side:1
";

#[test]
fn unnamed_resources_get_manifest_names() {
    let f = raw_yaml::name_resources([
        ("", b"a: 1\n".as_slice()),
        ("x.yaml", b"b: 2\n".as_slice()),
        ("", b"c: 3\n".as_slice()),
    ])
    .expect("names");
    let names: Vec<&str> = f.iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        ["manifests/file000.yaml", "manifests/file002.yaml", "x.yaml"]
    );
}

#[test]
fn strategic_merge_for_builtin_kinds() {
    let f = files(&[
        ("deploy.yaml", DEPLOY),
        (
            "overlays/o/deploy_patch.yaml",
            "spec:\n  replicas: 3\n  template:\n    spec:\n      containers:\n      - name: app\n        image: app:2\n",
        ),
    ]);
    let out = objects(&raw_yaml::apply_overlays(&f, &["o".to_string()]).expect("overlay"));
    let containers = &out[0]["spec"]["template"]["spec"]["containers"];
    // Merged by name: the sidecar stays, app keeps its env.
    assert_eq!(out[0]["spec"]["replicas"], 3);
    assert_eq!(containers[0]["image"], "app:2");
    assert_eq!(containers[0]["env"][0]["name"], "A");
    assert_eq!(containers[1]["name"], "side");
}

#[test]
fn merge_patch_for_unknown_kinds_and_json6902_for_lists() {
    let f = files(&[
        (
            "cr.yaml",
            "apiVersion: ex.com/v1\nkind: Thing\nmetadata:\n  name: t\nspec:\n  items: [1, 2]\n  keep: x\n  drop: y\n",
        ),
        (
            "overlays/o/cr_patch.yaml",
            "spec:\n  items: [3]\n  drop: null\n",
        ),
        ("d.yaml", DEPLOY),
        (
            "overlays/o/d_patch.yaml",
            "- op: replace\n  path: /spec/replicas\n  value: 5\n- op: add\n  path: /metadata/labels\n  value: {a: b}\n",
        ),
    ]);
    let out = objects(&raw_yaml::apply_overlays(&f, &["o".to_string()]).expect("overlay"));
    let cr = out.iter().find(|o| o["kind"] == "Thing").expect("cr");
    assert_eq!(cr["spec"], json!({"items": [3], "keep": "x"}));
    let d = out.iter().find(|o| o["kind"] == "Deployment").expect("d");
    assert_eq!(d["spec"]["replicas"], 5);
    assert_eq!(d["metadata"]["labels"], json!({"a": "b"}));
}

#[test]
fn replacement_empty_file_and_unselected_overlays() {
    let f = files(&[
        (
            "a.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
        ),
        (
            "b.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n",
        ),
        (
            "overlays/one/a.yaml",
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: a\n",
        ),
        ("overlays/one/b.yaml", ""),
        (
            "overlays/one/new/c.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n",
        ),
        (
            "overlays/two/a.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n",
        ),
    ]);
    let none = objects(&raw_yaml::apply_overlays(&f, &[]).expect("none"));
    assert_eq!(none.len(), 2, "overlays/ is dropped even when unused");
    let one = objects(&raw_yaml::apply_overlays(&f, &["one".to_string()]).expect("one"));
    let kinds: Vec<(&str, &str)> = one
        .iter()
        .map(|o| {
            (
                o["kind"].as_str().unwrap_or(""),
                o["metadata"]["name"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(kinds, [("Secret", "a"), ("ConfigMap", "c")]);
    // Later overlays win.
    let both = objects(
        &raw_yaml::apply_overlays(&f, &["one".to_string(), "two".to_string()]).expect("both"),
    );
    assert_eq!(both[0]["kind"], "Pod");
}

#[test]
fn patch_of_multi_document_file_keeps_first_document() {
    let f = files(&[
        (
            "m.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n",
        ),
        ("overlays/o/m_patch.yaml", "data:\n  k: v\n"),
    ]);
    let plain = objects(&f);
    assert_eq!(plain.len(), 2);
    let out = objects(&raw_yaml::apply_overlays(&f, &["o".to_string()]).expect("overlay"));
    assert_eq!(
        out,
        vec![
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "v"}})
        ]
    );
}

#[test]
fn patch_errors_name_the_files() {
    let f = files(&[("overlays/o/missing_patch.yaml", "a: 1\n")]);
    let err = raw_yaml::apply_overlays(&f, &["o".to_string()]).expect_err("missing");
    assert!(matches!(err, Error::PatchTargetMissing { .. }));
    assert!(err.to_string().contains("missing.yaml"), "{err}");
    let f = files(&[
        ("d.yaml", DEPLOY),
        (
            "overlays/o/d_patch.yaml",
            "- op: remove\n  path: /spec/nothing\n",
        ),
    ]);
    let err = raw_yaml::apply_overlays(&f, &["o".to_string()])
        .expect_err("bad op")
        .to_string();
    assert!(
        err.contains("d.yaml") && err.contains("overlays/o/d_patch.yaml"),
        "{err}"
    );
    let f = files(&[("bad.yaml", "a: [\n")]);
    let err = raw_yaml::raw_objects(&f).expect_err("bad yaml").to_string();
    assert!(err.starts_with("bad.yaml:"), "{err}");
}

#[test]
fn which_files_and_documents_become_objects() {
    let cm = |n: &str| format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {n}\n");
    let f = files(&[
        ("fleet.yaml", "namespace: x\n"),
        ("README.md", "# no\n"),
        ("a.yaml", &cm("a")),
        ("b.yml", &cm("b")),
        (
            "c.json",
            r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}}"#,
        ),
        ("nested/fleet.yaml", "{}\n"),
        ("nested/n.yaml", &cm("nested")),
        ("chart/Chart.yaml", "name: c\n"),
        ("chart/x.yaml", &cm("chart")),
        ("nokind.yaml", &format!("{}---\nfoo: bar\n", cm("lost"))),
        (
            "noversion.yaml",
            &format!(
                "kind: ConfigMap\nmetadata:\n  name: nov\n---\n{}",
                cm("kept")
            ),
        ),
        ("empty.yaml", "---\n# only a comment\n---\n{}\n"),
        (
            "list.yaml",
            "apiVersion: v1\nkind: ConfigMapList\nitems:\n- metadata:\n    name: i1\n- apiVersion: v1\n  kind: Secret\n  metadata:\n    name: i2\n",
        ),
        ("templates/t.yaml", &cm("tpl")),
    ]);
    let names: Vec<String> = objects(&f)
        .iter()
        .map(|o| {
            format!(
                "{}/{}",
                o["kind"].as_str().unwrap_or(""),
                o["metadata"]["name"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            "ConfigMap/a",
            "ConfigMap/b",
            "ConfigMap/c",
            "ConfigMap/i1",
            "Secret/i2",
            "ConfigMap/kept"
        ]
    );
    let (_, templates) = raw_yaml::split_templates(&f);
    assert_eq!(
        templates.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        ["templates/t.yaml"]
    );
    let scalar = files(&[("s.yaml", "just a string\n")]);
    assert!(matches!(
        raw_yaml::raw_objects(&scalar),
        Err(Error::NotAnObject { .. })
    ));
}

mod props {
    use fleet_render::files::Files;
    use fleet_render::raw_yaml;
    use proptest::prelude::*;
    use serde_json::json;

    proptest! {
        #[test]
        fn json6902_add_then_remove_restores(key in "[a-z]{1,8}", value in "[a-z0-9]{0,8}") {
            let base = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"keep": "1"}});
            let add = json!([{"op": "add", "path": format!("/data/{key}x"), "value": value}]);
            let remove = json!([{"op": "remove", "path": format!("/data/{key}x")}]);
            let mut f = Files::new();
            f.insert("c.yaml", serde_json::to_vec(&base).expect("json")).expect("insert");
            f.insert("overlays/a/c_patch.yaml", serde_json::to_vec(&add).expect("json")).expect("insert");
            f.insert("overlays/b/c_patch.yaml", serde_json::to_vec(&remove).expect("json")).expect("insert");
            let out = raw_yaml::apply_overlays(&f, &["a".to_string(), "b".to_string()]).expect("overlays");
            let objs = raw_yaml::raw_objects(&out).expect("objects");
            prop_assert_eq!(&objs[0], &base);
        }

        #[test]
        fn empty_strategic_patch_is_identity(replicas in 0u32..10, name in "[a-z]{1,8}") {
            let base = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
                "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "a", "image": "x"}]}}}});
            let out = raw_yaml::apply_patch(&base, &json!({})).expect("patch");
            prop_assert_eq!(out, base);
        }
    }
}

/// Fleet's list rule (apimachinery's unstructured decoding) against kubectl's
/// (`fleet_core::yaml::list_items`): any object with `items` is a list, `items: null` is an
/// empty one, and only items with neither kind nor apiVersion inherit the list's.
#[test]
fn any_object_with_items_is_a_list() {
    let thing = "apiVersion: ex.com/v1\nkind: Thing\nitems:\n- metadata:\n    name: t1\n- kind: Other\n  metadata:\n    name: dropped\n- apiVersion: v1\n  metadata:\n    name: nokind\n";
    let names: Vec<String> = raw_yaml::file_objects("thing.yaml", thing.as_bytes())
        .expect("read")
        .iter()
        .map(|o| {
            format!(
                "{} {}/{}",
                o["apiVersion"].as_str().unwrap_or(""),
                o["kind"].as_str().unwrap_or(""),
                o["metadata"]["name"].as_str().unwrap_or("")
            )
        })
        .collect();
    // `Other` has a kind but no apiVersion: it inherits nothing and is dropped.
    assert_eq!(names, ["ex.com/v1 Thing/t1", "v1 /nokind"]);
    // kubectl's rule does not see a list there.
    let doc: Value = fleet_core::yaml::documents(thing).expect("yaml").remove(0);
    assert!(fleet_core::yaml::list_items(&doc).is_none());
    // `items: null` is an empty list, not an object.
    let null_items = "apiVersion: v1\nkind: ConfigMapList\nitems: null\n";
    assert_eq!(
        raw_yaml::file_objects("null.yaml", null_items.as_bytes()).expect("read"),
        Vec::<Value>::new()
    );
    let not_a_list = "apiVersion: v1\nkind: ConfigMapList\nitems: x\n";
    assert!(matches!(
        raw_yaml::file_objects("bad.yaml", not_a_list.as_bytes()),
        Err(Error::NotAnObject { .. })
    ));
}
