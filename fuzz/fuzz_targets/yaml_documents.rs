#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(docs) = fleet_core::yaml::documents(text) {
            for doc in &docs {
                let printed = fleet_core::yaml::to_string(doc).expect("every value prints");
                let again =
                    fleet_core::yaml::from_str_value(&printed).expect("printed YAML parses");
                assert_eq!(doc, &again, "YAML round trip changed a value");
            }
        }
    }
});
