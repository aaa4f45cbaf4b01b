//! sprig's regular-expression functions, from sprig's documented examples.

use fleet_gotemplate::{ParseOptions, TemplateSet, execute};

fn render(text: &str) -> Result<String, String> {
    let options = ParseOptions::default();
    let mut set = TemplateSet::new(options.funcs.clone());
    set.parse("t", text, &options).map_err(|e| e.to_string())?;
    execute(&set, "t", &serde_json::Value::Null).map_err(|e| e.to_string())
}

#[test]
fn sprig_regex_examples() {
    let cases = [
        (
            r#"{{ regexMatch "^[a-z]+@[a-z]+\\.com$" "test@acme.com" }}"#,
            "true",
        ),
        (
            r#"{{ regexFindAll "[2,4,6,8]" "123456789" -1 }}"#,
            "[2 4 6 8]",
        ),
        (r#"{{ regexFindAll "[2,4,6,8]" "123456789" 2 }}"#, "[2 4]"),
        (r#"{{ regexFind "[a-zA-Z][1-9]" "abcd1234" }}"#, "d1"),
        (
            r#"{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "${1}W" }}"#,
            "-W-xxW-",
        ),
        (
            r#"{{ regexReplaceAllLiteral "a(x*)b" "-ab-axxb-" "${1}" }}"#,
            "-${1}-${1}-",
        ),
        (r#"{{ regexSplit "z+" "pizza" -1 }}"#, "[pi a]"),
        (r#"{{ regexSplit "z+" "pizza" 0 }}"#, "[]"),
        (r#"{{ regexQuoteMeta "1.2.3" }}"#, r"1\.2\.3"),
        (r#"{{ regexMatch "(" "x" }}"#, "false"),
    ];
    for (text, want) in cases {
        assert_eq!(render(text).as_deref(), Ok(want), "{text}");
    }
    let err = render(r#"{{ mustRegexMatch "(" "x" }}"#).unwrap_err();
    assert!(err.contains("error calling mustRegexMatch"), "{err}");
}
