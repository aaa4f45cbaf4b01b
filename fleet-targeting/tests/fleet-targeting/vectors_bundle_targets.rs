//! `../shared/vectors/fleet/bundle-targets.yaml`: Fleet's bundle-controller targeting scenarios.

use std::collections::BTreeMap;

use fleet_targeting::{BundleInput, CustomizationMode, Decision, Engine, GroupInput, TargetInput};
use serde_json::{Map, Value};

use crate::common::{labels, matcher, selector, vector};

const NS: &str = "ns";

fn deep_merge(base: &mut Map<String, Value>, custom: &Map<String, Value>) {
    for (k, v) in custom {
        match (base.get_mut(k), v) {
            (Some(Value::Object(b)), Value::Object(c)) => deep_merge(b, c),
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

fn values_of(t: &Value) -> Map<String, Value> {
    t["helm"]["values"].as_object().cloned().unwrap_or_default()
}

/// Helm values a cluster gets: the deploy target's, replaced (FirstMatch) or folded (AllMatches)
/// by the customizations' (values only; option merging proper is fleet-core's).
fn values_for(targets: &[Value], d: &Decision, mode: CustomizationMode) -> Map<String, Value> {
    let mut acc = values_of(&targets[d.target as usize]);
    match mode {
        CustomizationMode::FirstMatch => {
            if let Some(&c) = d.customizations.first() {
                acc = values_of(&targets[c as usize]);
            }
        }
        CustomizationMode::AllMatches => {
            for &c in &d.customizations {
                deep_merge(&mut acc, &values_of(&targets[c as usize]));
            }
        }
    }
    acc
}

fn bundle_input(
    name: &str,
    targets: &[Value],
    restrictions: &[Value],
    mode: CustomizationMode,
) -> BundleInput {
    BundleInput {
        namespace: NS.into(),
        name: name.into(),
        labels: [("foo".to_string(), "bar".to_string())].into(),
        targets: targets
            .iter()
            .map(|t| TargetInput {
                name: t["name"].as_str().unwrap_or_default().into(),
                matcher: matcher(t),
                do_not_deploy: t["doNotDeploy"].as_bool().unwrap_or(false),
            })
            .collect(),
        restrictions: restrictions.iter().map(matcher).collect(),
        mode,
    }
}

fn check(
    e: &Engine,
    scenario: &str,
    b: u32,
    targets: &[Value],
    mode: CustomizationMode,
    exp: &Value,
) {
    let bt = e.targets(b);
    let mut got: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for c in bt.clusters() {
        let d = bt.decision(c).expect("decision");
        assert_eq!(
            e.decision(b, c).as_ref(),
            Some(d),
            "{scenario}: walk agrees"
        );
        got.insert(e.cluster_name(c).1.to_owned(), values_for(targets, d, mode));
    }
    for part in ["asserted", "derived"] {
        let x = &exp[part];
        if let Some(n) = x["bundleDeploymentCount"].as_u64() {
            assert_eq!(got.len() as u64, n, "{scenario}: count");
        }
        if let Some(cs) = x["clusters"].as_array() {
            let want: Vec<&str> = cs.iter().filter_map(Value::as_str).collect();
            let mut want = want.clone();
            want.sort();
            let have: Vec<&str> = got.keys().map(String::as_str).collect();
            assert_eq!(have, want, "{scenario}: clusters");
        }
        if let Some(m) = x["valuesByCluster"].as_object() {
            for (c, v) in m {
                let have = got
                    .get(c)
                    .unwrap_or_else(|| panic!("{scenario}: {c} targeted"));
                assert_eq!(&Value::Object(have.clone()), v, "{scenario}: values of {c}");
            }
        }
        if let Some(v) = x["everyBundleDeployment"]["values"].as_object() {
            for (c, have) in &got {
                assert_eq!(have, v, "{scenario}: values of {c}");
            }
        }
        if let Some(m) = x["valuesKeyAbsent"].as_object() {
            for (c, keys) in m {
                for k in keys
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    assert!(!got[c].contains_key(k), "{scenario}: {c} has no {k}");
                }
            }
        }
        if let Some(frag) = x["noBundleDeploymentInNamespaceContaining"].as_str() {
            let cname = frag.trim_start_matches("cluster-");
            assert!(!got.contains_key(cname), "{scenario}: no BD for {cname}");
        }
    }
}

#[test]
fn bundle_targets_scenarios() {
    let Some(text) = vector("bundle-targets.yaml") else {
        return;
    };
    let doc = fleet_core::yaml::from_str_value(&text).expect("yaml");
    let fx = &doc["fixture"];
    let mut scenarios = 0;
    for sc in doc["scenarios"].as_array().expect("scenarios") {
        let name = sc["name"].as_str().unwrap_or_default();
        let mut e = Engine::new();
        for c in fx["clusters"].as_array().expect("clusters") {
            let l = labels(&c["labels"]);
            e.upsert_cluster(
                NS,
                c["name"].as_str().expect("name"),
                l.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            );
        }
        for g in fx["clusterGroups"].as_array().expect("groups") {
            e.upsert_group(&GroupInput {
                namespace: NS.into(),
                name: g["name"].as_str().expect("name").into(),
                labels: Default::default(),
                selector: selector(g.get("selector")),
            });
        }
        for (c, gs) in fx["derivedGroupMembership"]
            .as_object()
            .expect("membership")
        {
            let id = e.cluster_id(NS, c).expect("cluster");
            let mut have = e.group_names_of(id);
            have.sort();
            let mut want: Vec<String> = gs
                .as_array()
                .expect("list")
                .iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect();
            want.sort();
            assert_eq!(have, want, "group membership of {c}");
        }
        let bundle = &sc["bundle"];
        let mode = match bundle["targetCustomizationMode"].as_str() {
            Some("AllMatches") => CustomizationMode::AllMatches,
            _ => CustomizationMode::FirstMatch,
        };
        let targets = bundle["targets"].as_array().cloned().unwrap_or_default();
        let restrictions = bundle["targetRestrictions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let bname = bundle["name"].as_str().expect("bundle name");
        let (b, delta) = e
            .upsert_bundle(&bundle_input(bname, &targets, &restrictions, mode))
            .expect("bundle");
        assert_eq!(
            delta.appeared,
            e.targets(b).clusters(),
            "{name}: first delta"
        );
        check(&e, name, b, &targets, mode, &sc["expected"]);
        if let Some(upd) = sc.get("update").filter(|u| !u.is_null()) {
            let before = e.targets(b).clusters();
            let new_targets = upd["set"]["targets"]
                .as_array()
                .cloned()
                .expect("set targets");
            let (b2, delta) = e
                .upsert_bundle(&bundle_input(bname, &new_targets, &restrictions, mode))
                .expect("bundle update");
            assert_eq!(b, b2);
            let after = e.targets(b).clusters();
            assert_eq!(
                delta.disappeared,
                &before - &after,
                "{name}: delta disappeared"
            );
            assert_eq!(delta.appeared, &after - &before, "{name}: delta appeared");
            check(&e, name, b, &new_targets, mode, &sc["expectedAfterUpdate"]);
        }
        scenarios += 1;
    }
    assert_eq!(scenarios, 14);
}
