//! Chart loading from archives (safety limits) and from every chart of the Helm corpus.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

use fleet_helm::chart::{self, Chart, Error};
use fleet_helm::{coalesce, dependencies, values};

/// A gzipped tar with entries written raw, so unsafe names can be produced.
fn archive(entries: &[(&str, tar::EntryType, &[u8], &str)]) -> Vec<u8> {
    let mut tar_bytes = Vec::new();
    {
        let mut builder = tar::Builder::new(&mut tar_bytes);
        for (name, kind, data, link) in entries {
            let mut header = tar::Header::new_old();
            let raw = &mut header.as_old_mut().name;
            raw[..name.len()].copy_from_slice(name.as_bytes());
            header.set_entry_type(*kind);
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            if !link.is_empty() {
                let raw = &mut header.as_old_mut().linkname;
                raw[..link.len()].copy_from_slice(link.as_bytes());
            }
            header.set_cksum();
            builder.append(&header, *data).unwrap();
        }
        builder.finish().unwrap();
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar_bytes).unwrap();
    gz.finish().unwrap()
}

const CHART_YAML: &[u8] = b"apiVersion: v2\nname: demo\nversion: 1.0.0\n";

#[test]
fn archive_loads_templates_values_and_files() {
    let bytes = archive(&[
        ("demo/Chart.yaml", tar::EntryType::Regular, CHART_YAML, ""),
        ("demo/values.yaml", tar::EntryType::Regular, b"a: yes\n", ""),
        ("demo/templates/cm.yaml", tar::EntryType::Regular, b"x", ""),
        ("demo/files/f.txt", tar::EntryType::Regular, b"f", ""),
    ]);
    let chart = chart::load_archive(&bytes, "demo.tgz").unwrap();
    assert_eq!(chart.name(), "demo");
    assert_eq!(chart.values, serde_json::json!({"a": true}));
    assert_eq!(chart.templates[0].name, "templates/cm.yaml");
    assert_eq!(chart.files[0].name, "files/f.txt");
}

#[test]
fn archive_entries_escaping_the_chart_are_refused() {
    for (name, kind, link, expect) in [
        (
            "demo/../evil",
            tar::EntryType::Regular,
            "",
            "outside the base directory",
        ),
        ("/etc/passwd", tar::EntryType::Regular, "", "absolute paths"),
        (
            "demo/link",
            tar::EntryType::Symlink,
            "../../etc/passwd",
            "links are not allowed",
        ),
        (
            "demo/hard",
            tar::EntryType::Link,
            "demo/Chart.yaml",
            "links are not allowed",
        ),
    ] {
        let bytes = archive(&[
            ("demo/Chart.yaml", tar::EntryType::Regular, CHART_YAML, ""),
            (name, kind, b"", link),
        ]);
        let err = chart::load_archive(&bytes, "bad.tgz").unwrap_err();
        assert!(matches!(err, Error::Archive { .. }), "{name}: {err}");
        let text = err.to_string();
        assert!(
            text.contains(expect) && text.contains("bad.tgz"),
            "{name}: {text}"
        );
    }
}

#[test]
fn oversized_file_and_garbage_are_refused() {
    let big = vec![b'a'; (chart::MAX_FILE_BYTES + 1) as usize];
    let bytes = archive(&[
        ("demo/Chart.yaml", tar::EntryType::Regular, CHART_YAML, ""),
        ("demo/big.txt", tar::EntryType::Regular, &big, ""),
    ]);
    let err = chart::load_archive(&bytes, "big.tgz")
        .unwrap_err()
        .to_string();
    assert!(err.contains("larger than"), "{err}");
    let err = chart::load_archive(b"not gzip", "junk.tgz").unwrap_err();
    assert!(matches!(err, Error::Archive { .. }), "{err}");
}

#[test]
fn missing_or_invalid_chart_yaml_names_the_chart() {
    let bytes = archive(&[("demo/values.yaml", tar::EntryType::Regular, b"a: 1\n", "")]);
    let err = chart::load_archive(&bytes, "nochart.tgz")
        .unwrap_err()
        .to_string();
    assert_eq!(err, "chart nochart.tgz: Chart.yaml file is missing");
    let bytes = archive(&[(
        "demo/Chart.yaml",
        tar::EntryType::Regular,
        b"apiVersion: v2\nversion: 1.0.0\n",
        "",
    )]);
    let err = chart::load_archive(&bytes, "noname.tgz")
        .unwrap_err()
        .to_string();
    assert!(err.contains("chart.metadata.name is required"), "{err}");
}

#[test]
fn helmignore_excludes_files_from_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("Chart.yaml"), CHART_YAML).unwrap();
    std::fs::write(
        root.join(".helmignore"),
        "# comment\n*.bak\nsecret/\n/notes.md\n",
    )
    .unwrap();
    std::fs::create_dir_all(root.join("templates")).unwrap();
    std::fs::create_dir_all(root.join("secret")).unwrap();
    std::fs::write(root.join("templates/a.yaml"), "a").unwrap();
    std::fs::write(root.join("templates/.hidden"), "h").unwrap();
    std::fs::write(root.join("x.bak"), "x").unwrap();
    std::fs::write(root.join("secret/s.txt"), "s").unwrap();
    std::fs::write(root.join("notes.md"), "n").unwrap();
    std::fs::write(root.join("readme.md"), "r").unwrap();
    let chart = chart::load_dir(root).unwrap();
    let files: Vec<&str> = chart.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(files, [".helmignore", "readme.md"]);
    let templates: Vec<&str> = chart.templates.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(templates, ["templates/a.yaml"]);
}

/// Template paths the engine would return for a chart tree (non-partials of non-library charts).
fn template_paths(chart: &Chart, prefix: &str, out: &mut BTreeSet<String>) {
    if !chart.is_library() {
        for template in &chart.templates {
            let base = template.name.rsplit('/').next().unwrap_or("");
            if !base.starts_with('_') {
                out.insert(format!("{prefix}/{}", template.name));
            }
        }
    }
    for sub in &chart.dependencies {
        // Aliases rename a subchart; the corpus has none, so the directory name is the chart name.
        template_paths(sub, &format!("{prefix}/charts/{}", sub.name()), out);
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_corpus_chart_loads_and_covers_its_golden_templates() {
    let Some(corpus) = fleet_test_tools::shared::path("corpus/helm") else {
        return;
    };
    let mut charts = 0;
    let mut cases = 0;
    let mut ids: Vec<_> = std::fs::read_dir(&corpus)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("chart").is_dir())
        .map(|e| e.path())
        .collect();
    ids.sort();
    for id in ids {
        let chart =
            chart::load(&id.join("chart")).unwrap_or_else(|e| panic!("{}: {e}", id.display()));
        charts += 1;
        assert!(
            chart
                .files
                .iter()
                .all(|f| f.name != "Chart.yaml" && f.name != "values.yaml"),
            "{}: .Files holds chart metadata",
            id.display()
        );
        let mut paths = BTreeSet::new();
        template_paths(&chart, chart.name(), &mut paths);
        let mut case_files: Vec<_> = std::fs::read_dir(id.join("cases"))
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| {
                p.extension().is_some_and(|x| x == "yaml")
                    && !p.to_string_lossy().ends_with(".expected.yaml")
            })
            .collect();
        case_files.sort();
        for case in case_files {
            let user = values::parse(&read(&case), &case.display().to_string())
                .unwrap_or_else(|e| panic!("{e}"));
            let coalesced = coalesce::coalesce_values(&chart, &user);
            assert!(coalesced.is_object());
            cases += 1;
            let expected = case.with_extension("expected.json");
            if !expected.exists() {
                continue;
            }
            let map: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(&read(&expected)).unwrap();
            for key in map.keys() {
                assert!(
                    paths.contains(key),
                    "{}: golden template {key} is not among the loaded templates",
                    case.display()
                );
            }
            // After conditions and tags, the tree's templates are exactly the golden's keys.
            let mut processed = chart.clone();
            dependencies::process(&mut processed, &user);
            let mut enabled = BTreeSet::new();
            template_paths(&processed, processed.name(), &mut enabled);
            let golden: BTreeSet<String> = map.keys().cloned().collect();
            assert_eq!(
                enabled,
                golden,
                "{}: templates after dependency processing",
                case.display()
            );
        }
    }
    println!("loaded {charts} corpus charts, coalesced {cases} cases");
    assert_eq!(charts, 30);
    assert_eq!(cases, 88);
}
