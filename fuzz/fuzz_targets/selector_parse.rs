//! Fuzz the label selector string parser: no panic on any input, and for every input that
//! parses, print → parse → print is a fixed point that selects the same requirements.
#![no_main]

use fleet_core::selector::Selector;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(selector) = Selector::parse(text) {
        let printed = selector.to_string();
        let again = match Selector::parse(&printed) {
            Ok(s) => s,
            Err(e) => panic!("printed form {printed:?} of {text:?} does not parse: {e}"),
        };
        assert_eq!(again, selector, "{text:?} -> {printed:?}");
        assert_eq!(again.to_string(), printed);
    }
});
