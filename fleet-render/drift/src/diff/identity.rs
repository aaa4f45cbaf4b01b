//! The object set of a BundleDeployment: the set ID the agent derives from the
//! BundleDeployment's name and the label every object of the set carries.

use sha1::{Digest, Sha1};

/// The label holding `sha1hex(setID)` on every object Fleet applies.
pub const LABEL_HASH: &str = "objectset.rio.cattle.io/hash";
/// Objects labelled `objectset.rio.cattle.io/prune: "false"` are never reported as extra.
pub const LABEL_PRUNE: &str = "objectset.rio.cattle.io/prune";
/// The set ID of the agent's own bundle (`config.AgentBootstrapConfigName`).
pub const AGENT_BOOTSTRAP_SET_ID: &str = "fleet-agent-bootstrap";

/// The set ID as the agent derives it (`applied.GetSetID`): `SafeConcatName(prefix, name)`,
/// or `SafeConcatName(prefix, name, suffix)` with a label suffix; a BundleDeployment whose name
/// starts with `fleet-agent` uses `fleet-agent-bootstrap` (plus the suffix).
pub fn set_id(bundle_deployment: &str, label_prefix: &str, label_suffix: &str) -> String {
    if bundle_deployment.starts_with("fleet-agent") {
        if label_suffix.is_empty() {
            return AGENT_BOOTSTRAP_SET_ID.to_string();
        }
        return safe_concat_name(&[AGENT_BOOTSTRAP_SET_ID, label_suffix]);
    }
    if label_suffix.is_empty() {
        safe_concat_name(&[label_prefix, bundle_deployment])
    } else {
        safe_concat_name(&[label_prefix, bundle_deployment, label_suffix])
    }
}

/// The value of [`LABEL_HASH`] for a set ID: the lowercase hex SHA-1 of the set ID.
pub fn set_hash(set_id: &str) -> String {
    hex::encode(Sha1::digest(set_id.as_bytes()))
}

use fleet_core::names::safe_concat_name;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_of_set_id() {
        assert_eq!(set_id("my-bd", "default", ""), "default-my-bd");
        assert_eq!(
            set_id("fleet-agent-local", "default", ""),
            "fleet-agent-bootstrap"
        );
        assert_eq!(set_hash("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
    }
}
