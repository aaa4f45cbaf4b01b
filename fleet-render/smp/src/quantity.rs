//! Kubernetes resource quantities compared by value: `"100m"` equals `0.1`, `"1Gi"` equals
//! `"1024Mi"`, `"1k"` equals `1000`.
//!
//! Fleet gets this for free by decoding both objects into the typed API structs
//! (`resource.Quantity`) before comparing; here the value is read exactly as a decimal
//! `mantissa × 10^exponent`.

use serde_json::Value;

/// An exact decimal value `mantissa × 10^exponent`, normalised so that equal values compare
/// equal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quantity {
    mantissa: i128,
    exponent: i32,
}

impl Quantity {
    fn normalized(mut mantissa: i128, mut exponent: i32) -> Quantity {
        if mantissa == 0 {
            return Quantity {
                mantissa: 0,
                exponent: 0,
            };
        }
        while mantissa % 10 == 0 {
            mantissa /= 10;
            exponent += 1;
        }
        Quantity { mantissa, exponent }
    }
}

/// Parses a quantity from a JSON string or number; `None` when it is not one.
pub fn parse_value(value: &Value) -> Option<Quantity> {
    match value {
        Value::String(text) => parse(text),
        Value::Number(number) => parse(&number.to_string()),
        _ => None,
    }
}

/// Parses the text form of a quantity (`<signedNumber><suffix>`).
pub fn parse(text: &str) -> Option<Quantity> {
    let text = text.trim();
    if text.is_empty() || text.len() > 40 {
        return None;
    }
    let (negative, rest) = match text.as_bytes()[0] {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let number_end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(number_end);
    if number.is_empty() || number == "." {
        return None;
    }
    let (int_part, frac_part) = match number.split_once('.') {
        Some((i, f)) => (i, f),
        None => (number, ""),
    };
    if frac_part.contains('.') {
        return None;
    }
    let digits: String = format!("{int_part}{frac_part}");
    let digits = digits.trim_start_matches('0');
    if digits.len() > 30 {
        return None;
    }
    let mut mantissa: i128 = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    let mut exponent: i32 = -(frac_part.len() as i32);
    match suffix {
        "" => {}
        "n" => exponent -= 9,
        "u" => exponent -= 6,
        "m" => exponent -= 3,
        "k" => exponent += 3,
        "M" => exponent += 6,
        "G" => exponent += 9,
        "T" => exponent += 12,
        "P" => exponent += 15,
        "E" => exponent += 18,
        "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" => {
            let power = match suffix {
                "Ki" => 10,
                "Mi" => 20,
                "Gi" => 30,
                "Ti" => 40,
                "Pi" => 50,
                _ => 60,
            };
            mantissa = mantissa.checked_mul(1i128 << power)?;
        }
        other => {
            let exp = other.strip_prefix(['e', 'E'])?;
            let exp: i32 = exp.parse().ok()?;
            if exp.abs() > 60 {
                return None;
            }
            exponent += exp;
        }
    }
    if negative {
        mantissa = -mantissa;
    }
    Some(Quantity::normalized(mantissa, exponent))
}

/// Whether two JSON values are the same quantity. Both must parse.
pub fn same(a: &Value, b: &Value) -> bool {
    match (parse_value(a), parse_value(b)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn equal_forms() {
        assert!(same(&json!("100m"), &json!(0.1)));
        assert!(same(&json!("1Gi"), &json!("1024Mi")));
        assert!(same(&json!("1k"), &json!(1000)));
        assert!(same(&json!("1e3"), &json!("1k")));
        assert!(same(&json!("0.5"), &json!("500m")));
        assert!(!same(&json!("1G"), &json!("1Gi")));
        assert!(!same(&json!("200m"), &json!("100m")));
        assert!(!same(&json!("abc"), &json!("abc")));
    }
}
