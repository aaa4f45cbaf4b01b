//! The drift-diff workload: a 500-object bundle (the shape of Fleet's "50 BundleDeployments ×
//! 500 resources" scale test) and its live objects as the API server returns them.

use fleet_drift::diff;
use serde_json::{Value, json};

/// Objects in the benchmark bundle.
pub const OBJECTS: usize = 500;

/// The desired objects: a third each Deployments, Services and ConfigMaps.
pub fn desired_bundle() -> Vec<Value> {
    (0..OBJECTS)
        .map(|i| match i % 3 {
            0 => json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": format!("app-{i}"), "labels": {"app": format!("app-{i}")}},
                "spec": {"replicas": 2,
                    "selector": {"matchLabels": {"app": format!("app-{i}")}},
                    "template": {"metadata": {"labels": {"app": format!("app-{i}")}},
                        "spec": {"containers": [{"name": "web", "image": format!("registry/app:{i}"),
                            "ports": [{"containerPort": 8080, "name": "http"}],
                            "env": [{"name": "MODE", "value": "prod"}, {"name": "INDEX", "value": i.to_string()}],
                            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                                          "limits": {"cpu": 1, "memory": "256Mi"}}}]}}}}),
            1 => json!({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": format!("svc-{i}")},
                "spec": {"selector": {"app": format!("app-{i}")},
                    "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}),
            _ => json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": format!("cm-{i}")},
                "data": {"a": "1", "b": "two", "config.yaml": "key: value\nother: thing\n"}}),
        })
        .collect()
}

/// The live objects as the API server returns them: namespace, server metadata, defaults,
/// status, the set label.
pub fn live_bundle(desired: &[Value], hash: &str) -> Vec<Value> {
    desired
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let mut l = d.clone();
            let meta = l["metadata"].as_object_mut().expect("metadata");
            meta.insert("namespace".into(), json!("default"));
            meta.insert("uid".into(), json!(format!("uid-{i}")));
            meta.insert("resourceVersion".into(), json!("12345"));
            meta.insert("creationTimestamp".into(), json!("2026-01-01T00:00:00Z"));
            meta.insert("generation".into(), json!(1));
            meta.insert(
                "annotations".into(),
                json!({"objectset.rio.cattle.io/id": "default-bench", "meta.helm.sh/release-name": "bench"}),
            );
            meta.entry("labels")
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .expect("labels")
                .insert(diff::LABEL_HASH.into(), json!(hash));
            match d["kind"].as_str() {
                Some("Deployment") => {
                    l["spec"]["progressDeadlineSeconds"] = json!(600);
                    l["spec"]["revisionHistoryLimit"] = json!(10);
                    l["spec"]["strategy"] = json!({"type": "RollingUpdate",
                        "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}});
                    let pod = &mut l["spec"]["template"]["spec"];
                    pod["dnsPolicy"] = json!("ClusterFirst");
                    pod["restartPolicy"] = json!("Always");
                    pod["schedulerName"] = json!("default-scheduler");
                    pod["securityContext"] = json!({});
                    pod["terminationGracePeriodSeconds"] = json!(30);
                    let c = &mut pod["containers"][0];
                    c["imagePullPolicy"] = json!("IfNotPresent");
                    c["terminationMessagePath"] = json!("/dev/termination-log");
                    c["terminationMessagePolicy"] = json!("File");
                    c["ports"][0]["protocol"] = json!("TCP");
                    c["resources"]["limits"]["cpu"] = json!("1");
                    l["status"] = json!({"observedGeneration": 1, "replicas": 2, "readyReplicas": 2,
                        "updatedReplicas": 2, "availableReplicas": 2,
                        "conditions": [{"type": "Available", "status": "True"},
                            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]});
                }
                Some("Service") => {
                    l["spec"]["clusterIP"] = json!(format!("10.43.{}.{}", i / 256, i % 256));
                    l["spec"]["type"] = json!("ClusterIP");
                    l["spec"]["sessionAffinity"] = json!("None");
                    l["spec"]["ipFamilies"] = json!(["IPv4"]);
                    l["spec"]["ports"][0]["protocol"] = json!("TCP");
                    l["status"] = json!({"loadBalancer": {}});
                }
                _ => {}
            }
            l
        })
        .collect()
}

/// The live objects with every tenth one changed (image, port or data).
pub fn drifted(live: &[Value]) -> Vec<Value> {
    let mut drifted = live.to_vec();
    for obj in drifted.iter_mut().step_by(10) {
        match obj["kind"].as_str() {
            Some("Deployment") => {
                obj["spec"]["template"]["spec"]["containers"][0]["image"] =
                    json!("registry/app:changed")
            }
            Some("Service") => obj["spec"]["ports"][0]["port"] = json!(81),
            _ => obj["data"]["a"] = json!("changed"),
        }
    }
    drifted
}
