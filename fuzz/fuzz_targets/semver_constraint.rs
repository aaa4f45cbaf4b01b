#![no_main]
//! An arbitrary Masterminds constraint and candidate versions: parsing returns a value or an
//! error, matching and `select` never panic, and what they return is consistent.

use std::cmp::Ordering;

use fleet_core::semver::{Constraints, Version, select};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The input is `<constraint> \0 <one candidate version per line>`.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (constraint_text, candidates) = text.split_once('\0').unwrap_or((text, "1.2.3\n0.1.0"));
    let candidates: Vec<&str> = candidates.lines().collect();
    let constraint = Constraints::parse(constraint_text);
    if let Ok(constraint) = &constraint {
        assert_eq!(constraint.to_string(), constraint_text);
    }
    for candidate in &candidates {
        let Ok(version) = Version::parse(candidate) else {
            continue;
        };
        assert_eq!(version.original(), *candidate);
        // The printed form reads back as the same version.
        let printed = version.to_string();
        let again = Version::parse(&printed).expect("a printed version parses");
        assert_eq!(again.to_string(), printed, "{candidate:?}");
        assert_eq!(again.compare(&version), Ordering::Equal, "{candidate:?}");
        // `=v` admits v itself, `!=v` does not, and `>=v` agrees with `<v`.
        let exact = Constraints::parse(&format!("={printed}")).expect("exact constraint");
        assert!(exact.check(&version), "={printed}");
        let not = Constraints::parse(&format!("!={printed}")).expect("!= constraint");
        assert!(!not.check(&version), "!={printed}");
        if let Ok(constraint) = &constraint {
            let _ = constraint.check(&version);
        }
        for other in &candidates {
            let Ok(other) = Version::parse(other) else {
                continue;
            };
            let ge = Constraints::parse(&format!(">={printed}")).expect(">= constraint");
            let lt = Constraints::parse(&format!("<{printed}")).expect("< constraint");
            // With a prerelease on the constraint side both admit prereleases, so exactly
            // one of them holds; without, a prerelease candidate fails both.
            if version.prerelease().is_empty() && !other.prerelease().is_empty() {
                assert!(!ge.check(&other) && !lt.check(&other));
            } else {
                assert_ne!(ge.check(&other), lt.check(&other), "{printed} {other}");
            }
        }
    }
    if let Ok(Some(chosen)) = select(&candidates, constraint_text) {
        assert!(candidates.contains(&chosen));
        if chosen != constraint_text {
            let version = Version::parse(chosen).expect("a selected version parses");
            let constraint = if constraint_text.is_empty() {
                Constraints::parse("*")
            } else {
                Constraints::parse(constraint_text)
            }
            .expect("select parsed the constraint");
            assert!(constraint.check(&version), "{chosen:?} {constraint_text:?}");
        }
    }
});
