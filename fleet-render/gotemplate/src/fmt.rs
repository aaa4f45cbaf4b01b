//! Go's `fmt` and `strconv` printing as templates see it: `%v` of floats (shortest digits,
//! exponent form for a decimal exponent of 6 and more or below -4), `printf` verbs
//! with Go's error forms for mismatched arguments (`%!d(float64=1.5)`), and
//! `strconv.Quote`.

use crate::value::GoValue;

/// Shortest round-trip decimal digits of `f` (no sign) and its decimal exponent, so that
/// `f = 0.d1d2d3… × 10^exp`.
fn shortest_digits(f: f64) -> (String, i32) {
    // Rust's `{:e}` prints the shortest round-trip digits, like Go's strconv with -1.
    let s = format!("{:e}", f.abs());
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let exp: i32 = exp.parse().unwrap_or(0);
    (digits, exp + 1)
}

fn special(f: f64) -> Option<String> {
    if f.is_nan() {
        Some("NaN".into())
    } else if f.is_infinite() {
        Some(if f > 0.0 { "+Inf" } else { "-Inf" }.into())
    } else {
        None
    }
}

/// `strconv.FormatFloat(f, 'g', -1, 64)`, which is also what `%v` prints: `%e` form when the
/// exponent is below -4 or at least `eprec` (6 for `%v`, 21 for JSON's own rule elsewhere).
pub fn format_float_g(f: f64, eprec: i32) -> String {
    if let Some(s) = special(f) {
        return s;
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let (digits, dp) = shortest_digits(f);
    let neg = if f < 0.0 { "-" } else { "" };
    let exp = dp - 1;
    if exp < -4 || exp >= eprec {
        let (first, rest) = digits.split_at(1);
        let mut out = format!("{neg}{first}");
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        out.push_str(&exponent(exp));
        out
    } else if dp <= 0 {
        format!("{neg}0.{}{digits}", "0".repeat((-dp) as usize))
    } else if dp as usize >= digits.len() {
        format!("{neg}{digits}{}", "0".repeat(dp as usize - digits.len()))
    } else {
        let (int, frac) = digits.split_at(dp as usize);
        format!("{neg}{int}.{frac}")
    }
}

fn exponent(exp: i32) -> String {
    let sign = if exp < 0 { '-' } else { '+' };
    format!("e{sign}{:02}", exp.abs())
}

/// `%v` of a float64.
pub fn format_float_v(f: f64) -> String {
    format_float_g(f, 6)
}

/// `%e` with a precision, in Go's exponent form (`1.500000e+00`).
pub fn format_float_e(f: f64, precision: usize, upper: bool) -> String {
    if let Some(s) = special(f) {
        return s;
    }
    let s = format!("{:.*e}", precision, f);
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let out = format!("{mantissa}{}", exponent(exp));
    if upper { out.to_uppercase() } else { out }
}

/// JSON's float form (`encoding/json`): like `%v` but exponent form only below 1e-6 or from
/// 1e21, and exponents without a leading zero (`1e-7`).
pub fn format_float_json(f: f64) -> String {
    if f == 0.0 {
        return "0".into();
    }
    let abs = f.abs();
    if (1e-6..1e21).contains(&abs) {
        format_float_g(f, 21)
    } else {
        let s = format_float_g(f, -100);
        // e-07 → e-7, e+21 → e+21
        match s.split_once('e') {
            Some((m, e)) => {
                let (sign, digits) = e.split_at(1);
                format!("{m}e{sign}{}", digits.trim_start_matches('0'))
            }
            None => s,
        }
    }
}

pub use fleet_core::gostr::quote;

fn bad_verb(verb: char, arg: &GoValue) -> String {
    match arg {
        GoValue::Nil => format!("%!{verb}(<nil>)"),
        other => format!("%!{verb}({}={})", other.type_name(), other.sprint()),
    }
}

/// Go's hexadecimal float (`%x` of a float64): `0x1.8p+00`.
fn hex_float(f: f64, upper: bool) -> String {
    if let Some(s) = special(f) {
        return s;
    }
    let neg = if f.is_sign_negative() { "-" } else { "" };
    if f == 0.0 {
        return format!("{neg}0x0p+00");
    }
    let bits = f.abs().to_bits();
    let mut exp = ((bits >> 52) & 0x7ff) as i32;
    let mut mant = bits & ((1u64 << 52) - 1);
    if exp == 0 {
        // Subnormal: normalise.
        exp = -1022;
        while mant & (1u64 << 52) == 0 {
            mant <<= 1;
            exp -= 1;
        }
        mant &= (1u64 << 52) - 1;
    } else {
        exp -= 1023;
    }
    let mut frac = format!("{mant:013x}");
    while frac.ends_with('0') {
        frac.pop();
    }
    let body = if frac.is_empty() {
        format!("0x1p{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
    } else {
        format!(
            "0x1.{frac}p{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.abs()
        )
    };
    let out = format!("{neg}{body}");
    if upper { out.to_uppercase() } else { out }
}

struct Spec {
    minus: bool,
    plus: bool,
    zero: bool,
    space: bool,
    sharp: bool,
    width: Option<usize>,
    precision: Option<usize>,
}

fn pad(text: String, spec: &Spec, numeric: bool) -> String {
    let Some(w) = spec.width.map(|w| w.min(1 << 16)) else {
        return text;
    };
    let len = text.chars().count();
    if len >= w {
        return text;
    }
    let fill = w - len;
    if spec.minus {
        format!("{text}{}", " ".repeat(fill))
    } else if spec.zero && numeric {
        let (sign, digits) = match text.strip_prefix(['-', '+']) {
            Some(rest) => (&text[..1], rest),
            None => ("", text.as_str()),
        };
        format!("{sign}{}{digits}", "0".repeat(fill))
    } else {
        format!("{}{text}", " ".repeat(fill))
    }
}

fn sign(text: String, spec: &Spec) -> String {
    if text.starts_with('-') {
        text
    } else if spec.plus {
        format!("+{text}")
    } else if spec.space {
        format!(" {text}")
    } else {
        text
    }
}

fn integer(arg: &GoValue) -> Option<i64> {
    match arg {
        GoValue::Int(i) | GoValue::Int64(i) => Some(*i),
        _ => None,
    }
}

fn format_one(verb: char, arg: &GoValue, spec: &Spec) -> String {
    match verb {
        'v' => {
            if let (GoValue::Float(f), Some(p)) = (arg, spec.precision) {
                return pad(sign(format_float_prec_g(*f, p), spec), spec, true);
            }
            let text = if spec.sharp {
                go_syntax(arg)
            } else {
                arg.sprint()
            };
            let numeric = matches!(arg, GoValue::Int(_) | GoValue::Int64(_) | GoValue::Float(_));
            let text = if numeric { sign(text, spec) } else { text };
            pad(text, spec, numeric)
        }
        's' => match arg {
            GoValue::Str(s) => {
                let t: String = match spec.precision {
                    Some(p) => s.chars().take(p).collect(),
                    None => s.to_string(),
                };
                pad(t, spec, false)
            }
            GoValue::List(_) | GoValue::Map(_) => pad(
                container_with(arg, &|x| format_one('s', x, &plain())),
                spec,
                false,
            ),
            GoValue::Object(o) => pad(o.print(), spec, false),
            other => bad_verb('s', other),
        },
        'q' => match arg {
            GoValue::Str(s) => pad(quote(s), spec, false),
            GoValue::Int(i) | GoValue::Int64(i) => {
                let c = u32::try_from(*i)
                    .ok()
                    .and_then(char::from_u32)
                    .unwrap_or('\u{fffd}');
                pad(format!("'{c}'"), spec, false)
            }
            GoValue::List(_) | GoValue::Map(_) => pad(
                container_with(arg, &|x| format_one('q', x, &plain())),
                spec,
                false,
            ),
            other => bad_verb('q', other),
        },
        't' => match arg {
            GoValue::Bool(b) => pad(b.to_string(), spec, false),
            other => bad_verb('t', other),
        },
        'd' => match integer(arg) {
            Some(i) => pad(sign(i.to_string(), spec), spec, true),
            None => match arg {
                GoValue::List(_) | GoValue::Map(_) => {
                    container_with(arg, &|x| format_one('d', x, &plain()))
                }
                other => bad_verb('d', other),
            },
        },
        'b' | 'o' | 'O' | 'x' | 'X' | 'c' | 'U' => match (integer(arg), arg) {
            (Some(i), _) => {
                let body = match verb {
                    'b' => format!("{:b}", i.unsigned_abs()),
                    'o' => format!("{:o}", i.unsigned_abs()),
                    'O' => format!("0o{:o}", i.unsigned_abs()),
                    'x' => format!("{:x}", i.unsigned_abs()),
                    'X' => format!("{:X}", i.unsigned_abs()),
                    'c' => {
                        return u32::try_from(i)
                            .ok()
                            .and_then(char::from_u32)
                            .unwrap_or('\u{fffd}')
                            .to_string();
                    }
                    _ => format!("U+{:04X}", i),
                };
                let prefixed = if spec.sharp {
                    match verb {
                        'x' => format!("0x{body}"),
                        'X' => format!("0X{body}"),
                        'o' => format!("0{body}"),
                        _ => body,
                    }
                } else {
                    body
                };
                let t = if i < 0 {
                    format!("-{prefixed}")
                } else {
                    prefixed
                };
                pad(sign(t, spec), spec, true)
            }
            (None, GoValue::Float(f)) if matches!(verb, 'x' | 'X') => {
                pad(sign(hex_float(*f, verb == 'X'), spec), spec, true)
            }
            (None, GoValue::Str(s)) if matches!(verb, 'x' | 'X') => {
                let h = hex::encode(s.as_bytes());
                pad(if verb == 'X' { h.to_uppercase() } else { h }, spec, false)
            }
            (None, other) => bad_verb(verb, other),
        },
        'e' | 'E' | 'f' | 'F' | 'g' | 'G' => {
            let f = match arg {
                GoValue::Float(f) => *f,
                other => return bad_verb(verb, other),
            };
            let text = match verb {
                'e' | 'E' => format_float_e(f, spec.precision.unwrap_or(6), verb == 'E'),
                'f' | 'F' => match special(f) {
                    Some(s) => s,
                    None => format!("{:.*}", spec.precision.unwrap_or(6), f),
                },
                _ => match spec.precision {
                    Some(p) => format_float_prec_g(f, p),
                    None => format_float_g(f, 21),
                },
            };
            pad(sign(text, spec), spec, true)
        }
        'T' => pad(arg.type_name(), spec, false),
        other => bad_verb(other, arg),
    }
}

fn plain() -> Spec {
    Spec {
        minus: false,
        plus: false,
        zero: false,
        space: false,
        sharp: false,
        width: None,
        precision: None,
    }
}

fn container_with(arg: &GoValue, each: &dyn Fn(&GoValue) -> String) -> String {
    match arg {
        GoValue::List(l) => format!(
            "[{}]",
            l.items
                .borrow()
                .iter()
                .map(each)
                .collect::<Vec<_>>()
                .join(" ")
        ),
        GoValue::Map(m) => format!(
            "map[{}]",
            m.borrow()
                .iter()
                .map(|(k, v)| format!("{}:{}", each(&GoValue::str(k)), each(v)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        other => each(other),
    }
}

/// `%g` with a precision (significant digits).
fn format_float_prec_g(f: f64, p: usize) -> String {
    if let Some(s) = special(f) {
        return s;
    }
    let p = p.max(1);
    if f == 0.0 {
        return "0".into();
    }
    let e = format!("{:.*e}", p - 1, f);
    let (mantissa, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= p as i32 {
        let m = trim_zeros(mantissa);
        format!("{m}{}", exponent(exp))
    } else {
        let decimals = (p as i32 - 1 - exp).max(0) as usize;
        trim_zeros(&format!("{:.*}", decimals, f)).to_string()
    }
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// `%#v`: Go syntax.
fn go_syntax(arg: &GoValue) -> String {
    match arg {
        GoValue::Nil => "<nil>".into(),
        GoValue::Str(s) => quote(s),
        GoValue::Float(f) => format_float_g(*f, 21),
        GoValue::List(l) => format!(
            "{}{{{}}}",
            arg.type_name(),
            l.items
                .borrow()
                .iter()
                .map(go_syntax)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        GoValue::Map(m) => format!(
            "map[string]interface {{}}{{{}}}",
            m.borrow()
                .iter()
                .map(|(k, v)| format!("{}:{}", quote(k), go_syntax(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.sprint(),
    }
}

/// `fmt.Sprintf`.
pub fn sprintf(format: &str, args: &[GoValue]) -> String {
    let mut out = String::new();
    let mut chars = format.chars().peekable();
    let mut next = 0;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = plain();
        while let Some(&f) = chars.peek() {
            match f {
                '-' => spec.minus = true,
                '0' => spec.zero = true,
                '+' => spec.plus = true,
                ' ' => spec.space = true,
                '#' => spec.sharp = true,
                _ => break,
            }
            chars.next();
        }
        let number = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
                      next: &mut usize|
         -> Option<usize> {
            if chars.peek() == Some(&'*') {
                chars.next();
                let v = args.get(*next).and_then(integer);
                *next += 1;
                return v.and_then(|v| usize::try_from(v).ok());
            }
            let mut digits = String::new();
            while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                digits.push(d);
                chars.next();
            }
            digits.parse().ok()
        };
        spec.width = number(&mut chars, &mut next);
        if chars.peek() == Some(&'.') {
            chars.next();
            // Bounded like widths: a huge precision must not allocate without limit.
            spec.precision = Some(number(&mut chars, &mut next).unwrap_or(0).min(1 << 16));
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(next) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        next += 1;
        out.push_str(&format_one(verb, arg, &spec));
    }
    if next < args.len() {
        out.push_str("%!(EXTRA ");
        out.push_str(
            &args[next..]
                .iter()
                .map(|a| match a {
                    GoValue::Nil => "<nil>".to_string(),
                    a => format!("{}={}", a.type_name(), a.sprint()),
                })
                .collect::<Vec<_>>()
                .join(", "),
        );
        out.push(')');
    }
    out
}

/// `fmt.Sprint`: operands separated by a space when neither side is a string.
pub fn sprint(args: &[GoValue]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        let is_str = |v: &GoValue| matches!(v, GoValue::Str(_));
        if i > 0 && !is_str(a) && !is_str(&args[i - 1]) {
            out.push(' ');
        }
        out.push_str(&a.sprint());
    }
    out
}

/// `fmt.Sprintln`: operands always separated by spaces, newline appended.
pub fn sprintln(args: &[GoValue]) -> String {
    let mut out = args
        .iter()
        .map(GoValue::sprint)
        .collect::<Vec<_>>()
        .join(" ");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_go() {
        assert_eq!(format_float_v(1_000_000.0), "1e+06");
        assert_eq!(format_float_v(123_456.0), "123456");
        assert_eq!(format_float_v(1_234_567.0), "1.234567e+06");
        assert_eq!(format_float_v(0.0001), "0.0001");
        assert_eq!(format_float_v(0.00001), "1e-05");
        assert_eq!(format_float_v(1.5), "1.5");
        assert_eq!(format_float_v(-3.0), "-3");
        assert_eq!(format_float_v(12_345_678_901.0), "1.2345678901e+10");
        assert_eq!(format_float_json(1_000_000.0), "1000000");
        assert_eq!(format_float_json(1e21), "1e+21");
        assert_eq!(format_float_json(1e-7), "1e-7");
    }

    #[test]
    fn printf_verbs_and_mismatches() {
        let f = GoValue::Float(1.5);
        assert_eq!(sprintf("%d", std::slice::from_ref(&f)), "%!d(float64=1.5)");
        assert_eq!(sprintf("%s", &[GoValue::Int(5)]), "%!s(int=5)");
        assert_eq!(sprintf("%x", &[GoValue::Float(4096.0)]), "0x1p+12");
        assert_eq!(sprintf("%x", &[GoValue::Float(1.0)]), "0x1p+00");
        assert_eq!(sprintf("%v", &[GoValue::Nil]), "<nil>");
        assert_eq!(sprintf("%s", &[GoValue::Nil]), "%!s(<nil>)");
        assert_eq!(sprintf("%q", &[GoValue::str("a\"b")]), "\"a\\\"b\"");
        assert_eq!(sprintf("%T", std::slice::from_ref(&f)), "float64");
        assert_eq!(sprintf("%d %d", &[GoValue::Int(1)]), "1 %!d(MISSING)");
        assert_eq!(
            sprintf("%d", &[GoValue::Int(1), GoValue::str("x")]),
            "1%!(EXTRA string=x)"
        );
        assert_eq!(
            sprintf("%05.1f|%-4d|", &[f, GoValue::Int(7)]),
            "001.5|7   |"
        );
        assert_eq!(sprintf("%.2e", &[GoValue::Float(1234.5)]), "1.23e+03");
    }

    #[test]
    fn sprint_spaces_only_between_non_strings() {
        let args = [
            GoValue::Int(1),
            GoValue::Int(2),
            GoValue::str("a"),
            GoValue::Int(3),
        ];
        assert_eq!(sprint(&args), "1 2a3");
    }
}
