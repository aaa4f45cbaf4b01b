//! One-shot scale run of the targeting engine on the workload of
//! `../shared/spec/perf-anchor.md` §3.
//!
//! `cargo run --release -p benches --bin targeting-scale -- --clusters N [--bundles 1000]
//! [--threads T] [--gitrepo]` prints one JSON object per line: measures `a` (one bundle's
//! clusters as a materialised list of ids), `a_bitmap` (the same as a bitmap), `b1`, `bT`, `d`,
//! `e` (timings), `c` (memory, as RSS growth) and `check` (results against the arithmetic
//! oracle).

use std::time::Instant;

use anyhow::{Context, Result, bail};
use benches::targeting::{self, NAMESPACE};
use serde_json::json;

struct Args {
    clusters: usize,
    bundles: usize,
    threads: usize,
    gitrepo: bool,
    /// Time with the calling thread's CPU clock instead of the wall clock (for loaded machines).
    cpu: bool,
}

/// Nanoseconds of the chosen clock: wall (monotonic) or this thread's CPU time
/// (`/proc/thread-self/schedstat`).
fn clock_ns(cpu: bool, origin: Instant) -> u64 {
    if cpu
        && let Some(ns) = std::fs::read_to_string("/proc/thread-self/schedstat")
            .ok()
            .and_then(|s| {
                s.split_whitespace()
                    .next()
                    .and_then(|x| x.parse::<u64>().ok())
            })
    {
        return ns;
    }
    origin.elapsed().as_nanos() as u64
}

fn parse_args() -> Result<Args> {
    let mut a = Args {
        clusters: 10_000,
        bundles: 1000,
        threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
        gitrepo: false,
        cpu: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut num = |name: &str| -> Result<usize> {
            it.next()
                .with_context(|| format!("{name} needs a value"))?
                .replace('_', "")
                .parse()
                .with_context(|| format!("{name} needs a number"))
        };
        match flag.as_str() {
            "--clusters" => a.clusters = num("--clusters")?,
            "--bundles" => a.bundles = num("--bundles")?,
            "--threads" => a.threads = num("--threads")?,
            "--gitrepo" => a.gitrepo = true,
            "--cpu-clock" => a.cpu = true,
            other => bail!(
                "unknown argument {other:?}; usage: targeting-scale --clusters N [--bundles B] [--threads T] [--gitrepo] [--cpu-clock]"
            ),
        }
    }
    if a.clusters == 0 || a.bundles == 0 || a.threads == 0 {
        bail!("--clusters, --bundles and --threads must be positive");
    }
    Ok(a)
}

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|x| x.parse::<u64>().ok())
        })
        .map_or(0, |pages| pages * 4096)
}

fn stats(mut ns: Vec<u64>) -> (u64, u64, u64, usize) {
    ns.sort_unstable();
    let n = ns.len();
    let at = |q: f64| ns[((n as f64 - 1.0) * q).round() as usize];
    (at(0.5), at(0.1), at(0.9), n)
}

fn emit(a: &Args, measure: &str, samples: Vec<u64>) {
    let (median, p10, p90, runs) = stats(samples);
    let mut v = json!({
        "measure": measure,
        "clusters": a.clusters,
        "bundles": a.bundles,
        "median_ns": median,
        "p10_ns": p10,
        "p90_ns": p90,
        "runs": runs,
    });
    if a.gitrepo {
        v["variant"] = json!("gitrepo");
    }
    if a.cpu && measure != "bT" {
        v["clock"] = json!("thread-cpu");
    }
    println!("{v}");
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("targeting-scale: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

fn run() -> Result<()> {
    let a = parse_args()?;
    let n = a.clusters;
    let big = n >= 1_000_000;
    let gen_clusters = targeting::clusters(n);

    // (c) memory held for clusters + index, as RSS growth; (e) the first build.
    let origin = Instant::now();
    let now = || clock_ns(a.cpu, origin);
    let rss0 = rss_bytes();
    let t = now();
    let mut engine = targeting::build_engine(&gen_clusters);
    let first_build = now() - t;
    let rss1 = rss_bytes();
    let grown = rss1.saturating_sub(rss0);
    let mut c = json!({
        "measure": "c",
        "clusters": n,
        "bytes": grown,
        "bytes_per_cluster": grown as f64 / n as f64,
    });
    if a.gitrepo {
        c["variant"] = json!("gitrepo");
    }
    println!("{c}");

    // (e) build the index from scratch, repeated.
    let e_runs = if big {
        2
    } else if n >= 100_000 {
        4
    } else {
        10
    };
    let mut e_samples = vec![first_build];
    for _ in 0..e_runs {
        let t = now();
        let e2 = targeting::build_engine(&gen_clusters);
        e_samples.push(now() - t);
        drop(e2);
    }
    emit(&a, "e", e_samples);

    let ids = targeting::add_bundles(&mut engine, a.bundles, a.gitrepo);

    // (a) one bundle vs all clusters, materialised list of matching clusters.
    let (n_bundles, reps) = if big {
        (20, 5)
    } else if n >= 100_000 {
        (50, 10)
    } else {
        (100, 10)
    };
    let mut a_samples = Vec::new();
    let mut a_bitmap_samples = Vec::new();
    let mut sink = 0usize;
    // The CPU clock ticks coarsely: with it, each sample times a batch of repetitions that
    // runs for at least ~20 ms and reports the time per repetition.
    let per_sample = if a.cpu {
        let t = Instant::now();
        let _ = engine.targets(ids[0]).clusters().iter().count();
        (20_000_000 / t.elapsed().as_nanos().max(1)).clamp(1, 100_000) as usize
    } else {
        1
    };
    for k in 0..n_bundles {
        let b = ids[(k * 397) % ids.len()];
        for _ in 0..reps {
            let t = now();
            for _ in 0..per_sample {
                let list: Vec<u32> = engine.targets(b).cluster_list();
                sink += list.len();
            }
            a_samples.push((now() - t) / per_sample as u64);
            // The same answer as a bitmap the caller iterates (no list built).
            let t = now();
            for _ in 0..per_sample {
                let set = engine.targets(b).clusters();
                sink += set.len() as usize;
            }
            a_bitmap_samples.push((now() - t) / per_sample as u64);
        }
    }
    emit(&a, "a", a_samples);
    emit(&a, "a_bitmap", a_bitmap_samples);

    // (b1) all bundles vs all clusters, one thread.
    let b_runs = if big {
        1
    } else if n >= 100_000 {
        3
    } else {
        5
    };
    let mut b1 = Vec::new();
    let mut pairs = 0u64;
    for _ in 0..b_runs {
        let t = now();
        let all = engine.all_targets();
        b1.push(now() - t);
        pairs = all.iter().map(|(_, t)| t.len()).sum();
    }
    emit(&a, "b1", b1);

    // (bT) the same on T threads.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(a.threads)
        .build()
        .context("thread pool")?;
    let mut bt = Vec::new();
    for _ in 0..b_runs {
        let t = Instant::now();
        let all = pool.install(|| engine.all_targets_parallel());
        bt.push(t.elapsed().as_nanos() as u64);
        sink += all.len();
    }
    emit(&a, "bT", bt);

    // check: results against the arithmetic oracle.
    let mut ok = true;
    let mut checked = 0;
    let sample: Vec<usize> = if n <= 100_000 {
        (0..a.bundles).collect()
    } else {
        (0..20).map(|k| (k * 397) % a.bundles).collect()
    };
    let mut bundle0 = 0u64;
    for &bi in &sample {
        let got = engine.targets(ids[bi]).clusters();
        let want: Vec<u32> = (0..n)
            .filter(|&i| targeting::oracle(i, bi))
            .map(|i| i as u32)
            .collect();
        let got_v: Vec<u32> = got
            .iter()
            .map(|c| {
                engine.cluster_name(c).1[1..]
                    .parse::<u32>()
                    .unwrap_or(u32::MAX)
            })
            .collect();
        let mut got_sorted = got_v;
        got_sorted.sort_unstable();
        if got_sorted != want {
            ok = false;
        }
        if bi == 0 {
            bundle0 = want.len() as u64;
        }
        checked += 1;
    }
    let mut check = json!({
        "measure": "check",
        "ok": ok,
        "clusters": n,
        "bundles": a.bundles,
        "bundles_checked_cluster_by_cluster": checked,
        "bundle0_matches": bundle0,
        "pairs": pairs,
        "mean_per_bundle": pairs as f64 / a.bundles as f64,
    });
    if n == 10_000 && a.bundles >= 2 {
        let b1c = engine.targets(ids[1]).len();
        check["bundle1_matches"] = json!(b1c);
        let good = bundle0 == 1543 && b1c == 1600;
        check["anchor_counts_ok"] = json!(good);
        ok &= good;
    }
    if n == 1_000_000 && a.bundles == 1000 {
        let good = pairs == 159_520_985;
        check["expected_pairs"] = json!(159_520_985u64);
        check["anchor_counts_ok"] = json!(good);
        ok &= good;
    }
    check["ok"] = json!(ok);
    if a.gitrepo {
        check["variant"] = json!("gitrepo");
    }
    println!("{check}");

    // (d) one cluster's labels change → the set of bundles whose targeting changed.
    let d_changes = if a.cpu {
        5000
    } else if big {
        1000
    } else {
        500
    };
    let mut d_samples = Vec::with_capacity(d_changes);
    let mut changed_total = 0usize;
    let new_labels: Vec<(usize, Vec<(String, String)>)> = (0..d_changes)
        .map(|k| {
            let i = (k * 7919) % n;
            (i, targeting::changed_labels(i, k))
        })
        .collect();
    // With the CPU clock, time batches of 250 changes (reading the clock costs microseconds).
    let batch = if a.cpu { 250 } else { 1 };
    for chunk in new_labels.chunks(batch) {
        let t = now();
        for (i, labels) in chunk {
            let name = &gen_clusters[*i].name;
            let delta = engine.upsert_cluster(
                NAMESPACE,
                name,
                labels.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            );
            changed_total += delta.changes.len();
        }
        d_samples.push((now() - t) / chunk.len() as u64);
    }
    emit(&a, "d", d_samples);
    eprintln!(
        "targeting-scale: {n} clusters, {} bundles; mean bundles changed per label change {:.1}; (sink {sink})",
        a.bundles,
        changed_total as f64 / d_changes as f64
    );
    Ok(())
}
