//! `kustomize-build DIR [--load-restrictor LoadRestrictionsNone]`: builds the kustomization in
//! DIR with fleet-render's native kustomize build and prints the YAML, like
//! `kubectl kustomize DIR`. Used to compare whole-process time against kubectl.

use std::path::Path;

use anyhow::{Context, bail};
use fleet_render::files::Files;
use fleet_render::kustomize::{self, BuildOptions};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut dir = None;
    let mut opts = BuildOptions::default();
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--load-restrictor=LoadRestrictionsNone" => opts.load_restrictions_none = true,
            "--load-restrictor" if args.get(i + 1).is_some_and(|a| a == "LoadRestrictionsNone") => {
                opts.load_restrictions_none = true;
                i += 1;
            }
            a if a.starts_with('-') => bail!("unknown flag {a}"),
            a => dir = Some(a.to_string()),
        }
        i += 1;
    }
    let dir = dir.unwrap_or_else(|| ".".to_string());
    let path = Path::new(&dir);
    // Load the directory's parent too, so that `../base` references resolve.
    let root = path
        .canonicalize()
        .with_context(|| format!("cannot open {dir}"))?;
    let (tree_root, rel) = match root.parent() {
        Some(parent) => (
            parent.to_path_buf(),
            root.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        ),
        None => (root.clone(), String::new()),
    };
    let files = Files::load_dir(&tree_root)
        .with_context(|| format!("cannot read {}", tree_root.display()))?;
    let objects = kustomize::build_with(&files, &rel, &opts)?;
    print!("{}", kustomize::to_yaml(&objects));
    Ok(())
}
