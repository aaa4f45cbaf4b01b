//! The workspace YAML scalar policy, checked against what `kubectl kustomize` (v5.5.0) prints
//! for the same plain scalars.

use fleet_core::yaml;
use serde_json::json;

#[test]
fn plain_scalars_resolve_as_kustomize_prints_them() {
    let text = "a: yes\nb: on\nc: 0755\nd: 1_000\ne: \"123\"\nf: 1.10\nh: 0x1F\ni: ~\nj: 1e3\nl: y\nm: True\nn: 0o17\no: 007\np: +12\nr: 1.0\n";
    // Expected values copied from `kubectl kustomize` output of a ConfigMap holding these keys.
    let expected = json!({
        "a": "yes", "b": "on", "c": 493, "d": 1000, "e": "123", "f": 1.1, "h": 31,
        "i": null, "j": 1000, "l": "y", "m": true, "n": 15, "o": 7, "p": 12, "r": 1
    });
    assert_eq!(yaml::from_str_value(text).unwrap(), expected);
}

#[test]
fn strings_are_never_retyped() {
    let text = "u: \"0755\"\nv: 'true'\ns: |\n  line1\n  line2\n";
    let value = yaml::from_str_value(text).unwrap();
    assert_eq!(value["u"], json!("0755"));
    assert_eq!(value["v"], json!("true"));
    assert_eq!(value["s"], json!("line1\nline2\n"));
    let printed = yaml::to_string(&value).unwrap();
    assert_eq!(yaml::from_str_value(&printed).unwrap(), value);
}

#[test]
fn large_integers_keep_their_precision_when_they_fit_64_bits() {
    let value = yaml::from_str_value("v: 12345678901234567890\n").unwrap();
    assert_eq!(value["v"], json!(12345678901234567890u64));
}

#[test]
fn multi_document_streams_and_duplicate_keys() {
    let docs = yaml::documents("a: 1\n---\nb: 2\n").unwrap();
    assert_eq!(docs, vec![json!({"a": 1}), json!({"b": 2})]);
    let err = yaml::documents("a: 1\na: 2\n").unwrap_err();
    assert!(err.to_string().contains("duplicate"), "{err}");
    assert!(yaml::from_str_value("a: 1\n---\nb: 2\n").is_err());
}

/// Found by the `yaml_documents` fuzz target: a document holding only a no-break space
/// (U+00A0, not YAML white space) printed back and re-read as an empty document.
#[test]
fn unicode_spaces_are_content_not_white_space() {
    for text in ["\u{a0}", "\u{2003}x\u{2003}", "\u{3000}"] {
        let docs = yaml::documents(text).unwrap();
        assert_eq!(docs, vec![json!(text)], "{text:?}");
        let printed = yaml::to_string(&docs[0]).unwrap();
        assert_eq!(
            yaml::from_str_value(&printed).unwrap(),
            docs[0],
            "{printed:?}"
        );
    }
    assert_eq!(yaml::from_str_value(" \t\r\n").unwrap(), json!(null));
    assert_eq!(yaml::from_str_value("\u{feff}\n").unwrap(), json!(null));
}
