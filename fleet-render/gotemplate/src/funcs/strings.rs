//! sprig's string functions. Lengths and offsets count bytes, as Go's do; case mapping is
//! Go's simple one-to-one mapping (`upper "ß"` stays `ß`).

use sha2::Digest as _;

use super::case::{
    delimited, initials, lower_char, pascal, shuffle, swapcase, title, untitle, upper_char,
};
use super::encoding::{
    adler32, base32_decode, base32_encode, base64_decode, base64_encode, path_base, path_clean,
    path_dir, path_ext,
};
use super::{MAX_STRING, Pure, R, int_param, str_param, strslice, strval, want};
use crate::value::GoValue;

pub(super) fn register(t: &mut Vec<(&'static str, Pure)>) {
    t.extend([
        ("hello", (|_| Ok(GoValue::from("Hello!"))) as Pure),
        ("abbrev", abbrev),
        ("abbrevboth", abbrevboth),
        ("trunc", trunc),
        ("trim", |a| {
            s1(a, "trim", |s| s.trim_matches(is_space).to_string())
        }),
        ("upper", |a| {
            s1(a, "upper", |s| s.chars().map(upper_char).collect())
        }),
        ("lower", |a| {
            s1(a, "lower", |s| s.chars().map(lower_char).collect())
        }),
        ("title", |a| s1(a, "title", title)),
        ("untitle", |a| s1(a, "untitle", untitle)),
        ("substr", substr),
        ("repeat", repeat),
        ("trimall", trim_all),
        ("trimAll", trim_all),
        ("trimSuffix", |a| {
            s2(a, "trimSuffix", |suffix, s| {
                s.strip_suffix(suffix).unwrap_or(s).to_string()
            })
        }),
        ("trimPrefix", |a| {
            s2(a, "trimPrefix", |prefix, s| {
                s.strip_prefix(prefix).unwrap_or(s).to_string()
            })
        }),
        ("nospace", |a| {
            s1(a, "nospace", |s| {
                s.chars().filter(|c| !c.is_whitespace()).collect()
            })
        }),
        ("initials", |a| s1(a, "initials", initials)),
        ("swapcase", |a| s1(a, "swapcase", swapcase)),
        ("shuffle", |a| s1(a, "shuffle", shuffle)),
        ("snakecase", |a| s1(a, "snakecase", |s| delimited(s, '_'))),
        ("kebabcase", |a| s1(a, "kebabcase", |s| delimited(s, '-'))),
        ("camelcase", |a| s1(a, "camelcase", pascal)),
        ("wrap", wrap),
        ("wrapWith", wrap_with),
        ("contains", |a| b2(a, "contains", |sub, s| s.contains(sub))),
        ("hasPrefix", |a| b2(a, "hasPrefix", |p, s| s.starts_with(p))),
        ("hasSuffix", |a| b2(a, "hasSuffix", |p, s| s.ends_with(p))),
        ("quote", |a| {
            Ok(GoValue::from(
                a.iter()
                    .filter(|v| !v.is_nil())
                    .map(|v| crate::fmt::quote(&strval(v)))
                    .collect::<Vec<_>>()
                    .join(" "),
            ))
        }),
        ("squote", |a| {
            Ok(GoValue::from(
                a.iter()
                    .filter(|v| !v.is_nil())
                    .map(|v| format!("'{}'", v.sprint()))
                    .collect::<Vec<_>>()
                    .join(" "),
            ))
        }),
        ("cat", |a| {
            Ok(GoValue::from(
                a.iter()
                    .filter(|v| !v.is_nil())
                    .map(GoValue::sprint)
                    .collect::<Vec<_>>()
                    .join(" "),
            ))
        }),
        ("indent", |a| {
            want("indent", a, 2)?;
            Ok(GoValue::from(indent(int_param(a, 0)?, &str_param(a, 1)?)?))
        }),
        ("nindent", |a| {
            want("nindent", a, 2)?;
            Ok(GoValue::from(format!(
                "\n{}",
                indent(int_param(a, 0)?, &str_param(a, 1)?)?
            )))
        }),
        ("replace", |a| {
            want("replace", a, 3)?;
            let (old, new, src) = (str_param(a, 0)?, str_param(a, 1)?, str_param(a, 2)?);
            Ok(GoValue::from(replace_all(&src, &old, &new)?))
        }),
        ("plural", |a| {
            want("plural", a, 3)?;
            let n = int_param(a, 2)?;
            Ok(GoValue::from(if n == 1 {
                str_param(a, 0)?
            } else {
                str_param(a, 1)?
            }))
        }),
        ("sha1sum", |a| {
            s1(a, "sha1sum", |s| {
                hex::encode(sha1::Sha1::digest(s.as_bytes()))
            })
        }),
        ("sha256sum", |a| {
            s1(a, "sha256sum", |s| {
                hex::encode(sha2::Sha256::digest(s.as_bytes()))
            })
        }),
        ("sha512sum", |a| {
            s1(a, "sha512sum", |s| {
                hex::encode(sha2::Sha512::digest(s.as_bytes()))
            })
        }),
        ("adler32sum", |a| {
            s1(a, "adler32sum", |s| adler32(s.as_bytes()).to_string())
        }),
        ("toString", |a| {
            want("toString", a, 1)?;
            Ok(GoValue::from(strval(&a[0])))
        }),
        ("split", |a| {
            want("split", a, 2)?;
            let (sep, s) = (str_param(a, 0)?, str_param(a, 1)?);
            Ok(indexed_map(go_split(&s, &sep, -1)))
        }),
        ("splitn", |a| {
            want("splitn", a, 3)?;
            let (sep, n, s) = (str_param(a, 0)?, int_param(a, 1)?, str_param(a, 2)?);
            Ok(indexed_map(go_split(&s, &sep, n)))
        }),
        ("splitList", |a| {
            want("splitList", a, 2)?;
            let (sep, s) = (str_param(a, 0)?, str_param(a, 1)?);
            Ok(GoValue::string_list(go_split(&s, &sep, -1)))
        }),
        ("toStrings", |a| {
            want("toStrings", a, 1)?;
            Ok(GoValue::string_list(strslice(&a[0])))
        }),
        ("join", |a| {
            want("join", a, 2)?;
            Ok(GoValue::from(strslice(&a[1]).join(&str_param(a, 0)?)))
        }),
        ("sortAlpha", |a| {
            want("sortAlpha", a, 1)?;
            let mut items = strslice(&a[0]);
            items.sort();
            Ok(GoValue::string_list(items))
        }),
        ("b64enc", |a| {
            s1(a, "b64enc", |s| base64_encode(s.as_bytes()))
        }),
        ("b64dec", |a| {
            s1(a, "b64dec", |s| match base64_decode(s) {
                Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                Err(e) => e,
            })
        }),
        ("b32enc", |a| {
            s1(a, "b32enc", |s| base32_encode(s.as_bytes()))
        }),
        ("b32dec", |a| {
            s1(a, "b32dec", |s| match base32_decode(s) {
                Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                Err(e) => e,
            })
        }),
        ("base", |a| s1(a, "base", path_base)),
        ("dir", |a| s1(a, "dir", path_dir)),
        ("clean", |a| s1(a, "clean", path_clean)),
        ("ext", |a| s1(a, "ext", path_ext)),
        ("isAbs", |a| {
            want("isAbs", a, 1)?;
            Ok(GoValue::Bool(str_param(a, 0)?.starts_with('/')))
        }),
        ("osBase", |a| s1(a, "osBase", path_base)),
        ("osDir", |a| s1(a, "osDir", path_dir)),
        ("osClean", |a| s1(a, "osClean", path_clean)),
        ("osExt", |a| s1(a, "osExt", path_ext)),
        ("osIsAbs", |a| {
            want("osIsAbs", a, 1)?;
            Ok(GoValue::Bool(str_param(a, 0)?.starts_with('/')))
        }),
    ]);
}

fn is_space(c: char) -> bool {
    c.is_whitespace()
}

fn s1(a: &[GoValue], name: &str, f: impl Fn(&str) -> String) -> R {
    want(name, a, 1)?;
    Ok(GoValue::from(f(&str_param(a, 0)?)))
}

fn s2(a: &[GoValue], name: &str, f: impl Fn(&str, &str) -> String) -> R {
    want(name, a, 2)?;
    Ok(GoValue::from(f(&str_param(a, 0)?, &str_param(a, 1)?)))
}

fn b2(a: &[GoValue], name: &str, f: impl Fn(&str, &str) -> bool) -> R {
    want(name, a, 2)?;
    Ok(GoValue::Bool(f(&str_param(a, 0)?, &str_param(a, 1)?)))
}

fn wrap_text(s: &str, width: i64, newline: &str) -> String {
    let width = usize::try_from(width.max(1)).unwrap_or(1);
    let mut out = Vec::new();
    for line in s.split('\n') {
        let mut cur = String::new();
        for word in line.split(' ').filter(|w| !w.is_empty()) {
            if !cur.is_empty() && cur.len() + 1 + word.len() > width {
                out.push(std::mem::take(&mut cur));
            }
            if !cur.is_empty() {
                cur.push(' ');
            }
            cur.push_str(word);
        }
        out.push(cur);
    }
    out.join(newline)
}

fn wrap(a: &[GoValue]) -> R {
    want("wrap", a, 2)?;
    Ok(GoValue::from(wrap_text(
        &str_param(a, 1)?,
        int_param(a, 0)?,
        "\n",
    )))
}

fn wrap_with(a: &[GoValue]) -> R {
    want("wrapWith", a, 3)?;
    Ok(GoValue::from(wrap_text(
        &str_param(a, 2)?,
        int_param(a, 0)?,
        &str_param(a, 1)?,
    )))
}

/// A byte range of `s` as text (Go slices bytes; a split character becomes U+FFFD).
fn bytes_text(s: &str, from: usize, to: usize) -> String {
    String::from_utf8_lossy(&s.as_bytes()[from..to]).into_owned()
}

fn abbrev(a: &[GoValue]) -> R {
    want("abbrev", a, 2)?;
    let (width, s) = (int_param(a, 0)?, str_param(a, 1)?);
    if width < 4 || s.len() as i64 <= width {
        return Ok(GoValue::from(s));
    }
    let keep = usize::try_from(width - 3).unwrap_or(0).min(s.len());
    Ok(GoValue::from(format!("{}...", bytes_text(&s, 0, keep))))
}

fn abbrevboth(a: &[GoValue]) -> R {
    want("abbrevboth", a, 3)?;
    let (left, right, s) = (int_param(a, 0)?, int_param(a, 1)?, str_param(a, 2)?);
    let len = s.len() as i64;
    if right < 4 || len <= right {
        return Ok(GoValue::from(s));
    }
    let mut offset = left.clamp(0, len);
    if len - offset < right - 3 {
        offset = len - (right - 3);
    }
    if offset <= 4 {
        let keep = usize::try_from(right - 3).unwrap_or(0).min(s.len());
        return Ok(GoValue::from(format!("{}...", bytes_text(&s, 0, keep))));
    }
    let rest = bytes_text(
        &s,
        usize::try_from(offset).unwrap_or(0).min(s.len()),
        s.len(),
    );
    let rest = rest.as_str();
    if (offset + right - 3) < len {
        let inner = usize::try_from(right - 6).unwrap_or(0);
        let body = if rest.len() > inner {
            format!("{}...", bytes_text(rest, 0, inner))
        } else {
            rest.to_string()
        };
        return Ok(GoValue::from(format!("...{body}")));
    }
    let tail = usize::try_from(len - (right - 3)).unwrap_or(0).min(s.len());
    Ok(GoValue::from(format!(
        "...{}",
        bytes_text(&s, tail, s.len())
    )))
}

fn trunc(a: &[GoValue]) -> R {
    want("trunc", a, 2)?;
    let (c, s) = (int_param(a, 0)?, str_param(a, 1)?);
    let len = s.len() as i64;
    Ok(GoValue::from(if c < 0 && len + c > 0 {
        bytes_text(&s, (len + c) as usize, s.len())
    } else if c >= 0 && len > c {
        bytes_text(&s, 0, c as usize)
    } else {
        s
    }))
}

fn substr(a: &[GoValue]) -> R {
    want("substr", a, 3)?;
    let (start, end, s) = (int_param(a, 0)?, int_param(a, 1)?, str_param(a, 2)?);
    let len = s.len() as i64;
    let clamp = |i: i64| i.clamp(0, len) as usize;
    Ok(GoValue::from(if start < 0 {
        bytes_text(&s, 0, clamp(end))
    } else if end < 0 || end > len {
        bytes_text(&s, clamp(start), s.len())
    } else if start > end {
        return Err(format!("slice bounds out of range [{start}:{end}]"));
    } else {
        bytes_text(&s, clamp(start), clamp(end))
    }))
}

fn repeat(a: &[GoValue]) -> R {
    want("repeat", a, 2)?;
    let (n, s) = (int_param(a, 0)?, str_param(a, 1)?);
    let n = usize::try_from(n).map_err(|_| "strings: negative Repeat count".to_string())?;
    if n.saturating_mul(s.len()) > MAX_STRING {
        return Err(format!("result longer than {MAX_STRING} bytes"));
    }
    Ok(GoValue::from(s.repeat(n)))
}

fn trim_all(a: &[GoValue]) -> R {
    want("trimAll", a, 2)?;
    let (cut, s) = (str_param(a, 0)?, str_param(a, 1)?);
    let cut: Vec<char> = cut.chars().collect();
    Ok(GoValue::from(
        s.trim_matches(|c| cut.contains(&c)).to_string(),
    ))
}

fn indent(n: i64, text: &str) -> Result<String, String> {
    let width = usize::try_from(n).unwrap_or(0);
    let lines = text.matches('\n').count() + 1;
    if width.saturating_mul(lines).saturating_add(text.len()) > MAX_STRING {
        return Err(format!("result longer than {MAX_STRING} bytes"));
    }
    let pad = " ".repeat(width);
    Ok(format!("{pad}{}", text.replace('\n', &format!("\n{pad}"))))
}

/// `strings.Replace(s, old, new, -1)`: an empty `old` matches between every character.
fn replace_all(s: &str, old: &str, new: &str) -> Result<String, String> {
    if old.is_empty() {
        let n = s.chars().count() + 1;
        if n.saturating_mul(new.len()).saturating_add(s.len()) > MAX_STRING {
            return Err(format!("result longer than {MAX_STRING} bytes"));
        }
        let mut out = String::from(new);
        for c in s.chars() {
            out.push(c);
            out.push_str(new);
        }
        return Ok(out);
    }
    let n = s.matches(old).count();
    if n.saturating_mul(new.len()).saturating_add(s.len()) > MAX_STRING {
        return Err(format!("result longer than {MAX_STRING} bytes"));
    }
    Ok(s.replace(old, new))
}

/// `strings.SplitN`: `n < 0` all, `n == 0` none; an empty separator splits into characters.
fn go_split(s: &str, sep: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    let mut parts: Vec<String> = if sep.is_empty() {
        s.chars().map(String::from).collect()
    } else {
        s.split(sep).map(String::from).collect()
    };
    if n > 0 {
        let n = n as usize;
        if parts.len() > n {
            let rest = parts[n - 1..].join(sep);
            parts.truncate(n - 1);
            parts.push(rest);
        }
    }
    parts
}

fn indexed_map(parts: Vec<String>) -> GoValue {
    GoValue::map(
        parts
            .into_iter()
            .enumerate()
            .map(|(i, p)| (format!("_{i}"), GoValue::from(p)))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_string_semantics() {
        assert_eq!(
            "straße".chars().map(upper_char).collect::<String>(),
            "STRAßE"
        );
        assert_eq!(title("don't stop"), "Don'T Stop");
        for (input, snake) in [
            ("HTTPServer", "http_server"),
            ("_camelCase", "_camel_case"),
            ("NoHTTPS", "no_https"),
            ("Wi_thF", "wi_th_f"),
            ("_AnotherTES_TCaseP", "_another_tes_t_case_p"),
            ("HELLO____WORLD", "hello____world"),
            ("http2xx", "http_2xx"),
            ("HTTP2XX", "http2_xx"),
            ("HTTP20xOK", "http_20x_ok"),
            ("HTTP-20xStatus", "http_20x_status"),
            ("Duration2m3s", "duration_2m3s"),
            ("Bld4Floor3rd", "bld4_floor_3rd"),
            (" _-_ ", "_____"),
            ("a1b2c3d", "a_1b2c3d"),
            ("A//B%%2c", "a//b%%2c"),
            ("HTTP状态码404/502Error", "http_状态码404/502_error"),
            ("  sentence case  ", "__sentence_case__"),
            (
                "FROM CamelCase to snake/kebab-case",
                "from_camel_case_to_snake/kebab_case",
            ),
            ("abc_123_def", "abc_123_def"),
        ] {
            assert_eq!(delimited(input, '_'), snake, "{input}");
            assert_eq!(delimited(input, '-'), snake.replace('_', "-"), "{input}");
        }
        for (input, camel) in [
            ("http_server", "HttpServer"),
            ("_complex__case_", "_Complex_Case_"),
            (" complex -case ", " Complex Case "),
            ("GOLANG_IS_GREAT", "GOLANGISGREAT"),
            ("a", "A"),
            (
                "FROM CamelCase to snake/kebab-case",
                "FROMCamelCaseToSnake/kebabCase",
            ),
            ("", ""),
        ] {
            assert_eq!(pascal(input), camel, "{input}");
        }
        assert_eq!(go_split("a,b,c", ",", 2), vec!["a", "b,c"]);
        assert_eq!(path_ext("dir/file.tar.gz"), ".gz");
        assert_eq!(path_base("a/b/"), "b");
        assert_eq!(path_dir("a/b/c"), "a/b");
        assert_eq!(adler32(b"Wikipedia"), 300_286_872);
        assert_eq!(base64_decode("aGk=").as_deref(), Ok(&b"hi"[..]));
        assert_eq!(
            base64_decode("a$b").err().as_deref(),
            Some("illegal base64 data at input byte 1")
        );
        assert_eq!(base32_encode(b"hi"), "NBUQ====");
        assert_eq!(base32_decode("NBUQ====").as_deref(), Ok(&b"hi"[..]));
    }

    #[test]
    fn abbreviations_as_sprig_documents_and_no_panic_on_multibyte() {
        let both = abbrevboth(&[
            GoValue::Int(5),
            GoValue::Int(10),
            GoValue::str("1234 5678 9123"),
        ]);
        assert_eq!(both.map(|v| v.sprint()).as_deref(), Ok("...5678..."));
        let short = abbrev(&[GoValue::Int(5), GoValue::str("hello world")]);
        assert_eq!(short.map(|v| v.sprint()).as_deref(), Ok("he..."));
        for width in 0..12 {
            for left in 0..12 {
                let s = GoValue::str("ßßßßßßßßßßßß");
                assert!(abbrevboth(&[GoValue::Int(left), GoValue::Int(width), s.clone()]).is_ok());
                assert!(abbrev(&[GoValue::Int(width), s.clone()]).is_ok());
                assert!(trunc(&[GoValue::Int(width - 6), s.clone()]).is_ok());
                // start > end is Go's slice-bounds failure: an error, not a panic.
                let sub = substr(&[GoValue::Int(left - 3), GoValue::Int(width), s]);
                assert_eq!(sub.is_err(), left - 3 > width && left >= 3);
            }
        }
    }

    #[test]
    fn trunc_and_substr_count_bytes() {
        let t = |c, s: &str| trunc(&[GoValue::Int(c), GoValue::str(s)]).map(|v| v.sprint());
        assert_eq!(t(3, "abcdef").as_deref(), Ok("abc"));
        assert_eq!(t(-2, "abcdef").as_deref(), Ok("ef"));
        assert_eq!(t(10, "ab").as_deref(), Ok("ab"));
        let sub = substr(&[GoValue::Int(1), GoValue::Int(3), GoValue::str("abcdef")]);
        assert_eq!(sub.map(|v| v.sprint()).as_deref(), Ok("bc"));
        assert!(trunc(&[GoValue::Float(3.0), GoValue::str("x")]).is_err());
    }
}
