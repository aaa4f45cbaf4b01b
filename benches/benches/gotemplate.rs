//! Parse and execute of a representative chart template: a Deployment with helpers defined
//! in the same text, `include`-style named templates, conditionals, ranges over values and
//! string functions.
//!
//! Run: `cargo bench -p benches --bench gotemplate`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use fleet_gotemplate::{GoValue, ParseOptions, Template, TemplateSet, Value, execute};

const DEPLOYMENT: &str = r#"{{- define "app.name" -}}{{ default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- define "app.labels" -}}
app.kubernetes.io/name: {{ template "app.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-{{ template "app.name" . }}
  labels:
{{ include "app.labels" . | indent 4 }}
spec:
  replicas: {{ .Values.replicaCount }}
  template:
    spec:
      containers:
        - name: {{ .Chart.Name }}
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default "latest" }}"
          {{- if .Values.env }}
          env:
          {{- range $k, $v := .Values.env }}
            - name: {{ $k | upper }}
              value: {{ $v | quote }}
          {{- end }}
          {{- end }}
          ports:
          {{- range .Values.ports }}
            - containerPort: {{ . }}
          {{- end }}
"#;

fn options() -> ParseOptions {
    let mut options = ParseOptions::default();
    // `include` as Helm wires it: a named template's output as a string.
    options.funcs.insert("include", |ctx, args| {
        let name = args
            .first()
            .and_then(GoValue::as_str)
            .unwrap_or_default()
            .to_string();
        let data = args.get(1).cloned().unwrap_or_default();
        Ok(GoValue::from(ctx.execute_template(&name, &data)?))
    });
    options
}

fn data() -> Value {
    serde_json::json!({
        "Chart": {"Name": "web"},
        "Release": {"Name": "prod"},
        "Values": {
            "replicaCount": 3,
            "image": {"repository": "nginx", "tag": "1.27"},
            "env": {"log_level": "info", "region": "eu-west-1", "mode": "fast"},
            "ports": [80, 443, 8080]
        }
    })
}

fn bench(c: &mut Criterion) {
    let options = options();
    let data = data();
    c.bench_function("gotemplate parse+execute deployment", |b| {
        b.iter(|| {
            let template = match Template::parse("deployment.yaml", DEPLOYMENT, &options) {
                Ok(t) => t,
                Err(err) => panic!("the benchmark template does not parse: {err}"),
            };
            let mut set = TemplateSet::new(options.funcs.clone());
            set.add(template);
            match execute(&set, "deployment.yaml", black_box(&data)) {
                Ok(out) => out.len(),
                Err(err) => panic!("the benchmark template does not execute: {err}"),
            }
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
