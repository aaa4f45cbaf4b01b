//! Bundle names (`internal/names/name.go`): `HelmReleaseName` and `Limit`.
//!
//! Kept private to this crate; `fleet_core::names` is the shared home of these functions and
//! this module delegates to nothing else so that the crate builds on its own.

use md5::{Digest, Md5};

fn md5_hex(s: &str, len: usize) -> String {
    let digest = Md5::digest(s.as_bytes());
    let mut hex = hex::encode(digest);
    hex.truncate(len);
    hex
}

/// `names.Limit(s, count)`: cut to `count` bytes with a 5-hex MD5 suffix.
pub fn limit(s: &str, count: usize) -> String {
    if s.len() <= count {
        return s.to_string();
    }
    if count <= 6 {
        return s[..count].to_string();
    }
    let keep = count - 6;
    let sep = if s.as_bytes()[keep - 1] == b'-' {
        ""
    } else {
        "-"
    };
    format!("{}{}{}", &s[..keep], sep, md5_hex(s, 5))
}

fn allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-'
}

fn dns_label_safe(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// `names.HelmReleaseName(s)`.
pub fn helm_release_name(input: &str) -> String {
    let mut s = input.replace('/', "-");
    let need_hex = s != s.to_lowercase() || s.chars().any(|c| !allowed(c));
    if need_hex {
        s = format!("{s}-{}", md5_hex(&s, 8));
    }
    let lower = s.to_lowercase();
    let mut cleaned = String::with_capacity(lower.len());
    for c in lower.chars() {
        let c = if allowed(c) { c } else { '-' };
        if c == '-' && cleaned.ends_with('-') {
            continue;
        }
        cleaned.push(c);
    }
    let trimmed = cleaned.trim_matches('-');
    // Lower-cased, only [a-z0-9-], trimmed: the Helm release regex and the DNS label regex
    // then hold exactly when the string is non-empty and ASCII.
    if dns_label_safe(trimmed) {
        return limit(trimmed, 53);
    }
    md5_hex(input, 24)
}

/// `names.SafeConcatName(parts...)`: joined with `-`, cut to 63 with a SHA-256 suffix.
pub fn safe_concat_name(parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let full = parts.join("-");
    if full.len() < 64 {
        return full;
    }
    let digest = hex::encode(Sha256::digest(full.as_bytes()));
    let b = full.as_bytes()[56];
    if b.is_ascii_lowercase() || b.is_ascii_digit() {
        format!("{}-{}", &full[..57], &digest[..5])
    } else {
        format!("{}-{}", &full[..56], &digest[..6])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_from_spec() {
        assert_eq!(limit("1234567", 5), "12345");
        assert_eq!(limit("12345678", 7), "1-25d55");
        assert_eq!(limit("123456789", 8), "12-25f9e");
        assert_eq!(limit("1-3456789", 8), "1-9b657");
        assert_eq!(
            helm_release_name("long-name-test-shortpath-with@char"),
            "long-name-test-shortpath-with-char-031bab5e"
        );
        assert_eq!(
            helm_release_name("long-name-test-0.App_ "),
            "long-name-test-0-app-5bf6b3fb"
        );
        assert_eq!(
            helm_release_name("bundle.name.example.com"),
            "bundle-name-example-com-645ef821"
        );
        assert_eq!(
            helm_release_name("myrepo/multi-cluster/helm"),
            "myrepo-multi-cluster-helm"
        );
        let a64 = "a".repeat(64);
        assert_eq!(
            safe_concat_name(&[&a64]),
            format!("{}-ffe05", "a".repeat(57))
        );
        let a32 = "a".repeat(32);
        assert_eq!(
            safe_concat_name(&[&a32, &a32]),
            format!("{}-{}-da5ed", "a".repeat(32), "a".repeat(24))
        );
    }
}
