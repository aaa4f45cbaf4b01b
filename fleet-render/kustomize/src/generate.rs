//! `configMapGenerator`, `secretGenerator`, `generatorOptions` and the name hash suffix.

use base64::Engine;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::res::{Behavior, Generated, Res, ns_eq};
use super::{Builder, Error, Kustomization, add_resource, scalar_string};
use crate::files;

#[derive(Default, Clone)]
struct Options {
    labels: Vec<(String, String)>,
    annotations: Vec<(String, String)>,
    disable_hash: Option<bool>,
    immutable: Option<bool>,
}

fn parse_options(k: &Kustomization, v: Option<&Value>, what: &str) -> Result<Options, Error> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(Options::default());
    };
    let Value::Object(m) = v else {
        return Err(k.invalid(format!("{what}: options must be a map")));
    };
    let pairs = |key: &str| -> Vec<(String, String)> {
        m.get(key)
            .and_then(Value::as_object)
            .map(|mm| {
                mm.iter()
                    .map(|(a, b)| (a.clone(), scalar_string(b)))
                    .collect()
            })
            .unwrap_or_default()
    };
    Ok(Options {
        labels: pairs("labels"),
        annotations: pairs("annotations"),
        disable_hash: m.get("disableNameSuffixHash").and_then(Value::as_bool),
        immutable: m.get("immutable").and_then(Value::as_bool),
    })
}

fn merge_options(global: &Options, local: &Options) -> Options {
    let mut out = global.clone();
    for (k, v) in &local.labels {
        out.labels.retain(|(a, _)| a != k);
        out.labels.push((k.clone(), v.clone()));
    }
    for (k, v) in &local.annotations {
        out.annotations.retain(|(a, _)| a != k);
        out.annotations.push((k.clone(), v.clone()));
    }
    if local.disable_hash.is_some() {
        out.disable_hash = local.disable_hash;
    }
    if local.immutable.is_some() {
        out.immutable = local.immutable;
    }
    out
}

fn strip_quotes(v: &str) -> &str {
    let b = v.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        &v[1..v.len() - 1]
    } else {
        v
    }
}

/// Key/value pairs of a generator, in source order, with bytes that are not UTF-8 kept
/// apart (they go to `binaryData`).
struct Data {
    pairs: Vec<(String, Vec<u8>)>,
}

impl Data {
    fn add(
        &mut self,
        key: String,
        value: Vec<u8>,
        generator: &str,
        k: &Kustomization,
    ) -> Result<(), Error> {
        if self.pairs.iter().any(|(a, _)| *a == key) {
            return Err(Error::Generator {
                file: k.file.clone(),
                name: generator.to_string(),
                message: format!("cannot add key '{key}', another key by that name already exists"),
            });
        }
        self.pairs.push((key, value));
        Ok(())
    }
}

fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 253
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
}

fn parse_env(
    text: &str,
    generator: &str,
    k: &Kustomization,
    path: &str,
    data: &mut Data,
) -> Result<(), Error> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = match line.split_once('=') {
            Some((key, value)) => (key.to_string(), value.to_string()),
            None => (line.to_string(), String::new()),
        };
        if !valid_key(&key) {
            return Err(Error::Generator {
                file: k.file.clone(),
                name: generator.to_string(),
                message: format!("{path} line {}: invalid key '{key}'", i + 1),
            });
        }
        data.add(key, value.into_bytes(), generator, k)?;
    }
    Ok(())
}

/// Runs the kustomization's generators, adding to (or merging into) `resources`.
pub(super) fn run(
    b: &Builder<'_>,
    k: &Kustomization,
    resources: &mut Vec<Res>,
) -> Result<(), Error> {
    let global = parse_options(k, k.get("generatorOptions"), "generatorOptions")?;
    for (field, kind) in [
        ("configMapGenerator", "ConfigMap"),
        ("secretGenerator", "Secret"),
    ] {
        for spec in k.list(field)? {
            let Value::Object(spec) = spec else {
                return Err(k.invalid(format!("{field}: each entry must be a map")));
            };
            let name = spec
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let namespace = spec
                .get("namespace")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let behavior = match spec.get("behavior").and_then(Value::as_str).unwrap_or("") {
                "" | "create" => Behavior::Create,
                "merge" => Behavior::Merge,
                "replace" => Behavior::Replace,
                other => {
                    return Err(Error::Generator {
                        file: k.file.clone(),
                        name,
                        message: format!("unknown behavior '{other}'"),
                    });
                }
            };
            if name.is_empty() {
                return Err(Error::Generator {
                    file: k.file.clone(),
                    name,
                    message: "a generator needs a name".into(),
                });
            }
            let local = parse_options(k, spec.get("options"), field)?;
            let opts = merge_options(&global, &local);
            let mut data = Data { pairs: Vec::new() };
            let strs = |key: &str| -> Vec<String> {
                spec.get(key)
                    .and_then(Value::as_array)
                    .map(|a| a.iter().map(scalar_string).collect())
                    .unwrap_or_default()
            };
            for lit in strs("literals") {
                let Some((key, value)) = lit.split_once('=') else {
                    return Err(Error::Generator {
                        file: k.file.clone(),
                        name,
                        message: format!("invalid literal source {lit}, expected key=value"),
                    });
                };
                data.add(
                    key.to_string(),
                    strip_quotes(value).as_bytes().to_vec(),
                    &name,
                    k,
                )?;
            }
            for src in strs("files") {
                let (key, path) = match src.split_once('=') {
                    Some((key, path)) => (key.to_string(), path.to_string()),
                    None => (files::file_name(&src).to_string(), src.clone()),
                };
                let (_, bytes) = b.read_file(k, field, &path)?;
                data.add(key, bytes, &name, k)?;
            }
            for src in strs("envs")
                .into_iter()
                .chain(spec.get("env").and_then(Value::as_str).map(str::to_string))
            {
                let (path, bytes) = b.read_file(k, field, &src)?;
                let text = String::from_utf8_lossy(&bytes).into_owned();
                parse_env(&text, &name, k, &path, &mut data)?;
            }
            let mut obj = Map::new();
            obj.insert("apiVersion".into(), "v1".into());
            obj.insert("kind".into(), kind.into());
            let mut meta = Map::new();
            meta.insert("name".into(), Value::String(name.clone()));
            if !namespace.is_empty() {
                meta.insert("namespace".into(), Value::String(namespace.clone()));
            }
            if !opts.labels.is_empty() {
                meta.insert("labels".into(), pairs_map(&opts.labels));
            }
            if !opts.annotations.is_empty() {
                meta.insert("annotations".into(), pairs_map(&opts.annotations));
            }
            obj.insert("metadata".into(), Value::Object(meta));
            let (text_data, binary) = encode_data(kind, &data);
            if !text_data.is_empty() {
                obj.insert("data".into(), Value::Object(text_data));
            }
            if !binary.is_empty() {
                obj.insert("binaryData".into(), Value::Object(binary));
            }
            if kind == "Secret" {
                let ty = spec
                    .get("type")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .unwrap_or("Opaque");
                obj.insert("type".into(), ty.into());
            }
            if let Some(im) = opts.immutable.filter(|i| *i) {
                obj.insert("immutable".into(), Value::Bool(im));
            }
            let mut res = Res::new(Value::Object(obj), &k.file);
            res.generator = Some(if kind == "Secret" {
                "SecretGenerator"
            } else {
                "ConfigMapGenerator"
            });
            res.configured_by = k.plugin_meta.clone();
            res.generated = Some(Generated {
                hash: !opts.disable_hash.unwrap_or(false),
            });
            match behavior {
                Behavior::Create => add_resource(resources, res, &k.file)?,
                Behavior::Merge | Behavior::Replace => {
                    let found = resources.iter_mut().find(|r| {
                        r.kind() == kind
                            && r.had_name(&name)
                            && (namespace.is_empty() || ns_eq(r.namespace(), &namespace))
                    });
                    let Some(existing) = found else {
                        return Err(Error::Generator {
                            file: k.file.clone(),
                            name: name.clone(),
                            message: format!(
                                "id resource {kind} '{name}' does not exist; cannot merge or replace"
                            ),
                        });
                    };
                    merge_generated(existing, res, behavior);
                }
            }
        }
    }
    Ok(())
}

fn pairs_map(pairs: &[(String, String)]) -> Value {
    Value::Object(
        pairs
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// Base64 as kustomize writes generated data: wrapped at 70 characters, each line ending in
/// a newline, when longer than one line.
fn base64_wrapped(bytes: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    if encoded.len() <= 70 {
        return encoded;
    }
    let mut out = String::with_capacity(encoded.len() + encoded.len() / 70 + 1);
    for chunk in encoded.as_bytes().chunks(70) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out
}

fn encode_data(kind: &str, data: &Data) -> (Map<String, Value>, Map<String, Value>) {
    let mut text = Map::new();
    let mut binary = Map::new();
    for (key, value) in &data.pairs {
        if kind == "Secret" {
            text.insert(key.clone(), Value::String(base64_wrapped(value)));
        } else {
            match std::str::from_utf8(value) {
                Ok(s) => {
                    text.insert(key.clone(), Value::String(s.to_string()));
                }
                Err(_) => {
                    binary.insert(key.clone(), Value::String(base64_wrapped(value)));
                }
            }
        }
    }
    (text, binary)
}

fn merge_generated(existing: &mut Res, new: Res, behavior: Behavior) {
    let new_obj = new.obj;
    let meta_new = new_obj.get("metadata").cloned().unwrap_or(Value::Null);
    {
        let meta = existing.metadata_mut();
        for field in ["labels", "annotations"] {
            if let Some(Value::Object(add)) = meta_new.get(field) {
                let target = meta
                    .entry(field)
                    .or_insert_with(|| Value::Object(Map::new()));
                let target = super::res::ensure_map(target);
                for (k, v) in add {
                    target.insert(k.clone(), v.clone());
                }
            }
        }
    }
    let obj = super::res::ensure_map(&mut existing.obj);
    for field in ["data", "binaryData"] {
        match behavior {
            Behavior::Replace => {
                obj.remove(field);
                if let Some(v) = new_obj.get(field) {
                    obj.insert(field.into(), v.clone());
                }
            }
            _ => {
                if let Some(Value::Object(add)) = new_obj.get(field) {
                    let target = obj
                        .entry(field)
                        .or_insert_with(|| Value::Object(Map::new()));
                    let target = super::res::ensure_map(target);
                    for (k, v) in add {
                        target.insert(k.clone(), v.clone());
                    }
                }
            }
        }
    }
    if let Some(t) = new_obj.get("immutable") {
        obj.insert("immutable".into(), t.clone());
    }
    if behavior == Behavior::Replace {
        // The replacing generator is where the object is configured now.
        existing.file = new.file.clone();
        existing.generator = new.generator;
        existing.configured_by = new.configured_by.clone();
    }
    let hash = new.generated.as_ref().is_some_and(|g| g.hash);
    // A ConfigMap or Secret taken from `resources` keeps its name: only generated objects get
    // a hash suffix.
    if let Some(g) = &mut existing.generated {
        g.hash = g.hash && hash;
    }
}

/// Go's `encoding/json` escapes `<`, `>`, `&`, U+2028 and U+2029 in strings.
fn go_json(v: &Value) -> String {
    let text = v.to_string();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// The 10-character hash kustomize appends to generated names. Kustomize v5.5.0 hashes the
/// kind, the data and (for Secrets) the type, with an empty name.
pub(crate) fn content_hash(obj: &Value) -> String {
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    let mut m = Map::new();
    m.insert("kind".into(), kind.into());
    m.insert("name".into(), "".into());
    // An empty data map hashes as the empty string, as kustomize encodes it.
    let data = obj
        .get("data")
        .filter(|v| v.as_object().is_some_and(|m| !m.is_empty()))
        .cloned()
        .unwrap_or(Value::String(String::new()));
    m.insert("data".into(), data);
    if kind == "Secret" {
        m.insert(
            "type".into(),
            obj.get("type")
                .cloned()
                .unwrap_or(Value::String(String::new())),
        );
    } else if let Some(Value::Object(bd)) = obj.get("binaryData")
        && !bd.is_empty()
    {
        m.insert("binaryData".into(), Value::Object(bd.clone()));
    }
    let digest = Sha256::digest(go_json(&Value::Object(m)).as_bytes());
    hex::encode(digest)
        .chars()
        .take(10)
        .map(|c| match c {
            '0' => 'g',
            '1' => 'h',
            '3' => 'k',
            'a' => 'm',
            'e' => 't',
            c => c,
        })
        .collect()
}

/// Appends the content hash to the names of generated resources that want one.
pub(super) fn apply_hashes(resources: &mut [Res]) {
    for r in resources.iter_mut() {
        if r.generated.as_ref().is_some_and(|g| g.hash) {
            let name = format!("{}-{}", r.name(), content_hash(&r.obj));
            r.set_name(&name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_like_kustomize() {
        let cm: Value = serde_json::json!({"kind": "ConfigMap", "data": {"a": "b"}});
        assert_eq!(content_hash(&cm), "4h2mbtbbt6");
        let empty: Value = serde_json::json!({"kind": "ConfigMap"});
        assert_eq!(content_hash(&empty), "6ct58987ht");
        let secret: Value = serde_json::json!({"kind": "Secret", "type": "Opaque", "data": {
            "BIRD": "ZmFsY29u", "MOUNTAIN": "ZXZlcmVzdA==", "OCEAN": "cGFjaWZpYw==",
            "forces.txt": "CmdyYXZpdGF0aW9uYWwKZWxlY3Ryb21hZ25ldGljCnN0cm9uZyBudWNsZWFyCndlYWsgbn\nVjbGVhcgo=\n",
            "fruit": "YXBwbGU=",
            "passphrase": "CkxpZmUgaXMgc2hvcnQuCkJ1dCB0aGUgeWVhcnMgYXJlIGxvbmcuCk5vdCB3aGlsZSB0aG\nUgZXZpbCBkYXlzIGNvbWUgbm90Lgo=\n",
            "vegetable": "YnJvY2NvbGk="}});
        assert_eq!(content_hash(&secret), "58g62h555c");
    }
}
