//! Helm's own template functions (`pkg/engine/funcs.go` and `engine.go`): `include`, `tpl`,
//! `required`, `lookup` and the YAML/JSON converters, which never fail on bad input but
//! return the error text inside the result (`{"Error": ...}`).

use std::collections::BTreeMap;

use fleet_gotemplate::funcs::conv::{Style, parse_json, to_json};
use fleet_gotemplate::{CallError, Funcs, GoValue, Numbers, ParseOptions, Template};

use crate::yaml_out::{SeqIndent, to_yaml_with};

/// Deepest nesting of template calls and control structures together (Helm allows 1000
/// `include`s per name; charts nest a few dozen levels). Rendering runs on a thread with
/// [`RENDER_STACK_BYTES`] of stack, which this bound stays well within.
pub const MAX_INCLUDE_DEPTH: usize = 1000;

/// Stack of the rendering thread.
pub const RENDER_STACK_BYTES: usize = 256 << 20;

fn str_arg(args: &[GoValue], i: usize, name: &str) -> Result<String, CallError> {
    match args.get(i) {
        Some(GoValue::Str(s)) => Ok(s.to_string()),
        Some(other) => Err(CallError::Message(format!(
            "wrong type for value; expected string; got {}",
            match other {
                GoValue::Nil => "interface {}".to_string(),
                o => o.type_name(),
            }
        ))),
        None => Err(CallError::Message(format!(
            "wrong number of args for {name}: want {} got {}",
            i + 1,
            args.len()
        ))),
    }
}

fn to_yaml_text(v: &GoValue, seq: SeqIndent) -> String {
    let text = to_yaml_with(v, seq);
    text.strip_suffix('\n').unwrap_or(&text).to_string()
}

fn yaml_error(message: String) -> String {
    format!("error converting YAML to JSON: {message}")
}

/// `fromYaml`: a map, or `{"Error": msg}`.
pub fn from_yaml(text: &str) -> Result<GoValue, String> {
    match crate::values::parse(text, "fromYaml") {
        Ok(v) => Ok(GoValue::from_json(&v, Numbers::Float64)),
        Err(e) => Err(yaml_error(e.to_string())),
    }
}

fn from_yaml_array(text: &str) -> Result<GoValue, String> {
    if text.trim().is_empty() {
        return Ok(GoValue::list(Vec::new()));
    }
    // Wrap so the values reader (which wants a map) reads the sequence.
    let wrapped = format!(
        "a:\n{}",
        text.lines()
            .map(|l| format!("  {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    match crate::values::parse(&wrapped, "fromYamlArray") {
        Ok(serde_json::Value::Object(m)) => match m.get("a") {
            Some(v @ serde_json::Value::Array(_)) => Ok(GoValue::from_json(v, Numbers::Float64)),
            Some(serde_json::Value::Null) | None => Ok(GoValue::list(Vec::new())),
            Some(_) => Err(yaml_error(
                "json: cannot unmarshal object into Go value of type []interface {}".into(),
            )),
        },
        Ok(_) => Ok(GoValue::list(Vec::new())),
        Err(e) => Err(yaml_error(e.to_string())),
    }
}

fn error_map(message: String) -> GoValue {
    let mut m = BTreeMap::new();
    m.insert("Error".to_string(), GoValue::from(message));
    GoValue::map(m)
}

/// Adds Helm's functions to `funcs`.
pub fn register(funcs: &mut Funcs) {
    funcs.insert("include", |ctx, args| {
        let name = str_arg(args, 0, "include")?;
        let data = args.get(1).cloned().unwrap_or_default();
        Ok(GoValue::from(ctx.execute_template(&name, &data)?))
    });
    funcs.insert("tpl", |ctx, args| {
        let text = str_arg(args, 0, "tpl")?;
        let data = args.get(1).cloned().unwrap_or_default();
        let mut set = ctx.set().clone();
        let options = ParseOptions {
            funcs: set.funcs().clone(),
            ..ParseOptions::default()
        };
        let template = Template::parse("gotpl", &text, &options)
            .map_err(|e| CallError::Message(format!("cannot parse template {text:?}: {e}")))?;
        set.add_replacing(template);
        let out = ctx.execute_in(&set, "gotpl", &data).map_err(|e| {
            CallError::Message(format!(
                "error during tpl function execution for {text:?}: {e}"
            ))
        })?;
        Ok(GoValue::from(out.replace("<no value>", "")))
    });
    funcs.insert("required", |_, args| {
        let message = str_arg(args, 0, "required")?;
        match args.get(1) {
            None | Some(GoValue::Nil) => Err(CallError::Message(message)),
            Some(GoValue::Str(s)) if s.is_empty() => Err(CallError::Message(message)),
            Some(v) => Ok(v.clone()),
        }
    });
    funcs.insert("lookup", |_, _| Ok(GoValue::empty_map()));
    for name in ["toYaml", "mustToYaml"] {
        funcs.insert(name, |_, args| {
            let v = args.first().cloned().unwrap_or_default();
            Ok(GoValue::from(to_yaml_text(&v, SeqIndent::AtKey)))
        });
    }
    funcs.insert("toYamlPretty", |_, args| {
        let v = args.first().cloned().unwrap_or_default();
        Ok(GoValue::from(to_yaml_text(&v, SeqIndent::Indented)))
    });
    funcs.insert("fromYaml", |_, args| {
        let text = str_arg(args, 0, "fromYaml")?;
        Ok(from_yaml(&text).unwrap_or_else(error_map))
    });
    funcs.insert("mustFromYaml", |_, args| {
        let text = str_arg(args, 0, "mustFromYaml")?;
        from_yaml(&text).map_err(CallError::Message)
    });
    funcs.insert("fromYamlArray", |_, args| {
        let text = str_arg(args, 0, "fromYamlArray")?;
        Ok(from_yaml_array(&text).unwrap_or_else(|e| GoValue::list(vec![GoValue::from(e)])))
    });
    funcs.insert("mustFromYamlArray", |_, args| {
        let text = str_arg(args, 0, "mustFromYamlArray")?;
        from_yaml_array(&text).map_err(CallError::Message)
    });
    for name in ["toJson", "mustToJson"] {
        funcs.insert(name, |_, args| {
            let v = args.first().cloned().unwrap_or_default();
            Ok(GoValue::from(to_json(&v, Style::Compact)))
        });
    }
    funcs.insert("fromJson", |_, args| {
        let text = str_arg(args, 0, "fromJson")?;
        Ok(match parse_json(&text) {
            Ok(v @ GoValue::Map(_)) => v,
            Ok(_) => error_map(
                "json: cannot unmarshal into Go value of type map[string]interface {}".into(),
            ),
            Err(e) => error_map(e),
        })
    });
    funcs.insert("mustFromJson", |_, args| {
        let text = str_arg(args, 0, "mustFromJson")?;
        parse_json(&text).map_err(CallError::Message)
    });
    funcs.insert("fromJsonArray", |_, args| {
        let text = str_arg(args, 0, "fromJsonArray")?;
        Ok(match parse_json(&text) {
            Ok(v @ GoValue::List(_)) => v,
            Ok(_) => GoValue::list(vec![GoValue::from(
                "json: cannot unmarshal object into Go value of type []interface {}",
            )]),
            Err(e) => GoValue::list(vec![GoValue::from(e)]),
        })
    });
    for name in ["toToml", "mustToToml"] {
        funcs.insert(name, |_, args| {
            let v = args.first().cloned().unwrap_or_default();
            Ok(GoValue::from(crate::toml::to_toml(&v)))
        });
    }
    funcs.insert("fromToml", |_, args| {
        let text = str_arg(args, 0, "fromToml")?;
        Ok(crate::toml::from_toml(&text).unwrap_or_else(error_map))
    });
    funcs.insert("mustFromToml", |_, args| {
        let text = str_arg(args, 0, "mustFromToml")?;
        crate::toml::from_toml(&text).map_err(CallError::Message)
    });
    funcs.insert("mustFromJsonArray", |_, args| {
        let text = str_arg(args, 0, "mustFromJsonArray")?;
        parse_json(&text).map_err(CallError::Message)
    });
}
