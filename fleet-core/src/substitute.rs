//! The fleet.yaml `substitute` extension (not a Fleet key) and how it travels from the
//! repository to the agent.
//!
//! ```yaml
//! substitute:
//!   enabled: true        # default false
//!   strict: true         # missing variables are errors (default false)
//!   variables:           # lowest precedence; cluster facts override them
//!     replicas: "2"
//! ```
//!
//! It asks the agent for Flux-style `${var}` substitution in the rendered objects, with
//! variables from the bundle and from the cluster (see `fleet_render::render` for their order).
//!
//! ## Wire form
//!
//! Fleet's CRDs are structural: a field the API server does not know is pruned from a Bundle or
//! BundleDeployment spec, and an unknown options field would change Fleet's deployment ID
//! hash. The extension therefore travels as an **annotation**, which every Fleet reader
//! ignores and the API server keeps:
//!
//! * `fleet.yaml` → the Bundle's `metadata.annotations["substitute.fleet-rs.io/options"]`,
//!   holding [`SubstituteOptions`] as compact JSON (keys sorted);
//! * Bundle → each BundleDeployment's annotations, copied by the BundleDeployment builder;
//! * the agent reads it from the BundleDeployment it deploys.
//!
//! Because the options hash does not see it, a change of the extension alone would not
//! change the deployment ID and so would not reach the agent. The builder therefore folds the
//! annotation into the ID with [`deployment_id`] when it is present; without it the ID is
//! Fleet's, byte for byte.
//!
//! ```
//! use fleet_core::substitute::SubstituteOptions;
//!
//! let options = SubstituteOptions { enabled: true, ..Default::default() };
//! let mut annotations = std::collections::BTreeMap::new();
//! options.annotate(&mut annotations);
//! assert_eq!(SubstituteOptions::from_annotations(&annotations).unwrap(), Some(options));
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::Digest as _;

/// The annotation holding the extension on Bundles and BundleDeployments.
pub const ANNOTATION: &str = "substitute.fleet-rs.io/options";

/// The key of the extension in fleet.yaml.
pub const FLEET_YAML_KEY: &str = "substitute";

/// Why the annotation cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("annotation {ANNOTATION}: {reason}")]
pub struct Error {
    /// What is wrong with its value.
    pub reason: String,
}

/// The `substitute` extension.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct SubstituteOptions {
    /// Turns substitution on.
    pub enabled: bool,
    /// Strict mode: a variable without a value is an error.
    pub strict: bool,
    /// Variables defined in the bundle.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub variables: BTreeMap<String, String>,
}

impl SubstituteOptions {
    /// The annotation value: compact JSON with sorted keys, so the same options always give
    /// the same text (and the same deployment ID).
    pub fn annotation_value(&self) -> String {
        // A struct of bools and a string map always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Sets the annotation on an annotation map.
    pub fn annotate(&self, annotations: &mut BTreeMap<String, String>) {
        annotations.insert(ANNOTATION.to_string(), self.annotation_value());
    }

    /// Reads the extension from an object's annotations (`None` when absent).
    pub fn from_annotations(
        annotations: &BTreeMap<String, String>,
    ) -> Result<Option<SubstituteOptions>, Error> {
        let Some(text) = annotations.get(ANNOTATION) else {
            return Ok(None);
        };
        serde_json::from_str(text).map(Some).map_err(|e| Error {
            reason: e.to_string(),
        })
    }
}

/// The deployment ID of a BundleDeployment carrying the extension: Fleet's ID
/// (`manifestID:optionsHash`) with the options hash replaced by
/// `sha256hex(optionsHash + "\n" + annotation)`. The manifest part is unchanged, so an agent
/// still finds the Content by it.
pub fn deployment_id(fleet_deployment_id: &str, annotation: &str) -> String {
    let (manifest, options_hash) = crate::manifest::split_deployment_id(fleet_deployment_id);
    let mut hasher = sha2::Sha256::new();
    hasher.update(options_hash.as_bytes());
    hasher.update(b"\n");
    hasher.update(annotation.as_bytes());
    format!("{manifest}:{}", hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotation_round_trip_and_errors() {
        let options = SubstituteOptions {
            enabled: true,
            strict: true,
            variables: [
                ("b".to_string(), "2".to_string()),
                ("a".to_string(), "1".to_string()),
            ]
            .into(),
        };
        assert_eq!(
            options.annotation_value(),
            r#"{"enabled":true,"strict":true,"variables":{"a":"1","b":"2"}}"#
        );
        let mut annotations = BTreeMap::new();
        assert_eq!(SubstituteOptions::from_annotations(&annotations), Ok(None));
        options.annotate(&mut annotations);
        assert_eq!(
            SubstituteOptions::from_annotations(&annotations),
            Ok(Some(options))
        );
        annotations.insert(ANNOTATION.to_string(), r#"{"enabled":"yes"}"#.to_string());
        let err = SubstituteOptions::from_annotations(&annotations).unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("annotation {ANNOTATION}: ")),
            "{err}"
        );
        annotations.insert(ANNOTATION.to_string(), r#"{"enable":true}"#.to_string());
        assert!(SubstituteOptions::from_annotations(&annotations).is_err());
    }

    #[test]
    fn deployment_id_keeps_the_manifest_and_follows_the_annotation() {
        let fleet = "s-abc:0123";
        let one = deployment_id(fleet, r#"{"enabled":true}"#);
        let two = deployment_id(fleet, r#"{"enabled":true,"strict":true}"#);
        assert!(one.starts_with("s-abc:"), "{one}");
        assert_ne!(one, two);
        assert_ne!(one, fleet);
        assert_eq!(one, deployment_id(fleet, r#"{"enabled":true}"#));
    }
}
