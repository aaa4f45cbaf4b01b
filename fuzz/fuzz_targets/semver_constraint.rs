#![no_main]
//! An arbitrary Masterminds constraint and candidate versions: parsing returns a value or an
//! error, matching and `select` never panic, and what they return is consistent.

use fleet_bundle::semver::{Constraint, Version, select};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The input is `<constraint> \0 <one candidate version per line>`.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (constraint_text, candidates) = text.split_once('\0').unwrap_or((text, "1.2.3\n0.1.0"));
    let candidates: Vec<&str> = candidates.lines().collect();
    let constraint = Constraint::parse(constraint_text);
    if let Ok(constraint) = &constraint {
        assert_eq!(constraint.to_string(), constraint_text);
    }
    for candidate in &candidates {
        let Ok(version) = Version::parse(candidate) else {
            continue;
        };
        // The printed form reads back as the same version.
        let printed = version.to_string();
        assert_eq!(
            Version::parse(&printed).as_ref(),
            Ok(&version),
            "{candidate:?}"
        );
        // `=v` admits v itself.
        let exact = Constraint::parse(&format!("={printed}")).expect("exact constraint");
        assert!(exact.matches(&version), "={printed}");
        if let Ok(constraint) = &constraint {
            let _ = constraint.matches(&version);
        }
    }
    if let Ok(Some(chosen)) = select(&candidates, constraint_text) {
        assert!(candidates.contains(&chosen));
        if chosen != constraint_text {
            let version = Version::parse(chosen).expect("a selected version parses");
            let constraint = if constraint_text.is_empty() {
                Constraint::parse("*")
            } else {
                Constraint::parse(constraint_text)
            }
            .expect("select parsed the constraint");
            assert!(
                constraint.matches(&version),
                "{chosen:?} {constraint_text:?}"
            );
        }
    }
});
