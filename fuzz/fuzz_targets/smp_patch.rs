#![no_main]
//! Strategic merge patches between arbitrary objects of built-in kinds: merging returns a value
//! or an error in both dialects, never a panic; JSON 6902 patches likewise. Where the inputs
//! meet `two_way`'s documented condition (no `null`s, which a patch reads as deletions, and no
//! `$`-directive keys, and no scalar twice in one list, which a set holds once), the two-way
//! patch applied to the original gives the modified object.

use fleet_smp::schema::Schema;
use fleet_smp::{MergeOptions, apply_json6902, is_contained, merge, two_way};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// Built-in kinds the first input byte picks from.
const KINDS: [(&str, &str); 6] = [
    ("apps/v1", "Deployment"),
    ("v1", "Service"),
    ("v1", "ConfigMap"),
    ("v1", "Pod"),
    ("batch/v1", "CronJob"),
    ("networking.k8s.io/v1", "Ingress"),
];

/// Reads a part as JSON, else as YAML (the way patches are written in repositories).
fn parse(part: &[u8]) -> Option<Value> {
    let text = std::str::from_utf8(part).ok()?;
    serde_json::from_str(text)
        .ok()
        .or_else(|| fleet_core::yaml::from_str(text).ok())
}

fn with_kind(mut value: Value, kind: (&str, &str)) -> Value {
    if let Value::Object(map) = &mut value {
        map.insert("apiVersion".into(), kind.0.into());
        map.insert("kind".into(), kind.1.into());
    }
    value
}

/// Whether the value holds a `null` or a key starting with `$` anywhere.
fn has_null_or_directive(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.iter().any(has_null_or_directive),
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| k.starts_with('$') || has_null_or_directive(v)),
        _ => false,
    }
}

/// Whether some list holds the same scalar twice: in a set (a merged list of scalars) the API
/// server's merge keeps one, so such a `modified` cannot come back from a patch.
fn has_repeated_scalar(value: &Value) -> bool {
    match value {
        Value::Array(items) => {
            items.iter().enumerate().any(|(i, item)| {
                !item.is_object() && !item.is_array() && items[..i].contains(item)
            }) || items.iter().any(has_repeated_scalar)
        }
        Value::Object(map) => map.values().any(has_repeated_scalar),
        _ => false,
    }
}

/// JSON equality with numbers compared by value, as the comparison behind `two_way` reads them
/// (`0` and `-0.0`, `1` and `1.0` are the same number).
fn same_values(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_values(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same_values(v, w)))
        }
        _ => a == b,
    }
}

fuzz_target!(|data: &[u8]| {
    // The input is `<kind byte> <original> \0 <patch or modified> [\0 <JSON 6902 ops>]`.
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let kind = KINDS[usize::from(selector) % KINDS.len()];
    let mut parts = rest.splitn(3, |b| *b == 0);
    let (Some(original), Some(patch)) =
        (parts.next().and_then(parse), parts.next().and_then(parse))
    else {
        return;
    };
    let original = with_kind(original, kind);
    let schema = Schema::builtin();
    for opts in [
        MergeOptions::kustomize(),
        MergeOptions::api_server(),
        MergeOptions {
            infer_keys: true,
            ..MergeOptions::default()
        },
    ] {
        let _ = merge(&original, &patch, schema, &opts);
    }
    let _ = is_contained(&patch, &original, schema);
    if let Some(ops) = parts.next().and_then(parse) {
        let mut target = original.clone();
        if apply_json6902(&mut target, &ops).is_err() {
            assert_eq!(
                target, original,
                "a failed JSON patch leaves the target unchanged"
            );
        }
    }
    let modified = with_kind(patch, kind);
    if original.is_object()
        && !has_null_or_directive(&original)
        && !has_null_or_directive(&modified)
        && !has_repeated_scalar(&modified)
    {
        let created = two_way(&original, &modified, schema);
        let opts = MergeOptions {
            server_directives: true,
            ..MergeOptions::default()
        };
        let merged = merge(&original, &created, schema, &opts).expect("a created patch applies");
        assert!(
            merged.as_ref().is_some_and(|m| same_values(m, &modified)),
            "patch {created}\nmerged {merged:?}\nwanted {modified}"
        );
    }
});
