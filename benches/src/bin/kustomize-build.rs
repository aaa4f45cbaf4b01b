//! `kustomize-build DIR [--load-restrictor LoadRestrictionsNone] [--repeat N]`: builds the
//! kustomization in DIR with fleet-render's native kustomize build and prints the YAML, like
//! `kubectl kustomize DIR`. Used to compare whole-process time against kubectl.
//!
//! With `--repeat N` it prints nothing but renders (build + print) N times in-process and
//! reports wall time and the process's CPU time (from `/proc/self/stat`), so that renders per
//! CPU-second can be read even on a loaded machine.

use std::path::Path;

use anyhow::{Context, bail};
use fleet_kustomize::files::Files;
use fleet_kustomize::{self as kustomize, BuildOptions};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut dir = None;
    let mut opts = BuildOptions::default();
    let mut repeat: Option<u64> = None;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--load-restrictor=LoadRestrictionsNone" => opts.load_restrictions_none = true,
            "--load-restrictor" if args.get(i + 1).is_some_and(|a| a == "LoadRestrictionsNone") => {
                opts.load_restrictions_none = true;
                i += 1;
            }
            "--repeat" => {
                let n = args.get(i + 1).context("--repeat needs a count")?;
                repeat = Some(n.parse().with_context(|| format!("bad count {n}"))?);
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
    if let Some(n) = repeat {
        // Warm up (parses the schema table once).
        let _ = kustomize::build_with(&files, &rel, &opts)?;
        let cpu0 = cpu_seconds();
        let start = std::time::Instant::now();
        let mut bytes = 0;
        for _ in 0..n {
            let objects = kustomize::build_with(&files, &rel, &opts)?;
            bytes += kustomize::to_yaml(&objects).len();
        }
        let wall = start.elapsed().as_secs_f64();
        let cpu = cpu_seconds() - cpu0;
        println!(
            "{n} renders ({bytes} bytes): wall {wall:.3} s = {:.0} renders/s; CPU {cpu:.2} s = {:.0} renders per CPU-second",
            n as f64 / wall,
            if cpu > 0.0 { n as f64 / cpu } else { f64::NAN }
        );
        return Ok(());
    }
    let objects = kustomize::build_with(&files, &rel, &opts)?;
    print!("{}", kustomize::to_yaml(&objects));
    Ok(())
}

/// User + system CPU time of this process, from `/proc/self/stat` (clock ticks of 1/100 s).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}
