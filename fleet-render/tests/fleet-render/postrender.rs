//! Post-rendering: objectset labels, namespaces, the CRD keep annotation.

use fleet_render::postrender::{self, Error, PostRenderOptions};
use serde_json::{Value, json};

fn opts(target: &str, default: &str) -> PostRenderOptions {
    PostRenderOptions {
        set_id: postrender::set_id("default", "my-bd", ""),
        target_namespace: target.to_string(),
        default_namespace: default.to_string(),
        delete_crd_resources: false,
    }
}

fn crd(kind: &str, scope: &str) -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{}s.ex.com", kind.to_lowercase())},
        "spec": {"group": "ex.com", "scope": scope, "names": {"kind": kind, "plural": format!("{}s", kind.to_lowercase())},
                 "versions": [{"name": "v1", "served": true, "storage": true}]}
    })
}

#[test]
fn set_ids_and_hash() {
    assert_eq!(postrender::set_id("", "test", ""), "-test");
    assert_eq!(
        postrender::set_hash("-test"),
        "c0fae66aeeea5c9703d7410307d74609c272103d"
    );
    assert_eq!(postrender::set_id("default", "my-bd", ""), "default-my-bd");
    assert_eq!(
        postrender::set_id("default", "fleet-agent-local", ""),
        "fleet-agent-bootstrap"
    );
    assert_eq!(
        postrender::set_id("default", "fleet-agent-local", "s"),
        "fleet-agent-bootstrap-s"
    );
    assert_eq!(
        postrender::set_id("default", "b", "scope"),
        "default-b-scope"
    );
}

#[test]
fn labels_annotations_and_default_namespace() {
    let mut objs = vec![
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "labels": {"x": "y"}}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b", "namespace": "other"}}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "r"}}),
        json!({"apiVersion": "unknown.io/v1", "kind": "Widget", "metadata": {"name": "w"}}),
        json!({"apiVersion": "ex.com/v1", "kind": "Global", "metadata": {"name": "g"}}),
        crd("Global", "Cluster"),
    ];
    postrender::post_render(&mut objs, &opts("", "apps")).expect("ok");
    let hash = postrender::set_hash("default-my-bd");
    assert_eq!(
        objs[0]["metadata"]["labels"],
        json!({"x": "y", "objectset.rio.cattle.io/hash": hash})
    );
    assert_eq!(
        objs[0]["metadata"]["annotations"]["objectset.rio.cattle.io/id"],
        "default-my-bd"
    );
    assert_eq!(objs[0]["metadata"]["namespace"], "apps");
    assert_eq!(objs[1]["metadata"]["namespace"], "other");
    assert!(
        objs[2]["metadata"].get("namespace").is_none(),
        "cluster-scoped kind"
    );
    assert_eq!(
        objs[3]["metadata"]["namespace"], "apps",
        "unknown kinds are namespaced"
    );
    assert!(
        objs[4]["metadata"].get("namespace").is_none(),
        "scope from the bundle's CRD"
    );
    assert_eq!(
        objs[5]["metadata"]["annotations"]["helm.sh/resource-policy"],
        "keep"
    );
    assert!(
        objs[0]["metadata"]["annotations"]
            .get("helm.sh/resource-policy")
            .is_none()
    );
}

#[test]
fn delete_crd_resources_drops_keep() {
    let mut objs = vec![crd("Thing", "Namespaced")];
    let mut o = opts("", "");
    o.delete_crd_resources = true;
    postrender::post_render(&mut objs, &o).expect("ok");
    assert!(
        objs[0]["metadata"]["annotations"]
            .get("helm.sh/resource-policy")
            .is_none()
    );
}

#[test]
fn target_namespace_forces_and_rejects_cluster_scoped() {
    let mut objs = vec![
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "other"}}),
        json!({"apiVersion": "unknown.io/v1", "kind": "Widget", "metadata": {"name": "w"}}),
    ];
    postrender::post_render(&mut objs, &opts("forced", "ignored")).expect("ok");
    assert_eq!(objs[0]["metadata"]["namespace"], "forced");
    assert_eq!(objs[1]["metadata"]["namespace"], "forced");
    let mut objs =
        vec![json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}})];
    let err = postrender::post_render(&mut objs, &opts("forced", "")).expect_err("cluster-scoped");
    assert_eq!(
        err,
        Error::ClusterScoped {
            name: "n".into(),
            kind: "Namespace".into(),
            api_version: "v1".into()
        }
    );
    assert!(
        err.to_string().starts_with(
            "invalid cluster scoped object [name=n kind=Namespace apiVersion=v1] found."
        )
    );
    let mut objs = vec![
        json!({"apiVersion": "ex.com/v1", "kind": "Global", "metadata": {"name": "g"}}),
        crd("Global", "Cluster"),
    ];
    assert!(postrender::post_render(&mut objs, &opts("forced", "")).is_err());
}

#[test]
fn non_objects_are_errors() {
    let mut objs = vec![json!("text")];
    assert!(matches!(
        postrender::post_render(&mut objs, &opts("", "")),
        Err(Error::NotAnObject { index: 0, .. })
    ));
}
