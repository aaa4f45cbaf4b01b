//! Label selectors: apimachinery's parser cases, `LabelSelectorAsSelector` validation, matching
//! (proptest against a plain reference implementation) and Fleet's selector merge vectors
//! (`../shared/vectors/fleet/labelselector-merge.json`).

use std::collections::BTreeMap;

use fleet_core::selector::{
    LabelSelector, LabelSelectorRequirement, Operator, Requirement, Selector, SelectorError,
    label_selector_as_selector, merge_label_selectors,
};
use proptest::prelude::*;
use serde_json::Value;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn load_vectors(file: &str) -> Option<Value> {
    let path = fleet_test_tools::shared::path("vectors/fleet")?.join(file);
    let text = std::fs::read_to_string(&path).expect("read vector file");
    Some(serde_json::from_str(&text).expect("vector file is JSON"))
}

/// `TestSelectorParse` of apimachinery `pkg/labels/selector_test.go`: good strings parse and
/// print back without spaces (in key order); bad strings are errors.
#[test]
fn apimachinery_parse_good_and_bad_strings() {
    for (text, printed) in [
        ("x=a,y=b,z=c", "x=a,y=b,z=c"),
        ("", ""),
        ("x!=a,y=b", "x!=a,y=b"),
        ("x=", "x="),
        ("x= ", "x="),
        ("x=,z= ", "x=,z="),
        ("x= ,z= ", "x=,z="),
        ("!x", "!x"),
        ("x>1", "x>1"),
        ("x>1,z<5", "x>1,z<5"),
        ("x==a", "x==a"),
        (
            "env=prod,tier notin (edge),!legacy",
            "env=prod,!legacy,tier notin (edge)",
        ),
    ] {
        let sel = Selector::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!(sel.to_string(), printed, "{text:?}");
    }
    for text in [
        "x=a||y=b",
        "x==a==b",
        "!x=a",
        "x<a",
        "x in (a",
        "x in a",
        "x in (a,b",
        "x=(a,b)",
        "x in in",
        ",x",
        "x,",
        "x,,y",
        "=a",
        "x notin",
        "!",
        "a/b/c",
        "x in (a b)",
    ] {
        let err = Selector::parse(text).unwrap_err();
        assert!(
            matches!(err, SelectorError::Parse { .. }),
            "{text:?}: {err:?}"
        );
    }
}

fn req(key: &str, op: Operator, values: &[&str]) -> Requirement {
    Requirement::new(key, op, values.iter().map(|v| v.to_string()).collect()).unwrap()
}

/// `TestSetSelectorParser` of apimachinery: parsed requirements (sorted by key, values as a set).
#[test]
fn apimachinery_set_selector_parser() {
    use Operator::*;
    let cases: Vec<(&str, Vec<Requirement>)> = vec![
        ("", vec![]),
        ("\rx", vec![req("x", Exists, &[])]),
        (
            "this-is-a-dns.domain.com/key-with-dash",
            vec![req("this-is-a-dns.domain.com/key-with-dash", Exists, &[])],
        ),
        (
            "this-is-another-dns.domain.com/key-with-dash in (so,what)",
            vec![req(
                "this-is-another-dns.domain.com/key-with-dash",
                In,
                &["so", "what"],
            )],
        ),
        (
            "0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)",
            vec![req(
                "0.1.2.domain/99",
                NotIn,
                &["10.10.100.1", "tick.tack.clock"],
            )],
        ),
        ("foo  in\t (abc)", vec![req("foo", In, &["abc"])]),
        ("x notin\n (abc)", vec![req("x", NotIn, &["abc"])]),
        (
            "x  notin\t\t\t(abc,def)",
            vec![req("x", NotIn, &["abc", "def"])],
        ),
        ("x in (abc,def)", vec![req("x", In, &["abc", "def"])]),
        ("x in (abc,)", vec![req("x", In, &["", "abc"])]),
        ("x in ()", vec![req("x", In, &[""])]),
        (
            "x notin (abc,,def),bar,z in (),w",
            vec![
                req("bar", Exists, &[]),
                req("w", Exists, &[]),
                req("x", NotIn, &["", "abc", "def"]),
                req("z", In, &[""]),
            ],
        ),
        (
            "x,y in (a)",
            vec![req("x", Exists, &[]), req("y", In, &["a"])],
        ),
        ("x=a", vec![req("x", Equals, &["a"])]),
        ("x>1", vec![req("x", GreaterThan, &["1"])]),
        ("x<7", vec![req("x", LessThan, &["7"])]),
        (
            "x=a,y!=b",
            vec![req("x", Equals, &["a"]), req("y", NotEquals, &["b"])],
        ),
        (
            "x=a,y!=b,z in (h,i,j)",
            vec![
                req("x", Equals, &["a"]),
                req("y", NotEquals, &["b"]),
                req("z", In, &["h", "i", "j"]),
            ],
        ),
        (
            "x=a,x=b",
            vec![req("x", Equals, &["a"]), req("x", Equals, &["b"])],
        ),
        ("in in (in)", vec![req("in", In, &["in"])]),
        ("notin=notin", vec![req("notin", Equals, &["notin"])]),
        ("x in (b,a,b)", vec![req("x", In, &["a", "b"])]),
    ];
    for (text, want) in cases {
        let sel = Selector::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!(sel.requirements(), want.as_slice(), "{text:?}");
    }
}

#[test]
fn parser_messages_follow_apimachinery() {
    let msg = |t: &str| match Selector::parse(t).unwrap_err() {
        SelectorError::Parse { message, .. } => message,
        other => panic!("{other:?}"),
    };
    assert_eq!(msg("!x=a"), "found '=', expected: ',' or 'end of string'");
    assert_eq!(msg("x,"), "found '', expected: identifier after ','");
    assert_eq!(
        msg("=a"),
        "found '=', expected: !, identifier, or 'end of string'"
    );
    assert_eq!(
        msg("x in a"),
        "unable to parse requirement: found 'a' expected: '('"
    );
    assert_eq!(
        msg("x ~ a"),
        "unable to parse requirement: found '~', expected: in, notin, =, ==, !=, gt, lt"
    );
    assert!(msg("x in ()y").contains("found 'y', expected: ',' or 'end of string'"));
    assert!(msg("x<a").contains("must be an integer"), "{}", msg("x<a"));
}

#[test]
fn wire_selector_nil_empty_and_validation() {
    assert!(label_selector_as_selector(None).unwrap().is_nothing());
    assert!(
        !label_selector_as_selector(None)
            .unwrap()
            .matches(&labels(&[]))
    );
    let empty = LabelSelector::default();
    assert!(empty.to_selector().unwrap().is_empty());
    assert!(empty.to_selector().unwrap().matches(&labels(&[("a", "b")])));
    let empty_maps = LabelSelector {
        match_labels: Some(BTreeMap::new()),
        match_expressions: Some(vec![]),
    };
    assert!(empty_maps.to_selector().unwrap().is_empty());

    let expr = |key: &str, op: &str, values: Option<&[&str]>| LabelSelector {
        match_labels: None,
        match_expressions: Some(vec![LabelSelectorRequirement {
            key: key.into(),
            operator: op.into(),
            values: values.map(|v| v.iter().map(|s| s.to_string()).collect()),
        }]),
    };
    let err = expr("env", "Equals", Some(&["a"]))
        .to_selector()
        .unwrap_err();
    assert_eq!(
        err,
        SelectorError::UnknownOperator {
            key: "env".into(),
            operator: "Equals".into()
        }
    );
    assert!(
        err.to_string()
            .contains("\"Equals\" is not a valid label selector operator")
    );
    // Operators are case-sensitive on the wire.
    assert!(expr("env", "in", Some(&["a"])).to_selector().is_err());
    assert!(matches!(
        expr("env", "In", Some(&[])).to_selector(),
        Err(SelectorError::ValueCount { .. })
    ));
    assert!(matches!(
        expr("env", "NotIn", None).to_selector(),
        Err(SelectorError::ValueCount { .. })
    ));
    assert!(matches!(
        expr("env", "Exists", Some(&["x"])).to_selector(),
        Err(SelectorError::ValueCount { .. })
    ));
    assert!(expr("env", "Exists", Some(&[])).to_selector().is_ok());
    assert!(expr("env", "DoesNotExist", None).to_selector().is_ok());
    assert!(matches!(
        expr("env", "In", Some(&["bad value"])).to_selector(),
        Err(SelectorError::InvalidValue { .. })
    ));
    assert!(matches!(
        expr("-env", "Exists", None).to_selector(),
        Err(SelectorError::InvalidKey { .. })
    ));

    let key_ok = |k: &str| Requirement::new(k, Operator::Exists, vec![]).is_ok();
    let val_ok = |v: &str| Requirement::new("k", Operator::Equals, vec![v.to_string()]).is_ok();
    assert!(key_ok("a"));
    assert!(key_ok("example.com/My_Name.x-1"));
    assert!(key_ok(&"a".repeat(63)));
    assert!(!key_ok(&"a".repeat(64)));
    assert!(key_ok(&format!(
        "{}/a",
        [
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(61)
        ]
        .join(".")
    )));
    assert!(!key_ok(&format!(
        "{}/a",
        [
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(62)
        ]
        .join(".")
    )));
    assert!(!key_ok("Example.com/a"), "prefix must be lower case");
    assert!(!key_ok("/a"));
    assert!(!key_ok("a/"));
    assert!(!key_ok("a/b/c"));
    assert!(!key_ok(""));
    assert!(!key_ok("a_"));
    assert!(!key_ok("ex..com/a"));
    assert!(val_ok(""));
    assert!(val_ok("A_b.c-9"));
    assert!(val_ok(&"v".repeat(63)));
    assert!(!val_ok(&"v".repeat(64)));
    assert!(!val_ok("-a"));
    assert!(!val_ok("a/b"));
    assert!(!val_ok("é"));
}

#[test]
fn matching_semantics() {
    let sel = Selector::parse("env=prod,tier notin (edge),!legacy").unwrap();
    assert!(sel.matches(&labels(&[("env", "prod")])));
    assert!(sel.matches(&labels(&[("env", "prod"), ("tier", "core")])));
    assert!(!sel.matches(&labels(&[("env", "prod"), ("tier", "edge")])));
    assert!(!sel.matches(&labels(&[("env", "prod"), ("legacy", "")])));
    assert!(!sel.matches(&labels(&[("env", "dev")])));
    assert!(!sel.matches(&labels(&[])));
    assert!(Selector::parse("x!=a").unwrap().matches(&labels(&[])));
    assert!(
        Selector::parse("x>1")
            .unwrap()
            .matches(&labels(&[("x", "2")]))
    );
    assert!(
        !Selector::parse("x>1")
            .unwrap()
            .matches(&labels(&[("x", "b")]))
    );
    assert!(!Selector::parse("x<1").unwrap().matches(&labels(&[])));
    assert!(Selector::everything().matches(&labels(&[])));
    assert!(!Selector::nothing().matches(&labels(&[])));
    // Other label storages through the `Labels` trait.
    let slice: &[(&str, &str)] = &[("env", "prod")];
    assert!(sel.matches(slice));
    let hash: std::collections::HashMap<String, String> =
        labels(&[("env", "prod")]).into_iter().collect();
    assert!(sel.matches(&hash));
    let none: Option<&BTreeMap<String, String>> = None;
    assert!(Selector::parse("!a").unwrap().matches(&none));
}

#[test]
fn requires_exact_match() {
    let sel = Selector::parse("a=1,b in (2),c in (3,4),d!=5,a=6").unwrap();
    assert_eq!(sel.requires_exact_match("a"), Some("1"));
    assert_eq!(sel.requires_exact_match("b"), Some("2"));
    assert_eq!(sel.requires_exact_match("c"), None);
    assert_eq!(sel.requires_exact_match("d"), None);
    assert_eq!(sel.requires_exact_match("z"), None);
}

#[test]
fn wire_and_string_forms_agree() {
    let wire: LabelSelector = serde_json::from_value(serde_json::json!({
        "matchLabels": {"env": "prod"},
        "matchExpressions": [
            {"key": "tier", "operator": "NotIn", "values": ["edge", "cdn"]},
            {"key": "legacy", "operator": "DoesNotExist"}
        ]
    }))
    .unwrap();
    let sel = wire.to_selector().unwrap();
    assert_eq!(sel.to_string(), "env=prod,!legacy,tier notin (cdn,edge)");
    assert_eq!(
        Selector::parse(&sel.to_string()).unwrap().to_string(),
        sel.to_string()
    );
}

/// `../shared/vectors/fleet/labelselector-merge.json` (Fleet `labelselectors.Merge`).
#[test]
fn fleet_labelselector_merge_vectors() {
    let Some(doc) = load_vectors("labelselector-merge.json") else {
        return;
    };
    let normalise = |s: Option<LabelSelector>| {
        s.map(|mut s| {
            if s.match_labels.as_ref().is_some_and(BTreeMap::is_empty) {
                s.match_labels = None;
            }
            if s.match_expressions.as_ref().is_some_and(Vec::is_empty) {
                s.match_expressions = None;
            }
            s
        })
    };
    let cases = doc["cases"].as_array().unwrap();
    let mut passed = 0;
    for case in cases {
        let name = case["name"].as_str().unwrap_or_default();
        let inputs: Vec<Option<LabelSelector>> =
            serde_json::from_value(case["input"]["selectors"].clone()).unwrap_or_default();
        let expected: Option<LabelSelector> =
            serde_json::from_value(case["expected"].clone()).unwrap();
        let before = inputs.clone();
        let got = merge_label_selectors(inputs.iter().map(Option::as_ref));
        assert_eq!(normalise(got), normalise(expected), "{name}");
        assert_eq!(inputs, before, "{name}: inputs unchanged");
        passed += 1;
    }
    assert_eq!(passed, cases.len());
    eprintln!(
        "labelselector-merge.json: {passed}/{} cases pass",
        cases.len()
    );
}

// ---------------------------------------------------------------------------------------------
// Property tests against a plain reference implementation of the wire semantics.

const KEYS: &[&str] = &["a", "b", "example.com/c", "d-1"];
const VALUES: &[&str] = &["", "x", "y", "Z_1"];

/// The Kubernetes rules written out directly over the wire type.
fn reference_matches(sel: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    for (k, v) in sel.match_labels.iter().flatten() {
        if labels.get(k) != Some(v) {
            return false;
        }
    }
    for e in sel.match_expressions.iter().flatten() {
        let have = labels.get(&e.key);
        let values = e.values.clone().unwrap_or_default();
        let ok = match e.operator.as_str() {
            "In" => have.is_some_and(|v| values.contains(v)),
            "NotIn" => have.is_none_or(|v| !values.contains(v)),
            "Exists" => have.is_some(),
            "DoesNotExist" => have.is_none(),
            _ => unreachable!(),
        };
        if !ok {
            return false;
        }
    }
    true
}

fn arb_key() -> impl Strategy<Value = String> {
    prop::sample::select(KEYS).prop_map(String::from)
}

fn arb_value() -> impl Strategy<Value = String> {
    prop::sample::select(VALUES).prop_map(String::from)
}

fn arb_requirement() -> impl Strategy<Value = LabelSelectorRequirement> {
    (
        arb_key(),
        prop::sample::select(&["In", "NotIn", "Exists", "DoesNotExist"][..]),
        prop::collection::vec(arb_value(), 1..3),
    )
        .prop_map(|(key, op, values)| {
            let values = matches!(op, "In" | "NotIn").then_some(values);
            LabelSelectorRequirement {
                key,
                operator: op.to_string(),
                values,
            }
        })
}

fn arb_selector() -> impl Strategy<Value = LabelSelector> {
    (
        prop::option::of(prop::collection::btree_map(arb_key(), arb_value(), 0..3)),
        prop::option::of(prop::collection::vec(arb_requirement(), 0..4)),
    )
        .prop_map(|(match_labels, match_expressions)| LabelSelector {
            match_labels,
            match_expressions,
        })
}

fn arb_labels() -> impl Strategy<Value = BTreeMap<String, String>> {
    prop::collection::btree_map(arb_key(), arb_value(), 0..4)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn matches_like_the_reference(sel in arb_selector(), l in arb_labels()) {
        let compiled = sel.to_selector().unwrap();
        prop_assert_eq!(compiled.matches(&l), reference_matches(&sel, &l));
    }

    #[test]
    fn printed_form_parses_back_to_the_same_meaning(sel in arb_selector(), l in arb_labels()) {
        let compiled = sel.to_selector().unwrap();
        let printed = compiled.to_string();
        let reparsed = Selector::parse(&printed).unwrap();
        // Parsing normalises `in`/`notin` value lists to sorted sets; after that, printing
        // and parsing are a fixed point.
        let canonical = reparsed.to_string();
        prop_assert_eq!(Selector::parse(&canonical).unwrap().to_string(), canonical);
        prop_assert_eq!(reparsed.matches(&l), compiled.matches(&l), "{}", printed);
    }

    #[test]
    fn parser_never_panics_and_is_stable(text in "[a-z=!(), \\t]{0,24}") {
        if let Ok(sel) = Selector::parse(&text) {
            let printed = sel.to_string();
            let again = Selector::parse(&printed).unwrap();
            prop_assert_eq!(&again, &sel);
            prop_assert_eq!(again.to_string(), printed);
        }
    }
}
