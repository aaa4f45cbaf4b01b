//! Arbitrary text through `fleetyaml::parse`: it must return a value or an error, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(fleet) = fleet_core::fleetyaml::parse("fuzz/fleet.yaml", text) {
            let _ = fleet.validate_selectors("fuzz/fleet.yaml");
            let _ = fleet.check_image_scans("fuzz/fleet.yaml", true);
            let _ = format!("{fleet:?}");
        }
    }
});
