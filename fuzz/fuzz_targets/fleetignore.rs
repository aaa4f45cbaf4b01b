#![no_main]
//! An arbitrary `.fleetignore` text and entry names: parsing never fails, matching returns a
//! verdict or `BadPattern`, never a panic.

use fleet_bundle::ignore::{go_match, is_ignored, parse_fleetignore};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The input is `<.fleetignore text> \0 <entry name per line>`.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (ignore_text, names) = text
        .split_once('\0')
        .unwrap_or((text, "chart.yaml\nREADME.md"));
    let patterns = parse_fleetignore(ignore_text);
    for pattern in &patterns {
        // Skipped lines never become patterns; kept lines carry no line break.
        assert!(!pattern.is_empty());
        assert!(!pattern.contains('\n'));
    }
    for name in names.lines() {
        for is_dir in [false, true] {
            let verdict = is_ignored(&patterns, name, is_dir);
            if let Ok(false) = verdict {
                // Nothing ignored it, so no single plain pattern may match it either.
                for pattern in &patterns {
                    if !pattern.contains("/*") {
                        assert_ne!(go_match(pattern, name), Ok(true), "{pattern:?} {name:?}");
                    }
                }
            }
        }
        for pattern in &patterns {
            let _ = go_match(pattern, name);
        }
    }
});
