//! Helm's `--set`, `--set-string` and `--set-json` syntax.
//!
//! `a.b=1,c[0].d=x,list={a,b}` becomes nested maps and lists merged into an existing value
//! tree. Plain `--set` types its scalars as Helm does (`true`/`false`/`null`, integers
//! without a leading zero); `--set-string` keeps every value a string; `--set-json` parses
//! each value as JSON.

use serde_json::{Map, Value};

/// Highest list index accepted, as Helm bounds it to keep `a[99999999]=x` from allocating.
pub const MAX_INDEX: usize = 65536;

/// Why an override could not be parsed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// A key ended without `=`.
    #[error("key \"{key}\" has no value")]
    NoValue {
        /// The key read so far.
        key: String,
    },
    /// A key ended with `,` before any `=`.
    #[error("key \"{key}\" has no value (cannot end with ,)")]
    NoValueComma {
        /// The key read so far.
        key: String,
    },
    /// A list index was not a number or out of bounds.
    #[error("failed to parse index \"{index}\" of key \"{key}\": {reason}")]
    Index {
        /// The key holding the list.
        key: String,
        /// The index text.
        index: String,
        /// Why it was refused.
        reason: String,
    },
    /// Something other than `.`, `=` or `[` followed a list index.
    #[error("key \"{key}\": unexpected \"{found}\" after an index")]
    AfterIndex {
        /// The key holding the list.
        key: String,
        /// What came instead.
        found: char,
    },
    /// A `--set-json` value was not JSON.
    #[error("failed to parse JSON value of key \"{key}\": {reason}")]
    Json {
        /// The key.
        key: String,
        /// What the JSON parser said.
        reason: String,
    },
    /// A key descended into something that is neither a map nor absent.
    #[error("key \"{key}\" is not a map and cannot hold \"{child}\"")]
    NotAMap {
        /// The key.
        key: String,
        /// The child key.
        child: String,
    },
}

/// How the right-hand sides are typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `--set`: `true`, `false`, `null` and integers are typed, the rest are strings.
    Typed,
    /// `--set-string`: every value is a string.
    String,
    /// `--set-json`: every value is JSON.
    Json,
}

/// Parses `text` and merges it into `into` (which becomes a map if it is not one).
pub fn parse_into(text: &str, into: &mut Value, mode: Mode) -> Result<(), Error> {
    if !into.is_object() {
        *into = Value::Object(Map::new());
    }
    let mut parser = Parser {
        chars: text.chars().collect(),
        pos: 0,
        mode,
    };
    while parser.pos < parser.chars.len() {
        // `into` was made a map above.
        let Value::Object(map) = into else {
            return Ok(());
        };
        if !parser.entry(map)? {
            break;
        }
    }
    Ok(())
}

/// Parses `text` into a fresh map.
pub fn parse(text: &str, mode: Mode) -> Result<Value, Error> {
    let mut value = Value::Object(Map::new());
    parse_into(text, &mut value, mode)?;
    Ok(value)
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    mode: Mode,
}

/// What ended a run of key characters.
enum Stop {
    Equals,
    Dot,
    Bracket,
    Comma,
    End,
}

impl Parser {
    fn read_key(&mut self) -> (String, Stop) {
        let mut key = String::new();
        while let Some(&c) = self.chars.get(self.pos) {
            self.pos += 1;
            match c {
                '\\' => {
                    if let Some(&next) = self.chars.get(self.pos) {
                        key.push(next);
                        self.pos += 1;
                    }
                }
                '=' => return (key, Stop::Equals),
                '.' => return (key, Stop::Dot),
                '[' => return (key, Stop::Bracket),
                ',' => return (key, Stop::Comma),
                _ => key.push(c),
            }
        }
        (key, Stop::End)
    }

    /// Reads up to an unescaped stop character; returns the text and whether it stopped there.
    fn read_until(&mut self, stops: &[char]) -> (String, Option<char>) {
        let mut out = String::new();
        while let Some(&c) = self.chars.get(self.pos) {
            self.pos += 1;
            if c == '\\' {
                if let Some(&next) = self.chars.get(self.pos) {
                    out.push(next);
                    self.pos += 1;
                }
                continue;
            }
            if stops.contains(&c) {
                return (out, Some(c));
            }
            out.push(c);
        }
        (out, None)
    }

    /// One `key...=value` entry into `map`. Returns false at the end of input.
    fn entry(&mut self, map: &mut Map<String, Value>) -> Result<bool, Error> {
        let (key, stop) = self.read_key();
        match stop {
            Stop::End => {
                if key.is_empty() {
                    return Ok(false);
                }
                Err(Error::NoValue { key })
            }
            Stop::Comma => {
                if key.is_empty() {
                    return Ok(true);
                }
                Err(Error::NoValueComma { key })
            }
            Stop::Equals => {
                let value = self.value(&key)?;
                map.insert(key, value);
                Ok(true)
            }
            Stop::Dot => {
                let child = map
                    .entry(key.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if !child.is_object() {
                    *child = Value::Object(Map::new());
                }
                let Value::Object(child) = child else {
                    return Err(Error::NotAMap {
                        key,
                        child: String::new(),
                    });
                };
                self.entry(child)
            }
            Stop::Bracket => {
                let slot = map.entry(key.clone()).or_insert(Value::Null);
                self.list_entry(&key, slot)
            }
        }
    }

    fn index(&mut self, key: &str) -> Result<usize, Error> {
        let (text, stop) = self.read_until(&[']']);
        if stop.is_none() {
            return Err(Error::Index {
                key: key.to_string(),
                index: text,
                reason: "missing ]".to_string(),
            });
        }
        let index: i64 = text.trim().parse().map_err(|_| Error::Index {
            key: key.to_string(),
            index: text.clone(),
            reason: "not an integer".to_string(),
        })?;
        if index < 0 {
            return Err(Error::Index {
                key: key.to_string(),
                index: text,
                reason: "negative index".to_string(),
            });
        }
        let index = index as usize;
        if index > MAX_INDEX {
            return Err(Error::Index {
                key: key.to_string(),
                index: text,
                reason: format!(
                    "index of {index} is greater than maximum supported index of {MAX_INDEX}"
                ),
            });
        }
        Ok(index)
    }

    /// After `key[`: the index, then `=value`, `.rest` or another `[`.
    fn list_entry(&mut self, key: &str, slot: &mut Value) -> Result<bool, Error> {
        let index = self.index(key)?;
        if !slot.is_array() {
            *slot = Value::Array(Vec::new());
        }
        let Value::Array(list) = slot else {
            return Ok(true);
        };
        while list.len() <= index {
            list.push(Value::Null);
        }
        match self.chars.get(self.pos).copied() {
            Some('=') => {
                self.pos += 1;
                list[index] = self.value(key)?;
                Ok(true)
            }
            Some('.') => {
                self.pos += 1;
                let element = &mut list[index];
                if !element.is_object() {
                    *element = Value::Object(Map::new());
                }
                let Value::Object(child) = element else {
                    return Ok(true);
                };
                self.entry(child)
            }
            Some('[') => {
                self.pos += 1;
                let element = &mut list[index];
                self.list_entry(key, element)
            }
            Some(found) => Err(Error::AfterIndex {
                key: key.to_string(),
                found,
            }),
            None => Err(Error::NoValue {
                key: key.to_string(),
            }),
        }
    }

    /// The right-hand side after `=`, up to the next unescaped `,`.
    fn value(&mut self, key: &str) -> Result<Value, Error> {
        match self.mode {
            Mode::Json => {
                // JSON may hold commas; take the longest prefix that parses, up to a `,` or the end.
                let rest: String = self.chars[self.pos..].iter().collect();
                let mut stream = serde_json::Deserializer::from_str(&rest).into_iter::<Value>();
                match stream.next() {
                    Some(Ok(value)) => {
                        let used = stream.byte_offset();
                        self.pos += rest[..used].chars().count();
                        if self.chars.get(self.pos) == Some(&',') {
                            self.pos += 1;
                        }
                        Ok(value)
                    }
                    Some(Err(err)) => Err(Error::Json {
                        key: key.to_string(),
                        reason: err.to_string(),
                    }),
                    None => Ok(Value::Null),
                }
            }
            Mode::Typed | Mode::String => {
                if self.chars.get(self.pos) == Some(&'{') {
                    self.pos += 1;
                    let mut list = Vec::new();
                    loop {
                        let (item, stop) = self.read_until(&[',', '}']);
                        if !(item.is_empty() && stop == Some('}') && list.is_empty()) {
                            list.push(self.typed(item));
                        }
                        match stop {
                            Some(',') => continue,
                            _ => break,
                        }
                    }
                    if self.chars.get(self.pos) == Some(&',') {
                        self.pos += 1;
                    }
                    return Ok(Value::Array(list));
                }
                let (text, _) = self.read_until(&[',']);
                Ok(self.typed(text))
            }
        }
    }

    fn typed(&self, text: String) -> Value {
        if self.mode == Mode::String {
            return Value::String(text);
        }
        typed_value(text)
    }
}

/// Helm's typing of a plain `--set` scalar.
pub fn typed_value(text: String) -> Value {
    if text.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if text.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    if text.eq_ignore_ascii_case("null") {
        return Value::Null;
    }
    if text == "0" {
        return Value::from(0_i64);
    }
    if !text.starts_with('0')
        && let Ok(number) = text.parse::<i64>()
    {
        return Value::from(number);
    }
    Value::String(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_keys_lists_and_types() {
        let value = parse("a.b=1,c[1].d=x,e={p,q},f=007,g=true,h=null", Mode::Typed).unwrap();
        assert_eq!(
            value,
            json!({"a": {"b": 1}, "c": [null, {"d": "x"}], "e": ["p", "q"], "f": "007", "g": true, "h": null})
        );
    }

    #[test]
    fn set_string_keeps_strings_and_escapes() {
        let value = parse(r"a=1,b=x\,y,c\.d=2", Mode::String).unwrap();
        assert_eq!(value, json!({"a": "1", "b": "x,y", "c.d": "2"}));
    }

    #[test]
    fn set_json_takes_json_with_commas() {
        let value = parse(r#"a={"x":[1,2]},b="s""#, Mode::Json).unwrap();
        assert_eq!(value, json!({"a": {"x": [1, 2]}, "b": "s"}));
    }

    #[test]
    fn errors_name_the_key() {
        assert_eq!(
            parse("a.b", Mode::Typed),
            Err(Error::NoValue { key: "b".into() })
        );
        assert_eq!(
            parse("a,b=1", Mode::Typed),
            Err(Error::NoValueComma { key: "a".into() })
        );
        assert!(matches!(
            parse("a[99999999]=1", Mode::Typed),
            Err(Error::Index { .. })
        ));
    }

    #[test]
    fn merges_into_existing_values() {
        let mut value = json!({"a": {"keep": 1}});
        parse_into("a.add=2", &mut value, Mode::Typed).unwrap();
        assert_eq!(value, json!({"a": {"keep": 1, "add": 2}}));
    }
}
