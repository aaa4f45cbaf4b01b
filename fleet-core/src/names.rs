//! Fleet's naming functions (`internal/names/*`), byte-exact with Fleet.
//!
//! Fleet works on Go strings, i.e. bytes: lengths and cut positions are byte counts. Every
//! name Fleet derives is ASCII in practice; when a cut would split a multi-byte UTF-8
//! character, Go would produce invalid UTF-8 and this crate replaces the partial character
//! with U+FFFD instead (see `docs/core-logic.md`).
//!
//! ```
//! use fleet_core::names;
//! assert_eq!(names::helm_release_name("myrepo/multi-cluster/helm"), "myrepo-multi-cluster-helm");
//! assert_eq!(names::cluster_namespace("fleet-local", "local"), "cluster-fleet-local-local-1a3d67d0a899");
//! ```

use md5::{Digest as _, Md5};
use sha2::Sha256;

/// Helm's maximum release name length (`v1alpha1.MaxHelmReleaseNameLen`).
pub const MAX_HELM_RELEASE_NAME_LEN: usize = 53;

fn bytes_to_string(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The first `length` hex characters of the MD5 of `s` (`names.Hex`; at most 32).
pub fn hex(s: &str, length: usize) -> String {
    let digest = hex::encode(Md5::digest(s.as_bytes()));
    digest[..length.min(digest.len())].to_string()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// `names.Limit(s, count)`: `s` unchanged if it is at most `count` bytes; plain truncation
/// when `count <= 6`; otherwise `s[..count-6] + "-" + md5hex(s)[..5]`, leaving out the `-`
/// when the kept part already ends in `-` (the result is then `count - 1` long).
pub fn limit(s: &str, count: usize) -> String {
    const HEX_LEN: usize = 5;
    let b = s.as_bytes();
    if b.len() <= count {
        return s.to_string();
    }
    if count <= HEX_LEN + 1 {
        return bytes_to_string(&b[..count]);
    }
    let keep = count - HEX_LEN - 1;
    let separator = if b[keep - 1] == b'-' { "" } else { "-" };
    format!(
        "{}{separator}{}",
        bytes_to_string(&b[..keep]),
        hex(s, HEX_LEN)
    )
}

fn is_allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-'
}

/// Go's `strings.ToLower`: per-character simple lower-case mapping (no context rules).
fn go_to_lower(s: &str) -> String {
    s.chars()
        .map(|c| c.to_lowercase().next().unwrap_or(c))
        .collect()
}

/// `^[a-z0-9]([-a-z0-9]*[a-z0-9])?$` (the result of the clean-up can only contain
/// `[a-z0-9-]`, so this also implies Helm's release-name pattern).
fn is_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    let ok = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    match (b.first(), b.last()) {
        (Some(f), Some(l)) => ok(f) && ok(l) && b.iter().all(|c| ok(c) || *c == b'-'),
        _ => false,
    }
}

/// `names.HelmReleaseName(s)`: a DNS-label-safe Helm release name derived from `s`, used for
/// bundle names (`HelmReleaseName(repo + "/" + path)`).
///
/// `/` becomes `-`; if the result has upper-case letters or characters outside
/// `[a-zA-Z0-9-]`, `-` + the first 8 hex chars of its MD5 are appended; then it is lower-cased,
/// runs of disallowed characters and of `-` become one `-`, and leading/trailing `-` are
/// trimmed. A valid DNS label is returned through [`limit`]`(…, 53)`; anything else falls
/// back to the first 24 hex chars of the MD5 of the original input.
pub fn helm_release_name(s: &str) -> String {
    let mut name = s.replace('/', "-");
    let need_hex = name != go_to_lower(&name) || !name.chars().all(is_allowed);
    if need_hex {
        name = format!("{name}-{}", hex(&name, 8));
    }
    let lowered = go_to_lower(&name);
    let mut cleaned = String::with_capacity(lowered.len());
    for c in lowered.chars() {
        let c = if is_allowed(c) { c } else { '-' };
        if c == '-' && cleaned.ends_with('-') {
            continue;
        }
        cleaned.push(c);
    }
    let trimmed = cleaned.trim_matches('-');
    if is_dns_label(trimmed) {
        return limit(trimmed, MAX_HELM_RELEASE_NAME_LEN);
    }
    hex(s, 24)
}

/// `names.SafeConcatName(parts…)`: the parts joined with `-`; unchanged if shorter than 64
/// bytes, else cut to 57 bytes + `-` + 5 hex chars of the SHA-256 of the joined string, or to
/// 56 bytes + `-` + 6 hex chars when byte 56 is not `[a-z0-9]`.
pub fn safe_concat_name<S: AsRef<str>>(parts: &[S]) -> String {
    let full = parts
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<&str>>()
        .join("-");
    let b = full.as_bytes();
    if b.len() < 64 {
        return full;
    }
    let digest = sha256_hex(b);
    let c = b[56];
    if c.is_ascii_lowercase() || c.is_ascii_digit() {
        format!("{}-{}", bytes_to_string(&b[..57]), &digest[..5])
    } else {
        format!("{}-{}", bytes_to_string(&b[..56]), &digest[..6])
    }
}

/// `names.KeyHash(s)`: the first 12 hex chars of the SHA-256 of the first 100 bytes of `s`.
pub fn key_hash(s: &str) -> String {
    let b = s.as_bytes();
    let digest = sha256_hex(&b[..b.len().min(100)]);
    digest[..12].to_string()
}

/// The namespace of a Cluster's BundleDeployments on the management cluster
/// (`clusterNamespace` in Fleet's cluster controller):
/// `SafeConcatName("cluster", ns, name, KeyHash(ns + "::" + name))`.
pub fn cluster_namespace(cluster_namespace: &str, cluster_name: &str) -> String {
    let hash = key_hash(&format!("{cluster_namespace}::{cluster_name}"));
    safe_concat_name(&["cluster", cluster_namespace, cluster_name, &hash])
}
