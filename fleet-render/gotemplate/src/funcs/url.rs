//! sprig's `urlParse`/`urlJoin` over Go's `net/url` model (scheme, opaque, userinfo, host,
//! path, raw query, fragment), and Go's `call` built-in, which templates here can only
//! apply to non-functions (values never hold Go funcs).

use std::collections::BTreeMap;

use super::{Pure, R, map_param, str_param, strval, want, want_at_least};
use crate::value::GoValue;

pub(super) fn register(t: &mut Vec<(&'static str, Pure)>) {
    t.extend([
        ("urlParse", url_parse as Pure),
        ("urlJoin", url_join),
        ("call", |a: &[GoValue]| {
            want_at_least("call", a, 1)?;
            Err(format!(
                "non-function {} of type {}",
                a[0].sprint(),
                a[0].type_name()
            ))
        }),
    ]);
}

struct Url {
    scheme: String,
    opaque: String,
    userinfo: String,
    host: String,
    path: String,
    query: String,
    fragment: String,
}

fn parse(text: &str) -> Result<Url, String> {
    let mut rest = text;
    let mut u = Url {
        scheme: String::new(),
        opaque: String::new(),
        userinfo: String::new(),
        host: String::new(),
        path: String::new(),
        query: String::new(),
        fragment: String::new(),
    };
    if let Some((before, frag)) = rest.split_once('#') {
        u.fragment = frag.to_string();
        rest = before;
    }
    if let Some(i) = rest.find(':') {
        let candidate = &rest[..i];
        let valid = candidate
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
            && candidate
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
        if valid {
            u.scheme = candidate.to_ascii_lowercase();
            rest = &rest[i + 1..];
        } else if !candidate.contains('/') && i == 0 {
            return Err(format!("parse {text:?}: missing protocol scheme"));
        }
    }
    if let Some((before, query)) = rest.split_once('?') {
        u.query = query.to_string();
        rest = before;
    }
    if !u.scheme.is_empty() && !rest.starts_with('/') {
        u.opaque = rest.to_string();
        return Ok(u);
    }
    if let Some(after) = rest.strip_prefix("//") {
        let end = after.find('/').unwrap_or(after.len());
        let authority = &after[..end];
        rest = &after[end..];
        match authority.rsplit_once('@') {
            Some((user, host)) => {
                u.userinfo = user.to_string();
                u.host = host.to_string();
            }
            None => u.host = authority.to_string(),
        }
    }
    u.path = rest.to_string();
    Ok(u)
}

fn hostname(host: &str) -> String {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("").to_string();
    }
    match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h.to_string(),
        _ => host.to_string(),
    }
}

fn url_parse(a: &[GoValue]) -> R {
    want("urlParse", a, 1)?;
    let u = parse(&str_param(a, 0)?)?;
    let mut m = BTreeMap::new();
    m.insert("scheme".to_string(), GoValue::from(u.scheme));
    m.insert("hostname".to_string(), GoValue::from(hostname(&u.host)));
    m.insert("host".to_string(), GoValue::from(u.host));
    m.insert("path".to_string(), GoValue::from(u.path));
    m.insert("query".to_string(), GoValue::from(u.query));
    m.insert("opaque".to_string(), GoValue::from(u.opaque));
    m.insert("fragment".to_string(), GoValue::from(u.fragment));
    m.insert("userinfo".to_string(), GoValue::from(u.userinfo));
    Ok(GoValue::map(m))
}

fn escape_path(p: &str) -> String {
    let mut out = String::new();
    for b in p.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn url_join(a: &[GoValue]) -> R {
    want("urlJoin", a, 1)?;
    let m = map_param(a, 0)?;
    let m = m.borrow();
    let field = |k: &str| m.get(k).map(strval).unwrap_or_default();
    let (scheme, opaque, userinfo, host) = (
        field("scheme"),
        field("opaque"),
        field("userinfo"),
        field("host"),
    );
    let (path, query, fragment) = (field("path"), field("query"), field("fragment"));
    let mut out = String::new();
    if !scheme.is_empty() {
        out.push_str(&scheme);
        out.push(':');
    }
    if !opaque.is_empty() {
        out.push_str(&opaque);
    } else {
        if !scheme.is_empty() || !host.is_empty() || !userinfo.is_empty() {
            if !host.is_empty() || !path.is_empty() || !userinfo.is_empty() {
                out.push_str("//");
            }
            if !userinfo.is_empty() {
                out.push_str(&userinfo);
                out.push('@');
            }
            out.push_str(&host);
        }
        if !path.is_empty() && !path.starts_with('/') && !host.is_empty() {
            out.push('/');
        }
        out.push_str(&escape_path(&path));
    }
    if !query.is_empty() {
        out.push('?');
        out.push_str(&query);
    }
    if !fragment.is_empty() {
        out.push('#');
        out.push_str(&escape_path(&fragment));
    }
    Ok(GoValue::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_join_round_trip() {
        let parsed = url_parse(&[GoValue::str("https://u:p@example.com:8443/a b?x=1#frag")])
            .unwrap_or_default();
        assert_eq!(
            parsed.sprint(),
            "map[fragment:frag host:example.com:8443 hostname:example.com opaque: path:/a b query:x=1 scheme:https userinfo:u:p]"
        );
        let joined = url_join(&[parsed]).map(|v| v.sprint());
        assert_eq!(
            joined.as_deref(),
            Ok("https://u:p@example.com:8443/a%20b?x=1#frag")
        );
        let mailto = url_parse(&[GoValue::str("mailto:x@y.z")]).unwrap_or_default();
        assert!(mailto.sprint().contains("opaque:x@y.z"));
        assert!(crate::funcs::call("call", &[GoValue::Int(1)]).is_err());
    }
}
