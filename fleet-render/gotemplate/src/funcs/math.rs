//! sprig's arithmetic: the integer functions convert with spf13/cast (`cast.ToInt64`, which
//! truncates floats and reads strings with `strconv.ParseInt(s, 0, 0)`) and return `int64`;
//! the `f` functions compute in decimal as shopspring/decimal does and return `float64`.

use super::{Pure, R, int_param, want, want_at_least};
use crate::value::GoValue;

pub(super) fn register(t: &mut Vec<(&'static str, Pure)>) {
    t.extend([
        (
            "add1",
            (|a: &[GoValue]| {
                want("add1", a, 1)?;
                Ok(GoValue::Int64(to_int64(&a[0]).wrapping_add(1)))
            }) as Pure,
        ),
        ("add", |a| {
            Ok(GoValue::Int64(
                a.iter().map(to_int64).fold(0, i64::wrapping_add),
            ))
        }),
        ("sub", |a| {
            want("sub", a, 2)?;
            Ok(GoValue::Int64(
                to_int64(&a[0]).wrapping_sub(to_int64(&a[1])),
            ))
        }),
        ("mul", |a| {
            want_at_least("mul", a, 1)?;
            Ok(GoValue::Int64(
                a.iter().map(to_int64).fold(1, i64::wrapping_mul),
            ))
        }),
        ("div", |a| {
            want("div", a, 2)?;
            let (x, y) = (to_int64(&a[0]), to_int64(&a[1]));
            if y == 0 {
                return Err("runtime error: integer divide by zero".into());
            }
            Ok(GoValue::Int64(x.wrapping_div(y)))
        }),
        ("mod", |a| {
            want("mod", a, 2)?;
            let (x, y) = (to_int64(&a[0]), to_int64(&a[1]));
            if y == 0 {
                return Err("runtime error: integer divide by zero".into());
            }
            Ok(GoValue::Int64(x.wrapping_rem(y)))
        }),
        ("max", |a| extreme("max", a, true)),
        ("biggest", |a| extreme("biggest", a, true)),
        ("min", |a| extreme("min", a, false)),
        ("add1f", |a| {
            want("add1f", a, 1)?;
            Ok(GoValue::Float(dec_op(to_float64(&a[0]), 1.0, Op::Add)))
        }),
        ("addf", |a| Ok(GoValue::Float(fold_f(a, Op::Add)))),
        ("subf", |a| {
            want_at_least("subf", a, 1)?;
            Ok(GoValue::Float(fold_f(a, Op::Sub)))
        }),
        ("mulf", |a| {
            want_at_least("mulf", a, 1)?;
            Ok(GoValue::Float(fold_f(a, Op::Mul)))
        }),
        ("divf", |a| {
            want_at_least("divf", a, 1)?;
            let mut acc = to_float64(&a[0]);
            for v in &a[1..] {
                let d = to_float64(v);
                if d == 0.0 {
                    return Err("decimal division by 0".into());
                }
                acc = round_places(acc / d, 16);
            }
            Ok(GoValue::Float(acc))
        }),
        ("maxf", |a| {
            want_at_least("maxf", a, 1)?;
            Ok(GoValue::Float(
                a.iter().map(to_float64).fold(f64::NEG_INFINITY, f64::max),
            ))
        }),
        ("minf", |a| {
            want_at_least("minf", a, 1)?;
            Ok(GoValue::Float(
                a.iter().map(to_float64).fold(f64::INFINITY, f64::min),
            ))
        }),
        ("ceil", |a| {
            want("ceil", a, 1)?;
            Ok(GoValue::Float(to_float64(&a[0]).ceil()))
        }),
        ("floor", |a| {
            want("floor", a, 1)?;
            Ok(GoValue::Float(to_float64(&a[0]).floor()))
        }),
        ("round", round),
        ("randInt", rand_int),
        ("until", |a| {
            want("until", a, 1)?;
            let n = int_param(a, 0)?;
            let step = if n < 0 { -1 } else { 1 };
            Ok(GoValue::list(
                range(0, n, step)?.into_iter().map(GoValue::Int).collect(),
            ))
        }),
        ("untilStep", |a| {
            want("untilStep", a, 3)?;
            let (start, stop, step) = (int_param(a, 0)?, int_param(a, 1)?, int_param(a, 2)?);
            Ok(GoValue::list(
                range(start, stop, step)?
                    .into_iter()
                    .map(GoValue::Int)
                    .collect(),
            ))
        }),
        ("seq", seq),
        ("int", |a| {
            want("int", a, 1)?;
            Ok(GoValue::Int(to_int64(&a[0])))
        }),
        ("int64", |a| {
            want("int64", a, 1)?;
            Ok(GoValue::Int64(to_int64(&a[0])))
        }),
        ("float64", |a| {
            want("float64", a, 1)?;
            Ok(GoValue::Float(to_float64(&a[0])))
        }),
        ("atoi", |a| {
            want("atoi", a, 1)?;
            let s = super::str_param(a, 0)?;
            Ok(GoValue::Int(parse_decimal_int(&s).unwrap_or(0)))
        }),
        ("toDecimal", |a| {
            want("toDecimal", a, 1)?;
            let s = a[0].sprint();
            Ok(GoValue::Int64(i64::from_str_radix(&s, 8).unwrap_or(0)))
        }),
    ]);
}

/// `strconv.Atoi`: optional sign and decimal digits, nothing else.
fn parse_decimal_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `strconv.ParseInt(s, 0, 64)`: sign, base prefixes `0x` `0o` `0b` and a leading `0` for
/// octal, underscores between digits.
pub(crate) fn parse_go_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d.to_string())
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d.to_string())
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d.to_string())
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].to_string())
    } else {
        (10, lower.clone())
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return None;
    }
    let clean: String = digits.chars().filter(|&c| c != '_').collect();
    let n = i64::from_str_radix(&clean, radix).ok()?;
    Some(if neg { -n } else { n })
}

/// spf13/cast `ToInt64`: errors become 0.
pub(crate) fn to_int64(v: &GoValue) -> i64 {
    match v {
        GoValue::Int(i) | GoValue::Int64(i) => *i,
        GoValue::Float(f) => {
            if f.is_finite() {
                *f as i64
            } else {
                i64::MIN
            }
        }
        GoValue::Bool(b) => i64::from(*b),
        GoValue::Str(s) => {
            // cast trims a zero decimal part ("12.0" → "12"), then parses with base 0.
            let t = match s.split_once('.') {
                Some((int, frac)) if !frac.is_empty() && frac.bytes().all(|b| b == b'0') => int,
                Some((int, "")) => int,
                _ => s,
            };
            parse_go_int(t).unwrap_or(0)
        }
        _ => 0,
    }
}

/// spf13/cast `ToFloat64`: errors become 0.
pub(crate) fn to_float64(v: &GoValue) -> f64 {
    match v {
        GoValue::Int(i) | GoValue::Int64(i) => *i as f64,
        GoValue::Float(f) => *f,
        GoValue::Bool(b) => f64::from(u8::from(*b)),
        GoValue::Str(s) => s.parse().unwrap_or(0.0),
        _ => 0.0,
    }
}

fn extreme(name: &str, a: &[GoValue], max: bool) -> R {
    want_at_least(name, a, 1)?;
    let nums = a.iter().map(to_int64);
    Ok(GoValue::Int64(if max {
        nums.max().unwrap_or(0)
    } else {
        nums.min().unwrap_or(0)
    }))
}

#[derive(Clone, Copy)]
enum Op {
    Add,
    Sub,
    Mul,
}

/// A float as the exact decimal of its shortest representation (`decimal.NewFromFloat`).
fn decimal(f: f64) -> Option<(i128, i32)> {
    if !f.is_finite() {
        return None;
    }
    if f == 0.0 {
        return Some((0, 0));
    }
    let s = format!("{:e}", f);
    let (mantissa, exp) = s.split_once('e')?;
    let exp: i32 = exp.parse().ok()?;
    let neg = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let m: i128 = digits.parse().ok()?;
    Some((if neg { -m } else { m }, exp - (digits.len() as i32 - 1)))
}

fn dec_op(x: f64, y: f64, op: Op) -> f64 {
    let fallback = match op {
        Op::Add => x + y,
        Op::Sub => x - y,
        Op::Mul => x * y,
    };
    let (Some((mx, ex)), Some((my, ey))) = (decimal(x), decimal(y)) else {
        return fallback;
    };
    let result = match op {
        Op::Mul => mx.checked_mul(my).map(|m| (m, ex + ey)),
        Op::Add | Op::Sub => {
            let e = ex.min(ey);
            let scale = |m: i128, from: i32| {
                10i128
                    .checked_pow(u32::try_from(from - e).ok()?)
                    .and_then(|p| m.checked_mul(p))
            };
            match (scale(mx, ex), scale(my, ey)) {
                (Some(a), Some(b)) => match op {
                    Op::Add => a.checked_add(b),
                    _ => a.checked_sub(b),
                }
                .map(|m| (m, e)),
                _ => None,
            }
        }
    };
    match result {
        Some((m, e)) => format!("{m}e{e}").parse().unwrap_or(fallback),
        None => fallback,
    }
}

fn fold_f(a: &[GoValue], op: Op) -> f64 {
    let mut it = a.iter().map(to_float64);
    let Some(first) = it.next() else {
        return 0.0;
    };
    it.fold(first, |acc, x| dec_op(acc, x, op))
}

fn round_places(f: f64, places: i32) -> f64 {
    let s = format!("{:.*}", places as usize, f);
    s.parse().unwrap_or(f)
}

fn round(a: &[GoValue]) -> R {
    want_at_least("round", a, 2)?;
    let val = to_float64(&a[0]);
    let places = int_param(a, 1)? as f64;
    let round_on = a.get(2).map_or(0.5, to_float64);
    let pow = 10f64.powf(places);
    let digit = pow * val;
    let frac = digit.fract();
    let r = if frac >= round_on {
        digit.ceil()
    } else {
        digit.floor()
    };
    Ok(GoValue::Float(r / pow))
}

fn rand_int(a: &[GoValue]) -> R {
    want("randInt", a, 2)?;
    let (min, max) = (to_int64(&a[0]), to_int64(&a[1]));
    if max <= min {
        return Err("invalid argument to Intn".into());
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let span = (max - min) as u64;
    Ok(GoValue::Int(
        min + (nanos.wrapping_mul(0x9e37_79b9_7f4a_7c15) % span) as i64,
    ))
}

/// Longest list `until`, `untilStep` and `seq` build.
const MAX_RANGE: usize = 1 << 20;

fn range(start: i64, stop: i64, step: i64) -> Result<Vec<i64>, String> {
    let mut out = Vec::new();
    if step == 0 {
        return Ok(out);
    }
    let mut i = start;
    while (step > 0 && i < stop) || (step < 0 && i > stop) {
        if out.len() >= MAX_RANGE {
            return Err(format!("range longer than {MAX_RANGE} elements"));
        }
        out.push(i);
        i = i.saturating_add(step);
    }
    Ok(out)
}

fn seq(a: &[GoValue]) -> R {
    let nums: Vec<i64> = a.iter().map(to_int64).collect();
    let (start, step, end) = match nums.as_slice() {
        [end] => (1, 1, *end),
        [start, end] => (*start, if start <= end { 1 } else { -1 }, *end),
        [start, step, end] => (*start, *step, *end),
        _ => return Ok(GoValue::from("")),
    };
    if step == 0 || (step > 0 && start > end) || (step < 0 && start < end) {
        return Ok(GoValue::from(""));
    }
    let stop = if step > 0 { end + 1 } else { end - 1 };
    let items = range(start, stop, step)?;
    Ok(GoValue::from(
        items
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(" "),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cast_rules() {
        assert_eq!(to_int64(&GoValue::str("12")), 12);
        assert_eq!(to_int64(&GoValue::str("12.0")), 12);
        assert_eq!(to_int64(&GoValue::str("12.9")), 0);
        assert_eq!(to_int64(&GoValue::str("0x1F")), 31);
        assert_eq!(to_int64(&GoValue::str("010")), 8);
        assert_eq!(to_int64(&GoValue::Float(2.9)), 2);
        assert_eq!(parse_decimal_int(" 1"), None);
    }

    #[test]
    fn decimal_float_math() {
        assert_eq!(
            fold_f(&[GoValue::Float(0.1), GoValue::Float(0.2)], Op::Add),
            0.3
        );
        assert_eq!(
            fold_f(&[GoValue::Float(1.1), GoValue::Int(3)], Op::Mul),
            3.3
        );
        let mul = crate::funcs::call("mul", &[GoValue::Int(3), GoValue::Float(0.75)]);
        assert_eq!(mul.map(|v| v.sprint()).as_deref(), Ok("0"));
        let div = crate::funcs::call("div", &[GoValue::Int(1), GoValue::Int(0)]);
        assert!(div.is_err());
        assert_eq!(
            seq(&[GoValue::Int(3)]).map(|v| v.sprint()).as_deref(),
            Ok("1 2 3")
        );
        assert_eq!(
            seq(&[GoValue::Int(3), GoValue::Int(1)])
                .map(|v| v.sprint())
                .as_deref(),
            Ok("3 2 1")
        );
    }
}
