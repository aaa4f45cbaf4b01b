//! Post-rendering as Fleet's agent does it, after the objects of a bundle are rendered.
//!
//! For every object, in order (Fleet's `internal/helmdeployer/postrender.go`):
//!
//! 1. the objectset label `objectset.rio.cattle.io/hash = sha1hex(setID)` and annotation
//!    `objectset.rio.cattle.io/id = setID` are added (wrangler's `apply` labels; `setID` from
//!    [`set_id`]);
//! 2. a `CustomResourceDefinition` gets `helm.sh/resource-policy: keep` unless
//!    `deleteCRDResources` is set;
//! 3. with a TargetNamespace (fleet.yaml `namespace`), a cluster-scoped object is an error
//!    (Fleet's message) and every other object is moved into that namespace;
//! 4. otherwise a namespaced object without a namespace gets the deployment's default
//!    namespace (`defaultNamespace`, else `default`): Helm installs it into the release
//!    namespace, so that is where it lands.
//!
//! Scope comes from the built-in Kubernetes kinds ([`crate::schema::Schema::builtin`]) and
//! from the CustomResourceDefinitions among the objects; unknown kinds count as namespaced.

use serde_json::{Map, Value};
use sha1::Digest as _;

use crate::schema::{Gvk, Schema};

/// The objectset hash label.
pub const HASH_LABEL: &str = "objectset.rio.cattle.io/hash";
/// The objectset id annotation.
pub const ID_ANNOTATION: &str = "objectset.rio.cattle.io/id";
/// Helm's resource-policy annotation.
pub const RESOURCE_POLICY_ANNOTATION: &str = "helm.sh/resource-policy";
/// The resource-policy value that keeps an object on uninstall.
pub const KEEP_POLICY: &str = "keep";
/// The label prefix Fleet's agent uses.
pub const AGENT_LABEL_PREFIX: &str = "default";
/// The set ID of the agent's own bundle.
pub const AGENT_BOOTSTRAP_SET_ID: &str = "fleet-agent-bootstrap";

/// A post-render error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A cluster-scoped object in a deployment with a TargetNamespace (Fleet's message).
    #[error(
        "invalid cluster scoped object [name={name} kind={kind} apiVersion={api_version}] found. Your config uses targetNamespace or namespace and thus forbids cluster-scoped resources. If you do not intend to disallow cluster scoped resources, you could switch to defaultNamespace"
    )]
    ClusterScoped {
        /// `metadata.name`.
        name: String,
        /// `kind`.
        kind: String,
        /// `apiVersion`.
        api_version: String,
    },
    /// An object that is not a mapping, or whose metadata is not a mapping.
    #[error("object {index} is not a Kubernetes object: {reason}")]
    NotAnObject {
        /// Position of the object in the rendered list.
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
}

/// Options of the post-render step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostRenderOptions {
    /// The objectset ID (see [`set_id`]).
    pub set_id: String,
    /// The TargetNamespace (fleet.yaml `namespace`), empty for none.
    pub target_namespace: String,
    /// The namespace for namespaced objects without one (fleet.yaml `defaultNamespace`, else
    /// `default`).
    pub default_namespace: String,
    /// fleet.yaml `deleteCRDResources`: when false, CRDs get `helm.sh/resource-policy: keep`.
    pub delete_crd_resources: bool,
}

/// The objectset ID of a BundleDeployment: `SafeConcatName(labelPrefix, bdName[, suffix])`;
/// BundleDeployments named `fleet-agent*` use `fleet-agent-bootstrap` (with the suffix).
/// The agent's label prefix is [`AGENT_LABEL_PREFIX`]; Fleet's `fleet test` uses `""`.
pub fn set_id(label_prefix: &str, bd_name: &str, label_suffix: &str) -> String {
    if bd_name.starts_with("fleet-agent") {
        if label_suffix.is_empty() {
            return AGENT_BOOTSTRAP_SET_ID.to_string();
        }
        return fleet_core::names::safe_concat_name(&[AGENT_BOOTSTRAP_SET_ID, label_suffix]);
    }
    if label_suffix.is_empty() {
        fleet_core::names::safe_concat_name(&[label_prefix, bd_name])
    } else {
        fleet_core::names::safe_concat_name(&[label_prefix, bd_name, label_suffix])
    }
}

/// `sha1hex(setID)`, the value of the objectset hash label.
pub fn set_hash(set_id: &str) -> String {
    hex::encode(sha1::Sha1::digest(set_id.as_bytes()))
}

/// A scope table: the built-in kinds plus the CustomResourceDefinitions among `objs`.
pub fn scope_schema(objs: &[Value]) -> Schema {
    let mut schema = Schema::default();
    for obj in objs {
        schema.add_crd(obj);
    }
    schema
}

/// Whether objects of this kind live in a namespace: the CRDs of `crds` first, then the
/// built-in kinds; unknown kinds are namespaced.
pub fn is_namespaced(crds: &Schema, obj: &Value) -> bool {
    let gvk = Gvk::of(obj);
    crds.is_namespaced(&gvk.group, &gvk.kind)
        .or_else(|| Schema::builtin().is_namespaced(&gvk.group, &gvk.kind))
        .unwrap_or(true)
}

fn str_field<'a>(obj: &'a Value, key: &str) -> &'a str {
    obj.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn set_entry(meta: &mut Map<String, Value>, key: &str, name: &str, value: &str) {
    match meta.get_mut(key) {
        Some(Value::Object(map)) => {
            map.insert(name.to_string(), Value::from(value));
        }
        _ => {
            let mut map = Map::new();
            map.insert(name.to_string(), Value::from(value));
            meta.insert(key.to_string(), Value::Object(map));
        }
    }
}

/// Post-renders `objs` in place (see the module documentation).
pub fn post_render(objs: &mut [Value], opts: &PostRenderOptions) -> Result<(), Error> {
    let crds = scope_schema(objs);
    let hash = set_hash(&opts.set_id);
    for (index, obj) in objs.iter_mut().enumerate() {
        let namespaced = is_namespaced(&crds, obj);
        let kind = str_field(obj, "kind").to_string();
        let api_version = str_field(obj, "apiVersion").to_string();
        let Value::Object(map) = obj else {
            return Err(Error::NotAnObject {
                index,
                reason: "not a mapping".to_string(),
            });
        };
        let meta = map
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if meta.is_null() {
            *meta = Value::Object(Map::new());
        }
        let Value::Object(meta) = meta else {
            return Err(Error::NotAnObject {
                index,
                reason: "metadata is not a mapping".to_string(),
            });
        };
        set_entry(meta, "labels", HASH_LABEL, &hash);
        set_entry(meta, "annotations", ID_ANNOTATION, &opts.set_id);
        if !opts.delete_crd_resources && kind == "CustomResourceDefinition" {
            set_entry(meta, "annotations", RESOURCE_POLICY_ANNOTATION, KEEP_POLICY);
        }
        if !opts.target_namespace.is_empty() {
            if !namespaced {
                return Err(Error::ClusterScoped {
                    name: meta
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    kind,
                    api_version,
                });
            }
            meta.insert(
                "namespace".to_string(),
                Value::from(opts.target_namespace.as_str()),
            );
        } else if namespaced
            && meta
                .get("namespace")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
        {
            let ns = if opts.default_namespace.is_empty() {
                "default"
            } else {
                opts.default_namespace.as_str()
            };
            meta.insert("namespace".to_string(), Value::from(ns));
        }
    }
    Ok(())
}
