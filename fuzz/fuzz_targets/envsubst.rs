#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let mut vars = BTreeMap::new();
        vars.insert("a".to_string(), "héllo/wörld".to_string());
        vars.insert("b".to_string(), String::new());
        // Never panics; parse errors and strict-mode misses are errors.
        let _ = fleet_envsubst::expand(text, &vars, true);
        if let Ok(out) = fleet_envsubst::expand(text, &vars, false) {
            // Text without `$` comes back unchanged.
            if !text.contains('$') && !text.contains('\0') {
                assert_eq!(out, text);
            }
        }
    }
});
