#![no_main]
//! A bundle directory read as a whole from an in-memory tree: `fleet.yaml`, a `.fleetignore`,
//! a manifest and a values file from the input, charts refused by the offline fetcher. The read
//! returns a bundle, nothing, or an error, never a panic; a bundle must print as YAML.

use std::collections::BTreeMap;

use fleet_bundle::chart::Offline;
use fleet_bundle::read::read_bundle;
use fleet_bundle::tree::MemTree;
use fleet_bundle::{BundleDir, Options};
use libfuzzer_sys::fuzz_target;

/// Where each `\0`-separated part of the input goes.
const FILES: [&str; 5] = [
    "app/fleet.yaml",
    "app/.fleetignore",
    "app/manifests/deployment.yaml",
    "app/values.yaml",
    "app/overlays/dev/configmap.yaml",
];

fuzz_target!(|data: &[u8]| {
    let mut tree = MemTree::new("fuzz");
    for (path, contents) in FILES.iter().zip(data.split(|b| *b == 0)) {
        tree.insert(path, contents)
            .expect("fixed paths stay inside the tree");
    }
    tree.insert(
        "app/chart/Chart.yaml",
        "apiVersion: v2\nname: chart\nversion: 0.1.0\n",
    )
    .expect("fixed path");
    tree.insert(
        "app/chart/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n",
    )
    .expect("fixed path");
    let fetcher = Offline;
    let opts = Options {
        repo_name: "fuzz".into(),
        namespace: "fleet-local".into(),
        labels: BTreeMap::new(),
        targets_file: None,
        compress: false,
        image_scans: true,
        fetcher: &fetcher,
    };
    let dir = BundleDir {
        path: "app".into(),
        id_path: "app".into(),
        options_file: None,
    };
    if let Ok(Some(read)) = read_bundle(&tree, &dir, &opts) {
        let text = fleet_bundle::to_yaml(std::slice::from_ref(&read)).expect("a bundle prints");
        assert!(!text.is_empty());
    }
});
