//! Chart loading from arbitrary `.tgz` bytes: any input either loads or gives a typed error,
//! never a panic, and a loaded chart has every archive limit respected.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(chart) = fleet_helm::chart::load_archive(data, "fuzz.tgz") {
        let total: usize = chart
            .templates
            .iter()
            .chain(chart.files.iter())
            .map(|f| f.data.len())
            .sum();
        assert!(total as u64 <= fleet_helm::chart::MAX_ARCHIVE_BYTES);
        let _ = fleet_helm::coalesce::coalesce_values(&chart, &serde_json::Value::Null);
    }
});
