#![no_main]
//! An arbitrary kustomization.yaml and resource file in a `Files` tree: the build must never
//! panic, and whatever it returns must print.

use fleet_kustomize::files::Files;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The input is `<kustomization> \0 <resource> [\0 <patch>]`.
    let mut parts = data.splitn(3, |b| *b == 0);
    let kustomization = parts.next().unwrap_or_default();
    let resource = parts.next().unwrap_or_default();
    let patch = parts.next().unwrap_or_default();
    let mut files = Files::new();
    let _ = files.insert("app/kustomization.yaml", kustomization);
    let _ = files.insert("app/resource.yaml", resource);
    let _ = files.insert("app/patch.yaml", patch);
    let _ = files.insert(
        "app/base/kustomization.yaml",
        "resources: [../resource.yaml]\nnamePrefix: base-\n",
    );
    if let Ok(objects) = fleet_kustomize::build(&files, "app") {
        let text = fleet_kustomize::to_yaml(&objects);
        assert!(text.is_empty() || text.ends_with('\n'));
    }
});
