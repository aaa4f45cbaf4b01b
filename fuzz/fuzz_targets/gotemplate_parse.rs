#![no_main]

use fleet_gotemplate::{Funcs, ParseOptions, Template, TemplateSet, execute};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        // The whole function library, so sprig's functions run on fuzzed arguments too.
        let options = ParseOptions {
            funcs: Funcs::builtin(),
            ..ParseOptions::default()
        };
        // Never panics: bad text is a parse error, bad data an execution error.
        if let Ok(template) = Template::parse("fuzz", text, &options) {
            let mut set = TemplateSet::new(options.funcs.clone());
            set.add(template);
            let data = serde_json::json!({"a": {"b": [1, "x", null]}, "s": "v"});
            let _ = execute(&set, "fuzz", &data);
        }
    }
});
