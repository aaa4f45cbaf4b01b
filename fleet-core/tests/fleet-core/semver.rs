//! Property tests of the Masterminds constraint layer.

use fleet_core::semver::{Constraints, Version, select};
use proptest::prelude::*;

proptest! {
    #[test]
    fn caret_is_same_major_and_not_lower(a in 1u64..20, b in 0u64..20, c in 0u64..20,
                                          x in 0u64..25, y in 0u64..25, z in 0u64..25) {
        let con = Constraints::parse(&format!("^{a}.{b}.{c}")).unwrap();
        let v = Version::parse(&format!("{x}.{y}.{z}")).unwrap();
        let expect = x == a && (y, z) >= (b, c);
        prop_assert_eq!(con.check(&v), expect);
    }

    #[test]
    fn tilde_is_same_minor_and_not_lower(a in 0u64..20, b in 0u64..20, c in 0u64..20,
                                          x in 0u64..25, y in 0u64..25, z in 0u64..25) {
        let con = Constraints::parse(&format!("~{a}.{b}.{c}")).unwrap();
        let v = Version::parse(&format!("{x}.{y}.{z}")).unwrap();
        let expect = x == a && y == b && z >= c;
        prop_assert_eq!(con.check(&v), expect);
    }

    #[test]
    fn select_returns_a_matching_maximum(vs in proptest::collection::vec((0u64..5, 0u64..5, 0u64..5), 1..12)) {
        let strings: Vec<String> = vs.iter().map(|(a, b, c)| format!("{a}.{b}.{c}")).collect();
        let refs: Vec<&str> = strings.iter().map(String::as_str).collect();
        let got = select(&refs, ">=1.0.0").unwrap();
        let max = vs.iter().filter(|(a, _, _)| *a >= 1).max();
        prop_assert_eq!(got.map(str::to_string), max.map(|(a, b, c)| format!("{a}.{b}.{c}")));
    }

    #[test]
    fn parse_never_panics(s in ".{0,20}") {
        let _ = Constraints::parse(&s);
        let _ = Version::parse(&s);
    }
}
