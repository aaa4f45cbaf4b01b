//! `toYaml` output reads back as the same data: quoting, block scalars and folding never
//! change a string.

use fleet_gotemplate::{GoValue, Numbers};
use fleet_helm::{values, yaml_out};
use proptest::prelude::*;
use serde_json::json;

fn round_trip(s: &str) -> Option<String> {
    let v = GoValue::from_json(&json!({ "k": s, "l": [s] }), Numbers::Float64);
    let text = yaml_out::to_yaml(&v);
    let back = values::parse(&text, "out").ok()?;
    let k = back["k"].as_str()?.to_string();
    (back["l"][0].as_str()? == k).then_some(k)
}

proptest! {
    #[test]
    fn strings_survive_to_yaml(s in "[ -~\n\té]{0,120}") {
        prop_assert_eq!(round_trip(&s), Some(s.clone()), "{:?}", s);
    }

    #[test]
    fn long_words_survive_folding(words in proptest::collection::vec("[a-z#:'\"-]{1,12}", 1..40)) {
        let s = words.join(" ");
        prop_assert_eq!(round_trip(&s), Some(s.clone()), "{:?}", s);
    }
}
