//! Drift diff throughput in objects per CPU-second (user + system time of this process, read
//! from `/proc/self/stat`), so the figure does not depend on other load on the machine.
//!
//! `cargo run --release -p benches --bin diff_scale [ROUNDS]`

use anyhow::{Context, Result, bail};
use benches::drift::{OBJECTS, desired_bundle, drifted, live_bundle};
use fleet_drift::diff::{self, DiffOptions, rules::Rules, schema::BuiltinSchema};

/// CPU seconds (user + system) used by this process so far.
fn cpu_seconds() -> Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").context("reading /proc/self/stat")?;
    // Fields after the command name (which is in parentheses and may contain spaces).
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .context("unexpected /proc/self/stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    if fields.len() < 13 {
        bail!("unexpected /proc/self/stat");
    }
    // utime and stime are fields 14 and 15 of the full line (11 and 12 after the name).
    let ticks: f64 = fields[11].parse::<f64>()? + fields[12].parse::<f64>()?;
    Ok(ticks / 100.0)
}

fn main() -> Result<()> {
    let rounds: usize = match std::env::args().nth(1) {
        Some(n) => n.parse().context("ROUNDS must be a number")?,
        None => 400,
    };
    let hash = diff::set_hash(&diff::set_id("bench", "default", ""));
    let desired = desired_bundle();
    let live = live_bundle(&desired, &hash);
    let drift = drifted(&live);
    let rules = Rules::default();
    let options = DiffOptions::new(&BuiltinSchema, &hash, &rules);
    for (label, live) in [("in sync", &live), ("10% drift", &drift)] {
        let start = cpu_seconds()?;
        let mut entries = 0;
        for _ in 0..rounds {
            entries += diff::diff(&desired, live, &options)?.entries.len();
        }
        let cpu = cpu_seconds()? - start;
        let objects = (rounds * OBJECTS) as f64;
        println!(
            "{label}: {rounds} diffs of {OBJECTS} objects, {cpu:.2} CPU s, {:.0} objects per CPU-second ({} entries)",
            objects / cpu.max(0.01),
            entries / rounds
        );
    }
    Ok(())
}
