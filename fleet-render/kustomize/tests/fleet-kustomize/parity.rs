//! Parity cases: small kustomizations under `tests/parity/cases`, each with the output of
//! `kubectl kustomize` (Kustomize v5.5.0) beside it as `expected.yaml`, written by
//! `tests/parity/generate.sh`. The build must print exactly that text, and the text must read
//! back as the objects built.

use std::path::{Path, PathBuf};

use fleet_kustomize as kustomize;
use fleet_kustomize::files::Files;

fn cases_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/parity/cases")
}

/// The first lines where two texts differ, with a little context, for the failure message.
fn first_difference(got: &str, want: &str) -> String {
    let got_lines: Vec<&str> = got.lines().collect();
    let want_lines: Vec<&str> = want.lines().collect();
    let at = got_lines
        .iter()
        .zip(&want_lines)
        .position(|(g, w)| g != w)
        .unwrap_or(got_lines.len().min(want_lines.len()));
    let from = at.saturating_sub(3);
    let show = |lines: &[&str]| -> String {
        lines
            .iter()
            .enumerate()
            .skip(from)
            .take(8)
            .map(|(i, l)| format!("{:>4} {l}\n", i + 1))
            .collect()
    };
    format!(
        "first difference at line {}\n--- built\n{}--- kubectl kustomize\n{}",
        at + 1,
        show(&got_lines),
        show(&want_lines)
    )
}

fn run_case(dir: &Path) -> anyhow::Result<Option<String>> {
    let files = Files::load_dir(dir)?;
    let want = std::fs::read_to_string(dir.join("expected.yaml"))?;
    let objects = match kustomize::build(&files, ".") {
        Ok(objects) => objects,
        Err(e) => return Ok(Some(format!("build failed: {e}"))),
    };
    let got = kustomize::to_yaml(&objects);
    // The printed text must also read back as the objects built.
    let reread: Vec<serde_json::Value> = fleet_core::yaml::documents(&got)?
        .into_iter()
        .filter(|d| !d.is_null())
        .collect();
    if reread != objects {
        return Ok(Some(
            "printed YAML does not read back as the built objects".into(),
        ));
    }
    Ok((got != want).then(|| first_difference(&got, &want)))
}

#[test]
fn parity_cases_print_what_kubectl_kustomize_prints() -> anyhow::Result<()> {
    let mut names: Vec<String> = std::fs::read_dir(cases_root())?
        .filter_map(Result::ok)
        .filter(|e| e.path().join("kustomization.yaml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 5, "parity cases missing: {names:?}");
    let mut failures = Vec::new();
    for name in &names {
        if let Some(why) = run_case(&cases_root().join(name))? {
            failures.push(format!("{name}: {why}"));
        }
    }
    eprintln!(
        "kustomize parity: {} of {} cases byte-identical",
        names.len() - failures.len(),
        names.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    Ok(())
}
