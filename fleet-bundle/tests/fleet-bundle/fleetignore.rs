//! `../shared/vectors/fleet/fleetignore.json`: which files of a directory become resources,
//! plus symlink rules, run against real directories made in a temp dir.

use std::path::Path;

use fleet_bundle::tree::DirTree;
use fleet_bundle::walk::read_dir_files;
use serde_json::Value;

use crate::common::shared;

fn build(dir: &Path, tree: &serde_json::Map<String, Value>, outside: &Path) {
    for (name, v) in tree {
        let p = dir.join(name);
        match v {
            Value::String(s) => std::fs::write(&p, s).expect("write"),
            Value::Object(m) if m.contains_key("symlinkTo") => {
                let target = m["symlinkTo"].as_str().unwrap_or_default();
                let target = if target.starts_with('<') {
                    outside.to_path_buf()
                } else {
                    Path::new(target).to_path_buf()
                };
                std::os::unix::fs::symlink(target, &p).expect("symlink");
            }
            Value::Object(m) => {
                std::fs::create_dir_all(&p).expect("mkdir");
                build(&p, m, outside);
            }
            _ => panic!("bad tree node {name}"),
        }
    }
}

#[test]
fn fleetignore_vectors() {
    let Some(shared) = shared() else { return };
    let text =
        std::fs::read_to_string(shared.join("vectors/fleet/fleetignore.json")).expect("read");
    let doc: Value = serde_json::from_str(&text).expect("json");
    let mut passed = 0;
    let mut skipped_network = 0;
    for case in doc["cases"].as_array().expect("cases") {
        let name = case["name"].as_str().unwrap_or_default();
        let input = &case["input"];
        let Some(tree) = input["tree"].as_object() else {
            // The two OCI cases need DNS for "oci://foo/...": not a directory walk.
            skipped_network += 1;
            continue;
        };
        let tmp = tempfile::tempdir().expect("tmp");
        let outside = tmp.path().join("outside-secret.txt");
        std::fs::write(&outside, "sensitive content").expect("write");
        let root = tmp
            .path()
            .join(input["rootDirName"].as_str().unwrap_or("bundle"));
        std::fs::create_dir_all(&root).expect("mkdir");
        build(&root, tree, &outside);
        let skip: Vec<String> = input["ignoreApplyConfigs"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let t = DirTree::new(&root).expect("tree");
        let result = read_dir_files(&t, "", &skip);
        let exp = &case["expected"];
        if let Some(msg) = exp["errorContains"].as_str() {
            let err = result.expect_err(name).to_string();
            assert!(err.contains(msg), "{name}: {err}");
            if let Some(no) = exp["errorMustNotContain"].as_str() {
                assert!(!err.contains(no), "{name}: {err}");
            }
        } else if let Some(files) = exp["files"].as_object() {
            let got = result.unwrap_or_else(|e| panic!("{name}: {e}"));
            let got: Vec<(String, String)> = got
                .into_iter()
                .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
                .collect();
            let mut want: Vec<(String, String)> = files
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect();
            want.sort();
            assert_eq!(got, want, "{name}");
        } else if let Some(files) = exp["filesInclude"].as_object() {
            let got = result.unwrap_or_else(|e| panic!("{name}: {e}"));
            for (k, v) in files {
                assert_eq!(
                    got.get(k).map(|b| String::from_utf8_lossy(b).into_owned()),
                    v.as_str().map(str::to_string),
                    "{name}: {k}"
                );
            }
        } else {
            panic!("{name}: unknown expectation");
        }
        passed += 1;
    }
    eprintln!("fleetignore vectors: {passed} passed, {skipped_network} need DNS (not run)");
    assert!(passed >= 14, "{passed}");
}

#[test]
fn symlinks_dot_dot_and_absolute() {
    let tmp = tempfile::tempdir().expect("tmp");
    let repo = tmp.path().join("repo");
    let bundle = repo.join("app");
    std::fs::create_dir_all(bundle.join("sub")).expect("mkdir");
    std::fs::write(repo.join("secret.yaml"), "kind: Secret\n").expect("w");
    std::fs::write(bundle.join("cm.yaml"), "kind: ConfigMap\n").expect("w");
    // ../ escaping the bundle directory (still inside the repository): rejected.
    std::os::unix::fs::symlink("../secret.yaml", bundle.join("up.yaml")).expect("ln");
    let t = DirTree::new(&repo).expect("tree");
    let err = read_dir_files(&t, "app", &[])
        .expect_err("escape")
        .to_string();
    assert!(err.contains("escapes bundle directory"), "{err}");
    std::fs::remove_file(bundle.join("up.yaml")).expect("rm");

    // Absolute link to a file inside the bundle: followed.
    let abs_inside = std::fs::canonicalize(bundle.join("cm.yaml")).expect("canon");
    std::os::unix::fs::symlink(&abs_inside, bundle.join("sub/abs.yaml")).expect("ln");
    // Relative link to a directory inside: followed, files named below the link.
    std::os::unix::fs::symlink("sub", bundle.join("linkdir")).expect("ln");
    let files = read_dir_files(&t, "app", &[]).expect("walk");
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(names, ["cm.yaml", "linkdir/abs.yaml", "sub/abs.yaml"]);

    // Absolute link outside the repository: rejected.
    std::fs::write(tmp.path().join("outside.yaml"), "x").expect("w");
    std::os::unix::fs::symlink(tmp.path().join("outside.yaml"), bundle.join("out.yaml"))
        .expect("ln");
    let err = read_dir_files(&t, "app", &[])
        .expect_err("escape")
        .to_string();
    assert!(err.contains("escapes bundle directory"), "{err}");
}
