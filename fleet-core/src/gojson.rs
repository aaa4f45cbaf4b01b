//! JSON exactly as Go's `encoding/json` writes it, from any `serde::Serialize` value.
//!
//! Fleet hashes JSON it produced with `json.Marshal`/`json.Encoder` (manifest IDs, deployment
//! IDs), so byte equality matters. The rules reproduced here:
//!
//! * Strings escape `"` and `\`, use `\b`, `\f`, `\n`, `\r`, `\t` for those controls and
//!   `\u00XX` (lower-case hex) for the other bytes below 0x20; HTML-safe escaping turns `<`,
//!   `>`, `&` into `\u003c`, `\u003e`, `\u0026`; U+2028 and U+2029 become `\u2028`, `\u2029`.
//!   DEL (0x7f) and all other characters are written as they are.
//! * Maps are written with their keys sorted bytewise (whatever the map type's own order);
//!   integer keys are written as strings. Structs keep their field order (serde's declaration
//!   order). A struct with a `#[serde(flatten)]` field reaches a serializer as a map *without a
//!   length*; such maps keep the order serde gives (declared fields first, then the flattened
//!   ones), while every real map (`BTreeMap`, `HashMap`, `serde_json::Map`, which all announce
//!   their length) is sorted.
//! * Floating-point numbers use the shortest representation that reads back to the same value,
//!   in plain notation for magnitudes in `[1e-6, 1e21)` and as `1e+21`, `1.5e-7` otherwise;
//!   NaN and infinities are an error (`json: unsupported value`).
//! * Byte strings (`serialize_bytes`, Go `[]byte`) are written as standard base64 strings.
//! * `None` and unit are `null`; a unit enum variant is its name; other enum variants are
//!   written as `{"Variant": …}` like serde_json does (Go has no equivalent).
//!
//! ```
//! use fleet_core::gojson;
//! let v = serde_json::json!({"b": "<a&b>", "a": 1.5e-7, "c": 1e21});
//! assert_eq!(gojson::to_string(&v).unwrap(), r#"{"a":1.5e-7,"b":"\u003ca\u0026b\u003e","c":1e+21}"#);
//! ```

use std::fmt::Display;

use base64::Engine as _;
use serde::Serialize;
use serde::ser::{self, Impossible};

/// An error producing Go JSON.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// NaN or an infinity (Go: `json: unsupported value: NaN`).
    #[error("json: unsupported value: {0}")]
    UnsupportedValue(String),
    /// A map key that is not a string or an integer.
    #[error("json: unsupported map key type: {0}")]
    UnsupportedKey(&'static str),
    /// An error raised by a `Serialize` implementation.
    #[error("{0}")]
    Custom(String),
}

impl ser::Error for Error {
    fn custom<T: Display>(msg: T) -> Self {
        Error::Custom(msg.to_string())
    }
}

/// `json.Marshal(value)`: the bytes, no trailing newline.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(128);
    value.serialize(Serializer { out: &mut out })?;
    Ok(out)
}

/// `json.Marshal(value)` as a string.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> Result<String, Error> {
    let bytes = to_vec(value)?;
    // Only valid UTF-8 is ever written (inputs are Rust strings, escapes are ASCII).
    String::from_utf8(bytes).map_err(|e| Error::Custom(e.to_string()))
}

/// `json.NewEncoder(w).Encode(value)`: the bytes followed by `"\n"`.
pub fn to_vec_encoder<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Error> {
    let mut out = to_vec(value)?;
    out.push(b'\n');
    Ok(out)
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `s` as a Go JSON string literal (with HTML-safe escaping).
pub fn write_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b < 0x80 {
            let escape: Option<&[u8]> = match b {
                b'"' => Some(b"\\\""),
                b'\\' => Some(b"\\\\"),
                0x08 => Some(b"\\b"),
                0x0c => Some(b"\\f"),
                b'\n' => Some(b"\\n"),
                b'\r' => Some(b"\\r"),
                b'\t' => Some(b"\\t"),
                b'<' | b'>' | b'&' => Some(b""),
                c if c < 0x20 => Some(b""),
                _ => None,
            };
            if let Some(esc) = escape {
                out.extend_from_slice(&bytes[start..i]);
                if esc.is_empty() {
                    out.extend_from_slice(b"\\u00");
                    out.push(HEX[usize::from(b >> 4)]);
                    out.push(HEX[usize::from(b & 0xf)]);
                } else {
                    out.extend_from_slice(esc);
                }
                start = i + 1;
            }
            i += 1;
            continue;
        }
        // U+2028 and U+2029 are E2 80 A8 / E2 80 A9 in UTF-8.
        if b == 0xe2
            && bytes.get(i + 1) == Some(&0x80)
            && matches!(bytes.get(i + 2), Some(0xa8 | 0xa9))
        {
            out.extend_from_slice(&bytes[start..i]);
            out.extend_from_slice(if bytes[i + 2] == 0xa8 {
                b"\\u2028"
            } else {
                b"\\u2029"
            });
            i += 3;
            start = i;
            continue;
        }
        i += 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Go's float formatting for `encoding/json` (`bits` = 64 or 32).
fn format_float(f: f64, shortest: impl Fn(bool) -> String) -> Result<String, Error> {
    if !f.is_finite() {
        let name = if f.is_nan() {
            "NaN"
        } else if f > 0.0 {
            "+Inf"
        } else {
            "-Inf"
        };
        return Err(Error::UnsupportedValue(name.to_string()));
    }
    let abs = f.abs();
    let exponent_form = abs != 0.0 && !(1e-6..1e21).contains(&abs);
    let text = shortest(exponent_form);
    if !exponent_form {
        return Ok(text);
    }
    // Rust writes `1.5e-7` / `1e21`; Go writes `1.5e-07` → cleaned to `1.5e-7`, and `1e+21`.
    match text.split_once('e') {
        Some((mantissa, exp)) if !exp.starts_with('-') => Ok(format!("{mantissa}e+{exp:0>2}")),
        _ => Ok(text),
    }
}

/// Formats an `f64` as Go's `encoding/json` does.
pub fn format_f64(f: f64) -> Result<String, Error> {
    format_float(f, |exp| {
        if exp {
            format!("{f:e}")
        } else {
            format!("{f}")
        }
    })
}

/// Formats an `f32` as Go's `encoding/json` does for `float32`.
pub fn format_f32(f: f32) -> Result<String, Error> {
    format_float(f64::from(f), |exp| {
        if exp {
            format!("{f:e}")
        } else {
            format!("{f}")
        }
    })
}

/// The serializer; see the module documentation.
pub struct Serializer<'a> {
    out: &'a mut Vec<u8>,
}

impl<'a> Serializer<'a> {
    /// A serializer appending to `out`.
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        Serializer { out }
    }

    fn raw(self, s: &str) -> Result<(), Error> {
        self.out.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

impl<'a> ser::Serializer for Serializer<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = SeqWriter<'a>;
    type SerializeTuple = SeqWriter<'a>;
    type SerializeTupleStruct = SeqWriter<'a>;
    type SerializeTupleVariant = SeqWriter<'a>;
    type SerializeMap = MapWriter<'a>;
    type SerializeStruct = StructWriter<'a>;
    type SerializeStructVariant = StructWriter<'a>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.raw(if v { "true" } else { "false" })
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.raw(&v.to_string())
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.raw(&v.to_string())
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.raw(&v.to_string())
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.raw(&v.to_string())
    }
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        self.raw(&v.to_string())
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.raw(&v.to_string())
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.raw(&v.to_string())
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.raw(&v.to_string())
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.raw(&v.to_string())
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        self.raw(&v.to_string())
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        let s = format_f32(v)?;
        self.raw(&s)
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        let s = format_f64(v)?;
        self.raw(&s)
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        write_string(self.out, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        write_string(self.out, v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        let encoded = base64::engine::general_purpose::STANDARD.encode(v);
        write_string(self.out, &encoded);
        Ok(())
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.raw("null")
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.raw("null")
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.raw("null")
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        write_string(self.out, variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.out.push(b'{');
        write_string(self.out, variant);
        self.out.push(b':');
        value.serialize(Serializer { out: self.out })?;
        self.out.push(b'}');
        Ok(())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<SeqWriter<'a>, Error> {
        self.out.push(b'[');
        Ok(SeqWriter {
            out: self.out,
            first: true,
            variant: false,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqWriter<'a>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<SeqWriter<'a>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<SeqWriter<'a>, Error> {
        self.out.push(b'{');
        write_string(self.out, variant);
        self.out.extend_from_slice(b":[");
        Ok(SeqWriter {
            out: self.out,
            first: true,
            variant: true,
        })
    }
    fn serialize_map(self, len: Option<usize>) -> Result<MapWriter<'a>, Error> {
        Ok(MapWriter {
            out: self.out,
            entries: Vec::with_capacity(len.unwrap_or(0)),
            key: None,
            sorted: len.is_some(),
        })
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<StructWriter<'a>, Error> {
        self.out.push(b'{');
        Ok(StructWriter {
            out: self.out,
            first: true,
            variant: false,
        })
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<StructWriter<'a>, Error> {
        self.out.push(b'{');
        write_string(self.out, variant);
        self.out.extend_from_slice(b":{");
        Ok(StructWriter {
            out: self.out,
            first: true,
            variant: true,
        })
    }
}

/// Writes sequences, tuples and tuple variants.
pub struct SeqWriter<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
    variant: bool,
}

impl SeqWriter<'_> {
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        value.serialize(Serializer { out: self.out })
    }
    fn finish(self) -> Result<(), Error> {
        self.out.push(b']');
        if self.variant {
            self.out.push(b'}');
        }
        Ok(())
    }
}

impl ser::SerializeSeq for SeqWriter<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl ser::SerializeTuple for SeqWriter<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl ser::SerializeTupleStruct for SeqWriter<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl ser::SerializeTupleVariant for SeqWriter<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

/// Writes maps: entries are buffered and written sorted by key (unless the map has no
/// declared length: see the module documentation).
pub struct MapWriter<'a> {
    out: &'a mut Vec<u8>,
    entries: Vec<(String, Vec<u8>)>,
    key: Option<String>,
    sorted: bool,
}

impl ser::SerializeMap for MapWriter<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.key = Some(key.serialize(KeySerializer)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let key = self
            .key
            .take()
            .ok_or_else(|| Error::Custom("map value without a key".to_string()))?;
        let mut buf = Vec::new();
        value.serialize(Serializer { out: &mut buf })?;
        self.entries.push((key, buf));
        Ok(())
    }
    fn end(mut self) -> Result<(), Error> {
        if self.sorted {
            self.entries
                .sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        }
        self.out.push(b'{');
        for (i, (k, v)) in self.entries.iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            write_string(self.out, k);
            self.out.push(b':');
            self.out.extend_from_slice(v);
        }
        self.out.push(b'}');
        Ok(())
    }
}

/// Writes structs and struct variants, fields in declaration order.
pub struct StructWriter<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
    variant: bool,
}

impl StructWriter<'_> {
    fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), Error> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        write_string(self.out, key);
        self.out.push(b':');
        value.serialize(Serializer { out: self.out })
    }
    fn finish(self) -> Result<(), Error> {
        self.out.push(b'}');
        if self.variant {
            self.out.push(b'}');
        }
        Ok(())
    }
}

impl ser::SerializeStruct for StructWriter<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.field(key, value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl ser::SerializeStructVariant for StructWriter<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.field(key, value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

/// Turns map keys into strings (strings, chars and integers, as Go allows).
struct KeySerializer;

macro_rules! key_int {
    ($($name:ident: $ty:ty),*) => {
        $(fn $name(self, v: $ty) -> Result<String, Error> { Ok(v.to_string()) })*
    };
}

macro_rules! key_unsupported {
    ($($name:ident($($arg:ty),*) => $what:literal),*) => {
        $(fn $name(self, $(_: $arg),*) -> Result<String, Error> { Err(Error::UnsupportedKey($what)) })*
    };
}

impl ser::Serializer for KeySerializer {
    type Ok = String;
    type Error = Error;
    type SerializeSeq = Impossible<String, Error>;
    type SerializeTuple = Impossible<String, Error>;
    type SerializeTupleStruct = Impossible<String, Error>;
    type SerializeTupleVariant = Impossible<String, Error>;
    type SerializeMap = Impossible<String, Error>;
    type SerializeStruct = Impossible<String, Error>;
    type SerializeStructVariant = Impossible<String, Error>;

    fn serialize_str(self, v: &str) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_char(self, v: char) -> Result<String, Error> {
        Ok(v.to_string())
    }
    key_int!(serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
        serialize_i128: i128, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32,
        serialize_u64: u64, serialize_u128: u128);
    key_unsupported!(serialize_bool(bool) => "bool", serialize_f32(f32) => "float32",
        serialize_f64(f64) => "float64", serialize_bytes(&[u8]) => "[]byte",
        serialize_none() => "null", serialize_unit() => "unit",
        serialize_unit_struct(&'static str) => "struct");
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<String, Error> {
        Ok(variant.to_string())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<String, Error> {
        value.serialize(self)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<String, Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<String, Error> {
        Err(Error::UnsupportedKey("enum"))
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(Error::UnsupportedKey("slice"))
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Err(Error::UnsupportedKey("array"))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(Error::UnsupportedKey("struct"))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(Error::UnsupportedKey("enum"))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(Error::UnsupportedKey("map"))
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        Err(Error::UnsupportedKey("struct"))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(Error::UnsupportedKey("enum"))
    }
}

/// Rewrites every number of a JSON value as a 64-bit float, which is what Go holds after
/// decoding into `interface{}` (Helm values): Go then prints `12345678901234567890` as
/// `12345678901234567000`. Numbers that are not representable (cannot happen for
/// `serde_json::Value`) are left alone.
pub fn numbers_as_float64(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Number(n) => {
            if let Some(f) = n.as_f64()
                && let Some(as_float) = serde_json::Number::from_f64(f)
            {
                *n = as_float;
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(numbers_as_float64),
        serde_json::Value::Object(map) => map.values_mut().for_each(numbers_as_float64),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_like_go() {
        for (f, want) in [
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (1.5, "1.5"),
            (0.1, "0.1"),
            (1e20, "100000000000000000000"),
            (1e21, "1e+21"),
            (1.5e300, "1.5e+300"),
            (1e-6, "0.000001"),
            (1e-7, "1e-7"),
            (1.25e-10, "1.25e-10"),
            (-2.5e-7, "-2.5e-7"),
            (123456789.125, "123456789.125"),
            (12345678901234567890.0, "12345678901234567000"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
        ] {
            assert_eq!(format_f64(f).unwrap(), want, "{f:e}");
        }
        assert!(format_f64(f64::NAN).is_err());
        assert!(format_f64(f64::INFINITY).is_err());
        assert_eq!(format_f32(0.1).unwrap(), "0.1");
        assert_eq!(format_f32(1e22).unwrap(), "1e+22");
    }

    #[test]
    fn maps_sorted_flattened_structs_in_order() {
        #[derive(Serialize)]
        struct Flat {
            z: u8,
            a: u8,
            #[serde(flatten)]
            extra: std::collections::BTreeMap<String, u8>,
        }
        let extra = std::collections::BTreeMap::from([("m".to_string(), 3)]);
        assert_eq!(
            to_string(&Flat { z: 1, a: 2, extra }).unwrap(),
            r#"{"z":1,"a":2,"m":3}"#
        );
        let hash: std::collections::HashMap<&str, u8> =
            [("b", 1), ("a", 2), ("c", 3)].into_iter().collect();
        assert_eq!(to_string(&hash).unwrap(), r#"{"a":2,"b":1,"c":3}"#);
        let int_keys = std::collections::BTreeMap::from([(10, "x"), (9, "y")]);
        assert_eq!(to_string(&int_keys).unwrap(), r#"{"10":"x","9":"y"}"#);
        assert_eq!(to_string(&b"hi"[..].to_vec()).unwrap(), "[104,105]");
        assert!(to_string(&std::collections::BTreeMap::from([(true, 1)])).is_err());
    }

    #[test]
    fn strings_like_go() {
        let mut out = Vec::new();
        write_string(
            &mut out,
            "a\"b\\c\n\r\t\u{8}\u{c}\u{1}\u{1f}<>&\u{7f}é\u{2028}\u{2029}😀",
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u001f\\u003c\\u003e\\u0026\u{7f}é\\u2028\\u2029😀\""
        );
    }

    proptest::proptest! {
        #[test]
        fn strings_read_back_and_stay_html_safe(text in "\\PC*|[<>&\u{2028}\u{2029}\u{0}-\u{1f}\"\\\\a]*") {
            let json = to_string(&text).unwrap();
            let back: String = serde_json::from_str(&json).unwrap();
            proptest::prop_assert_eq!(&back, &text);
            let unsafe_chars = ['<', '>', '&', '\u{2028}', '\u{2029}'];
            proptest::prop_assert!(!json.contains(unsafe_chars), "unescaped in {}", json);
            proptest::prop_assert!(!json.bytes().any(|b| b < 0x20));
        }

        #[test]
        fn floats_read_back(bits in proptest::num::u64::ANY) {
            let f = f64::from_bits(bits);
            match format_f64(f) {
                Ok(text) => {
                    let back: f64 = text.parse().unwrap();
                    proptest::prop_assert_eq!(back.to_bits(), f.to_bits(), "{}", text);
                    let abs = f.abs();
                    let exp = text.contains('e');
                    proptest::prop_assert_eq!(exp, abs != 0.0 && !(1e-6..1e21).contains(&abs), "{}", text);
                }
                Err(_) => proptest::prop_assert!(!f.is_finite()),
            }
        }
    }
}
