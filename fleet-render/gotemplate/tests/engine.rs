//! End-to-end behaviour of the engine: control flow, named templates, errors, options.

use fleet_gotemplate::{
    Error, Funcs, GoValue, MissingKey, ParseOptions, Template, TemplateSet, Value, execute,
};
use proptest::prelude::*;
use serde_json::json;

fn render_with(text: &str, data: &Value, missing: MissingKey) -> Result<String, Error> {
    let options = ParseOptions::default();
    let mut set = TemplateSet::new(options.funcs.clone());
    set.options.missing_key = missing;
    set.parse("t", text, &options)?;
    execute(&set, "t", data)
}

fn render(text: &str, data: Value) -> String {
    render_with(text, &data, MissingKey::Default).unwrap_or_else(|e| format!("ERR {e}"))
}

#[test]
fn control_flow_and_pipelines() {
    let d = json!({"A": {"b": "x"}, "L": ["p", "q"], "N": 3, "M": {"z": 1, "a": 2}});
    assert_eq!(render("a{{ .A.b }}c", d.clone()), "axc");
    assert_eq!(
        render(
            "{{ range $i, $v := .L }}{{ $i }}={{ $v }};{{ end }}",
            d.clone()
        ),
        "0=p;1=q;"
    );
    assert_eq!(
        render(
            "{{ range $k, $v := .M }}{{ $k }}{{ $v }}{{ end }}",
            d.clone()
        ),
        "a2z1"
    );
    assert_eq!(render("{{ range 3 }}{{ . }}{{ end }}", d.clone()), "012");
    assert_eq!(
        render(
            "{{ range .L }}{{ if eq . \"q\" }}{{ break }}{{ end }}{{ . }}{{ end }}",
            d.clone()
        ),
        "p"
    );
    assert_eq!(
        render("{{ range .Nope }}x{{ else }}empty{{ end }}", d.clone()),
        "empty"
    );
    assert_eq!(
        render(
            "{{ if eq .N 1 }}one{{ else if eq .N 3 }}three{{ else }}no{{ end }}",
            d.clone()
        ),
        "three"
    );
    assert_eq!(
        render("{{ with .A }}{{ .b }}{{ else }}none{{ end }}", d.clone()),
        "x"
    );
    assert_eq!(render("{{ .L | join \",\" | upper }}", d.clone()), "P,Q");
    assert_eq!(render("{{ (index .L 1) }}", d.clone()), "q");
    assert_eq!(render("x  {{- .N -}}  y", d.clone()), "x3y");
    assert_eq!(
        render(
            "{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}",
            d.clone()
        ),
        "2"
    );
    assert_eq!(render("{{/* comment */}}k", d.clone()), "k");
    assert_eq!(render("{{ .A }} {{ .L }}", d.clone()), "map[b:x] [p q]");
    assert_eq!(render("{{ printf \"%s-%d\" \"a\" 5 }}", d.clone()), "a-5");
}

#[test]
fn and_or_short_circuit_and_return_operands() {
    let d = json!({"e": "", "s": "v"});
    assert_eq!(render("{{ or .e .s }}", d.clone()), "v");
    assert_eq!(render("{{ and .s .e 1 }}", d.clone()), "");
    // The failing index is never evaluated because `or` stops at the first true operand.
    assert_eq!(render("{{ or .s (index .e 5) }}", d.clone()), "v");
    assert_eq!(render("{{ not .e }}", d), "true");
}

#[test]
fn define_template_block() {
    let d = json!({"n": "w"});
    assert_eq!(
        render(
            "{{ define \"x\" }}[{{ . }}]{{ end }}{{ template \"x\" .n }}",
            d.clone()
        ),
        "[w]"
    );
    assert_eq!(
        render("{{ block \"b\" .n }}<{{ . }}>{{ end }}", d.clone()),
        "<w>"
    );
    // A later definition overrides a block's default body.
    let options = ParseOptions::default();
    let mut set = TemplateSet::new(options.funcs.clone());
    set.parse("main", "{{ block \"b\" . }}default{{ end }}", &options)
        .unwrap();
    set.parse("other", "{{ define \"b\" }}override{{ end }}", &options)
        .unwrap();
    assert_eq!(execute(&set, "main", &d).unwrap(), "override");
    assert!(set.has("b"));
    let err = render("{{ template \"nope\" }}", d).to_string();
    assert!(err.contains("template \"nope\" not defined"), "{err}");
}

#[test]
fn missing_key_modes() {
    let d = json!({"a": {}});
    assert_eq!(
        render_with("{{ .a.b }}", &d, MissingKey::Default).unwrap(),
        "<no value>"
    );
    assert_eq!(
        render_with("{{ .a.b }}", &d, MissingKey::Zero).unwrap(),
        "<no value>"
    );
    let err = render_with("{{ .a.b }}", &d, MissingKey::Error).unwrap_err();
    assert_eq!(
        err.to_string(),
        "template: t:1:3: executing \"t\" at <.a.b>: map has no entry for key \"b\""
    );
}

#[test]
fn parse_errors_have_go_shapes() {
    let options = ParseOptions::default();
    let err = Template::parse("chart/t.yaml", "a\n{{ nosuch 1 }}", &options).unwrap_err();
    assert_eq!(
        err.to_string(),
        "template: chart/t.yaml:2: function \"nosuch\" not defined"
    );
    let err = Template::parse("t", "{{ if true }}x", &options).unwrap_err();
    assert!(matches!(err, Error::Parse { .. }), "{err}");
    assert!(Template::parse("t", "{{ \"unterminated }}", &options).is_err());
}

#[test]
fn custom_delimiters_and_funcs() {
    let mut funcs = Funcs::builtin();
    funcs.remove("upper");
    funcs.insert("twice", |_, args| {
        let s = args.first().and_then(GoValue::as_str).unwrap_or_default();
        Ok(GoValue::from(s.repeat(2)))
    });
    let options = ParseOptions {
        left_delim: "${".to_string(),
        right_delim: "}".to_string(),
        funcs: funcs.clone(),
    };
    let mut set = TemplateSet::new(funcs);
    set.parse("v", "${ twice .x }", &options).unwrap();
    assert_eq!(execute(&set, "v", &json!({"x": "ab"})).unwrap(), "abab");
    assert!(Template::parse("v", "${ upper .x }", &options).is_err());
}

#[test]
fn recursion_is_bounded_by_depth() {
    let mut funcs = Funcs::builtin();
    funcs.insert("include", |ctx, args| {
        let name = args
            .first()
            .and_then(GoValue::as_str)
            .unwrap_or_default()
            .to_string();
        Ok(GoValue::from(ctx.execute_template(&name, &GoValue::Nil)?))
    });
    let options = ParseOptions {
        funcs: funcs.clone(),
        ..ParseOptions::default()
    };
    let mut set = TemplateSet::new(funcs);
    set.options.max_depth = 20;
    set.parse(
        "loop",
        "{{ define \"r\" }}{{ include \"r\" }}{{ end }}{{ include \"r\" }}",
        &options,
    )
    .unwrap();
    let err = execute(&set, "loop", &Value::Null).unwrap_err().to_string();
    assert!(err.contains("exceeded max template depth"), "{err}");
}

proptest! {
    #[test]
    fn deterministic_templates_render_deterministically(
        keys in proptest::collection::btree_map("[a-z]{1,6}", "[ -~]{0,12}", 0..6)
    ) {
        let data = json!({ "m": keys });
        let text = "{{ range $k, $v := .m }}{{ $k }}={{ $v | quote }};{{ end }}{{ .m | toJson }}";
        let first = render(text, data.clone());
        prop_assert_eq!(&first, &render(text, data));
        prop_assert!(!first.starts_with("ERR"));
    }

    #[test]
    fn arbitrary_text_never_panics(text in "[{}a-z .|$\"()-]{0,40}") {
        let _ = render(&text, json!({"a": 1}));
    }
}

#[test]
fn nil_from_a_map_entry_errors_but_nil_from_a_pipeline_does_not() {
    let d = json!({"a": {}});
    let err = render_with("{{ .a.x.y }}", &d, MissingKey::Zero).unwrap_err();
    assert!(
        err.to_string()
            .contains("nil pointer evaluating interface {}.y"),
        "{err}"
    );
    assert_eq!(
        render_with(
            "{{ (.a.x).y }}|{{ $v := .a.x }}{{ $v.y }}",
            &d,
            MissingKey::Zero
        )
        .unwrap(),
        "<no value>|<no value>"
    );
}

#[test]
fn numbers_keep_go_kinds() {
    let d = json!({"f": 1.5, "i": 3});
    assert_eq!(
        render("{{ 0x1p4 }} {{ 1e6 }} {{ 7.0 }}", d.clone()),
        "16 1e+06 7"
    );
    assert_eq!(
        render(
            "{{ typeOf 1 }} {{ typeOf (add 1 1) }} {{ typeOf .f }}",
            d.clone()
        ),
        "int int64 float64"
    );
    assert!(render("{{ eq .f 1 }}", d.clone()).contains("incompatible types for comparison"));
    assert_eq!(render("{{ printf \"%d\" .f }}", d), "%!d(float64=1.5)");
}

#[test]
fn set_changes_the_map_seen_through_every_path() {
    let d = json!({"Values": {"m": {"a": 1}}});
    assert_eq!(
        render(
            "{{ $m := .Values.m }}{{ $_ := set $m \"b\" 2 }}{{ .Values.m }}",
            d
        ),
        "map[a:1 b:2]"
    );
}

#[test]
fn method_calls_take_arguments() {
    let d = json!({});
    assert_eq!(
        render(
            "{{ (semver \"v1.31.2\").Minor }} {{ $v := semver \"1.2.3\" }}{{ $v.Compare \"1.2.4\" }}",
            d
        ),
        "31 -1"
    );
}

#[test]
fn the_step_budget_covers_template_calls() {
    let mut funcs = Funcs::builtin();
    funcs.insert("include", |ctx, args| {
        let name = args
            .first()
            .and_then(GoValue::as_str)
            .unwrap_or_default()
            .to_string();
        Ok(GoValue::from(ctx.execute_template(&name, &GoValue::Nil)?))
    });
    let options = ParseOptions {
        funcs: funcs.clone(),
        ..ParseOptions::default()
    };
    let mut set = TemplateSet::new(funcs);
    set.options.max_steps = 10_000;
    // Each template is cheap on its own (a few hundred steps); together they take a million.
    set.parse(
        "fan",
        concat!(
            "{{ define \"a\" }}{{ range until 100 }}{{ include \"b\" }}{{ end }}{{ end }}",
            "{{ define \"b\" }}{{ range until 100 }}{{ include \"c\" }}{{ end }}{{ end }}",
            "{{ define \"c\" }}{{ range until 100 }}x{{ end }}{{ end }}",
            "{{ include \"a\" }}"
        ),
        &options,
    )
    .unwrap();
    let err = execute(&set, "fan", &Value::Null).unwrap_err().to_string();
    assert!(err.contains("template too expensive"), "{err}");
}

#[test]
fn errors_name_the_failing_command() {
    let err = render_with(
        "{{ 1 | add 1 | index .missing 0 }}",
        &json!({}),
        MissingKey::Zero,
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        "template: t:1:15: executing \"t\" at <index .missing 0>: error calling index: index of untyped nil"
    );
}

#[test]
fn undefined_variables_fail_at_parse_time() {
    let options = ParseOptions::default();
    let err = Template::parse("t", "{{ if false }}{{ $nope }}{{ end }}", &options).unwrap_err();
    assert_eq!(
        err.to_string(),
        "template: t:1: undefined variable \"$nope\""
    );
    // Declarations end with their control structure, and a define starts with only `$`.
    assert!(Template::parse("t", "{{ if true }}{{ $x := 1 }}{{ end }}{{ $x }}", &options).is_err());
    assert!(
        Template::parse(
            "t",
            "{{ $x := 1 }}{{ define \"d\" }}{{ $x }}{{ end }}",
            &options
        )
        .is_err()
    );
    assert!(Template::parse("t", "{{ $y = 2 }}", &options).is_err());
    let ok = "{{ $x := 1 }}{{ range $i, $v := .l }}{{ $x = $v }}{{ $i }}{{ else }}{{ $x }}{{ end }}{{ with $w := .m }}{{ $w }}{{ else }}{{ $w }}{{ end }}{{ $.a }}";
    assert!(Template::parse("t", ok, &options).is_ok());
}

#[test]
fn multi_byte_text_inside_an_action_is_a_parse_error_not_a_panic() {
    // Found by the gotemplate_parse fuzz target: a combining character right after `{{`.
    for text in [
        "{{\u{332}",
        "{{ \"é\" }}{{é",
        "{{/* ü */}}{{ü}}",
        "{{ `ß` }}",
    ] {
        let result = render_with(text, &serde_json::json!({}), MissingKey::Default);
        if text == "{{ `ß` }}" {
            assert_eq!(result.unwrap(), "ß");
        } else {
            assert!(result.is_err(), "{text:?}");
        }
    }
}
