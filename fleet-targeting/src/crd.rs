//! Conversions from the `fleet.cattle.io/v1alpha1` objects of `fleet_core::crd` to the
//! engine's inputs.

use fleet_core::crd::{
    Bundle, BundleNamespaceMapping, BundleTarget, BundleTargetRestriction, ClusterGroup,
    TargetCustomizationMode,
};

use crate::model::{
    BundleInput, CustomizationMode, GroupInput, MappingInput, MatcherInput, TargetInput,
};

impl From<&BundleTarget> for TargetInput {
    fn from(t: &BundleTarget) -> Self {
        TargetInput {
            name: t.name.clone(),
            matcher: MatcherInput {
                cluster_name: t.cluster_name.clone(),
                cluster_group: t.cluster_group.clone(),
                cluster_group_selector: t.cluster_group_selector.clone(),
                cluster_selector: t.cluster_selector.clone(),
            },
            do_not_deploy: t.do_not_deploy,
        }
    }
}

impl From<&BundleTargetRestriction> for MatcherInput {
    fn from(r: &BundleTargetRestriction) -> Self {
        MatcherInput {
            cluster_name: r.cluster_name.clone(),
            cluster_group: r.cluster_group.clone(),
            cluster_group_selector: r.cluster_group_selector.clone(),
            cluster_selector: r.cluster_selector.clone(),
        }
    }
}

impl From<&Bundle> for BundleInput {
    fn from(b: &Bundle) -> Self {
        BundleInput {
            namespace: b.metadata.namespace.clone(),
            name: b.metadata.name.clone(),
            labels: b.metadata.labels.clone(),
            targets: b.spec.targets.iter().map(TargetInput::from).collect(),
            restrictions: b
                .spec
                .target_restrictions
                .iter()
                .map(MatcherInput::from)
                .collect(),
            mode: match b.spec.target_customization_mode {
                TargetCustomizationMode::AllMatches => CustomizationMode::AllMatches,
                _ => CustomizationMode::FirstMatch,
            },
        }
    }
}

impl From<&ClusterGroup> for GroupInput {
    fn from(g: &ClusterGroup) -> Self {
        GroupInput {
            namespace: g.metadata.namespace.clone(),
            name: g.metadata.name.clone(),
            labels: g.metadata.labels.clone(),
            selector: g.spec.selector.clone(),
        }
    }
}

impl From<&BundleNamespaceMapping> for MappingInput {
    fn from(m: &BundleNamespaceMapping) -> Self {
        MappingInput {
            namespace: m.metadata.namespace.clone(),
            name: m.metadata.name.clone(),
            bundle_selector: m.bundle_selector.clone(),
            namespace_selector: m.namespace_selector.clone(),
        }
    }
}
