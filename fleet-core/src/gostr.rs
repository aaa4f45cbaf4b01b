//! Go's `strconv.Quote`: how Go's `%q` and error messages (`improper constraint: "…"`,
//! `strconv.ParseUint: parsing "…"`) print a string.
//!
//! ```
//! assert_eq!(fleet_core::gostr::quote("a\"b\n"), r#""a\"b\n""#);
//! ```

/// A double-quoted Go string literal for `s` (`strconv.Quote`): `"` and `\` escaped, the
/// C escapes for the usual controls, `\x` for other ASCII controls and `\u`/`\U` for other
/// non-printable characters.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() || c == '\u{feff}' => {
                let n = c as u32;
                if n <= 0xffff {
                    out.push_str(&format!("\\u{n:04x}"));
                } else {
                    out.push_str(&format!("\\U{n:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn escapes_as_go_does() {
        assert_eq!(quote(""), r#""""#);
        assert_eq!(quote(">= 1.2"), r#"">= 1.2""#);
        assert_eq!(quote("a\\b\t\u{1}\u{7f}"), r#""a\\b\t\x01\x7f""#);
        assert_eq!(quote("\u{85}é"), "\"\\u0085é\"");
    }
}
