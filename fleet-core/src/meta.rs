//! Object metadata and the serde conventions shared by every Fleet type.
//!
//! [`ObjectMeta`] is a small own copy of Kubernetes' `metav1.ObjectMeta`: the fields Fleet
//! reads and writes are typed, every other metadata field is kept in [`ObjectMeta::extra`]
//! so an object read from the API server is written back unchanged. (With the optional
//! `kube` cargo feature the Fleet objects can also be instantiated with k8s-openapi's
//! `ObjectMeta`; see [`crate::crd`].)
//!
//! # Unknown fields
//!
//! Objects and most sub-structures keep fields this crate does not know in an [`Unknown`]
//! map (`#[serde(flatten)]`), so a round trip never loses data written by a newer Fleet.
//! The exceptions are `BundleDeploymentOptions`, `HelmOptions` and every structure nested
//! in them: those drop unknown fields exactly like Go's `encoding/json` does, because their
//! JSON is hashed into Fleet's deployment ID and must be byte-identical to Go's.
//! [`collect_unknown_fields`] reports which keys were kept as unknown while deserialising,
//! for callers that want a strict mode or a warning.

use std::cell::RefCell;
use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// Fields of an object that this crate has no typed field for, kept verbatim.
///
/// Deserialising an `Unknown` records its keys for [`collect_unknown_fields`].
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Unknown(pub BTreeMap<String, Value>);

impl Unknown {
    /// True when no unknown field was kept.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'de> Deserialize<'de> for Unknown {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<String, Value>::deserialize(deserializer)?;
        if !map.is_empty() {
            RECORDER.with(|recorder| {
                if let Some(keys) = recorder.borrow_mut().as_mut() {
                    keys.extend(map.keys().cloned());
                }
            });
        }
        Ok(Unknown(map))
    }
}

thread_local! {
    static RECORDER: RefCell<Option<Vec<String>>> = const { RefCell::new(None) };
}

/// Runs `f` (typically a `serde_json::from_value::<Bundle>(…)` call) and returns its result
/// together with the keys that were kept as unknown fields anywhere in the deserialised
/// objects, in the order they were met. Nested calls each see their own keys only.
///
/// ```
/// use fleet_core::crd::Bundle;
/// use fleet_core::meta::collect_unknown_fields;
///
/// let json = serde_json::json!({
///     "apiVersion": "fleet.cattle.io/v1alpha1", "kind": "Bundle",
///     "metadata": {"name": "b"}, "spec": {"futureField": 1}
/// });
/// let (bundle, unknown) = collect_unknown_fields(|| serde_json::from_value::<Bundle>(json));
/// assert!(bundle.is_ok());
/// assert_eq!(unknown, vec!["futureField".to_string()]);
/// ```
pub fn collect_unknown_fields<R>(f: impl FnOnce() -> R) -> (R, Vec<String>) {
    let previous = RECORDER.with(|recorder| recorder.borrow_mut().replace(Vec::new()));
    let result = f();
    let keys = RECORDER.with(|recorder| {
        let mut slot = recorder.borrow_mut();
        let keys = slot.take().unwrap_or_default();
        *slot = previous;
        keys
    });
    (result, keys)
}

/// Kubernetes object metadata (`metav1.ObjectMeta`), with unknown fields preserved.
///
/// Timestamps are kept as the RFC 3339 strings the API server writes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    /// Object name.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub name: String,
    /// Prefix for a server-generated name.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub generate_name: String,
    /// Namespace; empty for cluster-scoped objects.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub namespace: String,
    /// Deprecated self link.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub self_link: String,
    /// Server-assigned unique ID.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub uid: String,
    /// Opaque version for optimistic concurrency.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub resource_version: String,
    /// Generation of the desired state (bumped on spec changes).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero_i64"
    )]
    pub generation: i64,
    /// Creation time (RFC 3339); `null` on objects not yet stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_timestamp: Option<String>,
    /// Deletion time (RFC 3339) once deletion was requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_timestamp: Option<String>,
    /// Grace period of a requested deletion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_grace_period_seconds: Option<i64>,
    /// Labels.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub annotations: BTreeMap<String, String>,
    /// Owners of this object.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub owner_references: Vec<OwnerReference>,
    /// Finalizers that block deletion.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub finalizers: Vec<String>,
    /// Server-side apply field ownership, kept untyped.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub managed_fields: Vec<Value>,
    /// Metadata fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// A `metav1.OwnerReference`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnerReference {
    /// API version of the owner.
    #[serde(default, deserialize_with = "null_default")]
    pub api_version: String,
    /// Kind of the owner.
    #[serde(default, deserialize_with = "null_default")]
    pub kind: String,
    /// Name of the owner.
    #[serde(default, deserialize_with = "null_default")]
    pub name: String,
    /// UID of the owner.
    #[serde(default, deserialize_with = "null_default")]
    pub uid: String,
    /// Whether the owner is the managing controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller: Option<bool>,
    /// Whether the owner blocks foreground deletion of this object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_owner_deletion: Option<bool>,
    /// Fields without a typed field here.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// Deserialises `null` as the type's default value, as Go's `encoding/json` leaves a
/// non-pointer field at its zero value when it reads `null`.
pub fn null_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// `omitempty` for a Go `bool`.
pub fn is_false(value: &bool) -> bool {
    !*value
}

/// `omitempty` for a Go `int`/`int64`.
pub fn is_zero_i64(value: &i64) -> bool {
    *value == 0
}

/// `omitempty` for a Go `int32`.
pub fn is_zero_i32(value: &i32) -> bool {
    *value == 0
}

/// `omitempty` for a Go map stored as `Option`: Go omits a nil map and an empty map alike.
pub fn none_or_empty_map<K, V>(value: &Option<BTreeMap<K, V>>) -> bool {
    value.as_ref().is_none_or(BTreeMap::is_empty)
}

/// Splits an `apiVersion` into group and version: `apps/v1` → (`apps`, `v1`), `v1` →
/// (`""`, `v1`) for the core group.
///
/// ```
/// assert_eq!(fleet_core::meta::split_api_version("apps/v1"), ("apps", "v1"));
/// assert_eq!(fleet_core::meta::split_api_version("v1"), ("", "v1"));
/// ```
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    api_version.split_once('/').unwrap_or(("", api_version))
}
