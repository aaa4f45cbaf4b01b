//! `/`-separated paths inside a bundle or repository, the two ways Fleet and kustomize treat
//! them: Go's lexical cleaning ([`clean`], [`join`]), where `..` may climb above the start,
//! and joining within a root ([`join_within`]), where climbing above the root is an error.
//!
//! ```
//! use fleet_core::path;
//!
//! assert_eq!(path::clean("a/./b/../c/"), "a/c");
//! assert_eq!(path::join("simple", "../assets/simple"), "assets/simple");
//! assert_eq!(path::join_within("base", "../overlay/x.yaml").unwrap(), "overlay/x.yaml");
//! assert!(path::join_within("base", "../../x").is_err());
//! ```

/// Go's `path.Clean`: drops empty and `.` segments, resolves `..` lexically (keeping leading
/// `..` of a relative path, dropping those above `/`), and gives `.` for an empty result.
pub fn clean(p: &str) -> String {
    if p.is_empty() {
        return ".".to_string();
    }
    let rooted = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|l| *l != "..") {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                }
            }
            x => out.push(x),
        }
    }
    let s = out.join("/");
    match (rooted, s.is_empty()) {
        (true, _) => format!("/{s}"),
        (false, true) => ".".to_string(),
        (false, false) => s,
    }
}

/// Go's `filepath.Join(a, b)` on `/`-separated paths: empty elements are skipped and the
/// result is [`clean`]ed (`""` when both are empty).
pub fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => String::new(),
        (true, false) => clean(b),
        (false, true) => clean(a),
        (false, false) => clean(&format!("{a}/{b}")),
    }
}

/// A path that climbs above the root it is joined within.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: climbs above the root")]
pub struct Escape {
    /// The joined path, as given.
    pub path: String,
}

/// Joins the relative path `rel` onto the directory `base` (both relative to a root, `""` being
/// the root) and normalises the result, which is `""` for the root itself. A `..` that would
/// leave the root is an [`Escape`]; a leading `/` on `base` is ignored.
pub fn join_within(base: &str, rel: &str) -> Result<String, Escape> {
    let mut parts: Vec<&str> = base
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    for part in rel.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(Escape {
                        path: if base.is_empty() {
                            rel.to_string()
                        } else {
                            format!("{base}/{rel}")
                        },
                    });
                }
            }
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_follows_go() {
        // Cases from Go's path.Clean documentation and tests.
        for (input, want) in [
            ("", "."),
            ("abc", "abc"),
            ("abc/def", "abc/def"),
            ("a/b/c", "a/b/c"),
            (".", "."),
            ("..", ".."),
            ("../..", "../.."),
            ("../../abc", "../../abc"),
            ("/abc", "/abc"),
            ("/", "/"),
            ("abc/", "abc"),
            ("abc/def/", "abc/def"),
            ("/abc/", "/abc"),
            ("abc//def//ghi", "abc/def/ghi"),
            ("//abc", "/abc"),
            ("abc/./def", "abc/def"),
            ("/./abc/def", "/abc/def"),
            ("abc/.", "abc"),
            ("abc/def/ghi/../jkl", "abc/def/jkl"),
            ("abc/def/../ghi/../jkl", "abc/jkl"),
            ("abc/def/..", "abc"),
            ("abc/def/../..", "."),
            ("/abc/def/../..", "/"),
            ("abc/def/../../..", ".."),
            ("/abc/def/../../..", "/"),
            ("abc/def/../../../ghi/jkl/../../../mno", "../../mno"),
        ] {
            assert_eq!(clean(input), want, "clean({input:?})");
        }
    }

    #[test]
    fn join_skips_empty_elements() {
        assert_eq!(join("", ""), "");
        assert_eq!(join("a", ""), "a");
        assert_eq!(join("", "b/"), "b");
        assert_eq!(join("test", "."), "test");
        assert_eq!(join("a/b", "../../../c"), "../c");
        assert_eq!(join("/", "x"), "/x");
    }

    #[test]
    fn join_within_refuses_to_climb_out() {
        assert_eq!(join_within("", "a/./b"), Ok("a/b".to_string()));
        assert_eq!(join_within("a/b", ".."), Ok("a".to_string()));
        assert_eq!(join_within("a", ".."), Ok(String::new()));
        assert_eq!(join_within("/a/", "b"), Ok("a/b".to_string()));
        assert_eq!(
            join_within("a", "../.."),
            Err(Escape {
                path: "a/../..".to_string()
            })
        );
        assert_eq!(
            join_within("", "../x").unwrap_err().to_string(),
            "../x: climbs above the root"
        );
    }
}
