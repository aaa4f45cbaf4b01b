#![no_main]
//! A kustomization with arbitrary patches (strategic merge files, JSON 6902 files in YAML and
//! JSON, inline patches and targets from the input) against fixed resources: the build returns
//! objects or an error, never a panic, and the objects print.

use fleet_kustomize::files::Files;
use libfuzzer_sys::fuzz_target;

/// The resources every patch is applied to.
const RESOURCES: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        env: [{name: MODE, value: prod}]
        ports: [{containerPort: 80, protocol: TCP}]
        volumeMounts: [{name: config, mountPath: /etc/web}]
      volumes: [{name: config, configMap: {name: web-config}}]
---
apiVersion: v1
kind: Service
metadata: {name: web, labels: {app: web}}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 80}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config}
data: {mode: prod}
";

/// Files the `\0`-separated parts after the kustomization tail go to.
const PATCH_FILES: [&str; 3] = ["app/patch.yaml", "app/ops.yaml", "app/ops.json"];

fuzz_target!(|data: &[u8]| {
    // The input is `<kustomization tail> \0 <patch.yaml> \0 <ops.yaml> \0 <ops.json>`; the tail
    // follows a fixed `resources:` list, so the fuzzer writes the `patches:` entries.
    let mut parts = data.split(|b| *b == 0);
    let tail = parts.next().unwrap_or_default();
    let mut kustomization = b"resources:\n- resources.yaml\n".to_vec();
    kustomization.extend_from_slice(tail);
    let mut files = Files::new();
    files
        .insert("app/kustomization.yaml", kustomization)
        .expect("fixed path");
    files
        .insert("app/resources.yaml", RESOURCES)
        .expect("fixed path");
    for (path, contents) in PATCH_FILES.iter().zip(parts) {
        files.insert(path, contents).expect("fixed path");
    }
    if let Ok(objects) = fleet_kustomize::build(&files, "app") {
        let text = fleet_kustomize::to_yaml(&objects);
        assert!(text.is_empty() || text.ends_with('\n'));
    }
});
