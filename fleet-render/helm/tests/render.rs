//! Helm's engine behaviour on small charts built in code: shared `.Values`, render order,
//! `tpl`, `.Files`, `.Capabilities`, and Helm's error wording.

use std::collections::BTreeMap;

use fleet_helm::chart::{Chart, File};
use fleet_helm::render::{self, Release};
use serde_json::json;

fn release() -> Release {
    Release {
        name: "demo".into(),
        namespace: "ns".into(),
        revision: 1,
        is_install: true,
        kube_version: "v1.31.0".into(),
        api_versions: vec!["monitoring.coreos.com/v1".into()],
    }
}

fn chart(templates: &[(&str, &str)], files: &[(&str, &str)], values: serde_json::Value) -> Chart {
    let mut c = Chart::from_parts("c", values);
    let file = |(name, text): &(&str, &str)| File {
        name: name.to_string(),
        data: text.as_bytes().to_vec(),
    };
    c.templates = templates.iter().map(file).collect();
    c.files = files.iter().map(file).collect();
    c
}

fn render(c: &Chart) -> Result<BTreeMap<String, String>, String> {
    let values = fleet_helm::coalesce::coalesce_values(c, &json!({}));
    render::render(c, &values, &release()).map_err(|e| e.to_string())
}

#[test]
fn set_on_values_is_seen_by_templates_rendered_later() {
    // Helm renders in reverse path order: b.yaml runs before a.yaml.
    let c = chart(
        &[
            ("templates/a.yaml", "{{ .Values.x }}"),
            (
                "templates/b.yaml",
                "{{ $_ := set .Values \"x\" \"changed\" }}{{ .Values.x }}",
            ),
        ],
        &[],
        json!({"x": "orig"}),
    );
    let out = render(&c).unwrap();
    assert_eq!(out["c/templates/a.yaml"], "changed");
    assert_eq!(out["c/templates/b.yaml"], "changed");
}

#[test]
fn tpl_defines_capabilities_and_files() {
    let c = chart(
        &[
            ("templates/_h.tpl", "{{ define \"h\" }}[{{ . }}]{{ end }}"),
            (
                "templates/t.yaml",
                concat!(
                    "{{ tpl \"{{ define \\\"in\\\" }}i{{ end }}{{ include \\\"in\\\" . }}{{ .Values.n }}\" . }}|",
                    "{{ include \"h\" .Release.Name }}|",
                    "{{ .Capabilities.APIVersions.Has \"monitoring.coreos.com/v1\" }}",
                    "{{ .Capabilities.APIVersions.Has \"apps/v1/Deployment\" }}|",
                    "{{ .Capabilities.KubeVersion.Minor }} {{ .Capabilities.KubeVersion }}|",
                    "{{ .Files.Get \"conf/a.ini\" }}|{{ (.Files.Glob \"conf/*\").AsConfig }}|",
                    "{{ .Values.n }} {{ typeOf .Values.n }} {{ .Values.big }}"
                ),
            ),
        ],
        &[("conf/a.ini", "k=v")],
        json!({"n": 3, "big": 1000000}),
    );
    let out = render(&c).unwrap();
    assert_eq!(
        out["c/templates/t.yaml"],
        "i3|[demo]|truefalse|31 v1.31.0|k=v|a.ini: k=v|3 float64 1e+06"
    );
    assert!(!out.contains_key("c/templates/_h.tpl"));
}

#[test]
fn errors_use_helm_wording() {
    let c = chart(
        &[(
            "templates/t.yaml",
            "x\n{{ required \"need .Values.a\" .Values.a }}",
        )],
        &[],
        json!({}),
    );
    assert_eq!(
        render(&c).unwrap_err(),
        "execution error at (c/templates/t.yaml:2:3): need .Values.a"
    );
    let c = chart(&[("templates/t.yaml", "{{ .Values.a.b }}")], &[], json!({}));
    assert_eq!(
        render(&c).unwrap_err(),
        "c/templates/t.yaml:1:3\n  executing \"c/templates/t.yaml\" at <.Values.a.b>:\n    nil pointer evaluating interface {}.b"
    );
    let c = chart(&[("templates/t.yaml", "{{ nosuch }}")], &[], json!({}));
    assert_eq!(
        render(&c).unwrap_err(),
        "parse error at (c/templates/t.yaml:1): function \"nosuch\" not defined"
    );
}

#[test]
fn recursive_include_is_an_error_not_a_crash() {
    let c = chart(
        &[(
            "templates/t.yaml",
            "{{ define \"r\" }}{{ if true }}{{ with . }}{{ include \"r\" . | indent 2 }}{{ end }}{{ end }}{{ end }}{{ include \"r\" . }}",
        )],
        &[],
        json!({}),
    );
    let err = render(&c).unwrap_err();
    assert!(err.contains("exceeded max template depth"), "{err}");
}

#[test]
fn required_in_a_pipeline_reports_its_own_column() {
    let c = chart(
        &[(
            "templates/t.yaml",
            "a: {{ .Values.a | required \"set a\" }}",
        )],
        &[],
        json!({}),
    );
    assert_eq!(
        render(&c).unwrap_err(),
        "execution error at (c/templates/t.yaml:1:18): set a"
    );
}
