//! Strategic merge patch with kustomize's (kyaml `merge2`) semantics, JSON patches, and the
//! containment check a drift diff needs.
//!
//! Rules of [`merge`] (the patch is merged into `dest`):
//!
//! * maps merge field by field; a patch scalar wins; a patch `null` removes the field;
//! * a map holding `$patch: delete` is removed, `$patch: replace` replaces the destination
//!   map with the patch map (minus the directive), `$patch: merge` is the default;
//! * a list whose schema has patch strategy `merge` is associative: items are matched on the
//!   merge keys (`x-kubernetes-list-map-keys`, else `x-kubernetes-patch-merge-key`) the way
//!   kyaml's `walkAssociativeSequence` does: the key tuples of both lists (`""` for a missing
//!   value), with several keys unified where they differ only by blanks (`[80, ""]` and
//!   `[80, TCP]`; the protocol is not defaulted), each tuple merging the first items that hold
//!   its non-empty values; an item `{<key>: v, $patch: delete}` removes the matching items (a
//!   no-op when none matches), a list item `{$patch: replace}` / `{$patch: delete}` replaces /
//!   removes the whole list; without keys (`finalizers`) the list is a set of scalars;
//! * result order: the tuples' order, items only the patch has after the destination's
//!   ([`ListIncrease::Append`]) or before them ([`ListIncrease::Prepend`], what kustomize's
//!   patch transformers use); with several keys every item is removed and appended again in
//!   that order, so an item a tuple could not find (a key field missing) falls out or moves,
//!   as in kyaml;
//! * every other list, and every list of a kind the schema does not know, is replaced by the
//!   patch's list — unless [`MergeOptions::infer_keys`] is set, which then merges lists of maps
//!   sharing one of `mountPath`, `devicePath`, `ip`, `type`, `topologyKey`, `name`,
//!   `containerPort`.
//!
//! The directives of the API server's strategic merge (`$setElementOrder/<list>`,
//! `$deleteFromPrimitiveList/<list>`, `$retainKeys`) are honoured when
//! [`MergeOptions::server_directives`] is set; kustomize ignores them (they stay as ordinary
//! fields), so the kustomize build leaves it off.
//!
//! ```
//! use fleet_smp::schema::Schema;
//! use fleet_smp::{merge, MergeOptions};
//! use serde_json::json;
//! let dest = json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template":
//!     {"spec": {"containers": [{"name": "app", "image": "a:1"}, {"name": "side", "image": "s"}]}}}});
//! let patch = json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template":
//!     {"spec": {"containers": [{"name": "app", "image": "a:2"}]}}}});
//! let out = merge(&dest, &patch, Schema::builtin(), &MergeOptions::kustomize()).unwrap().unwrap();
//! assert_eq!(out["spec"]["template"]["spec"]["containers"][0]["image"], "a:2");
//! assert_eq!(out["spec"]["template"]["spec"]["containers"][1]["name"], "side");
//! ```

use serde_json::Value;

use crate::schema::{FieldInfo, Schema, TypeDef};

mod compare;
mod patch;
pub mod quantity;
pub mod schema;
mod strategic;

pub use compare::{Compare, contains, is_zero};
pub use patch::{Deletions, create_patch, strip_nulls};
pub use strategic::merge;

/// An error merging a strategic merge patch or applying a JSON patch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The patch and the destination disagree on the shape of a field.
    #[error("field {path}: cannot merge a {patch} into a {dest}")]
    KindMismatch {
        /// Dotted path of the field.
        path: String,
        /// What the destination holds (`map`, `list`, `scalar`).
        dest: &'static str,
        /// What the patch holds.
        patch: &'static str,
    },
    /// A `$patch` directive with an unknown value.
    #[error("field {path}: unknown $patch directive {value:?}")]
    BadDirective {
        /// Dotted path of the map or list holding it.
        path: String,
        /// The directive's value.
        value: String,
    },
    /// Merge keys could not be inferred for a list of maps.
    #[error("field {path}: {message}")]
    MergeKey {
        /// Dotted path of the list.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// A JSON patch (RFC 6902) is malformed or fails.
    #[error("JSON patch: {0}")]
    JsonPatch(String),
}

/// Where items that only the patch has go in an associative list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListIncrease {
    /// After the destination's items (kyaml's zero value).
    #[default]
    Append,
    /// Before them: patch items in patch order, then the destination's other items.
    Prepend,
}

/// Options of [`merge`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MergeOptions {
    /// Where patch-only list items go.
    pub list_increase: ListIncrease,
    /// Infer merge keys for lists the schema does not describe.
    pub infer_keys: bool,
    /// Merge in the API server's dialect (`strategicpatch`, what `kubectl apply` and Fleet's
    /// agent use) instead of kyaml's: keyed lists match on the one `patchMergeKey` and a patch
    /// item merges into the first live item with its key; `$setElementOrder`,
    /// `$deleteFromPrimitiveList` and `$retainKeys` are honoured; a value whose type changes
    /// is replaced; `$patch: replace` in a list takes the patch's items as they are.
    pub server_directives: bool,
}

impl MergeOptions {
    /// The options kustomize's patch transformers use: prepend, no inference.
    pub fn kustomize() -> Self {
        MergeOptions {
            list_increase: ListIncrease::Prepend,
            infer_keys: false,
            server_directives: false,
        }
    }

    /// The API server's dialect: append new items, then order them by `$setElementOrder`.
    pub fn api_server() -> Self {
        MergeOptions {
            list_increase: ListIncrease::Append,
            infer_keys: false,
            server_directives: true,
        }
    }
}

/// Keys kyaml tries, in order, when inferring the merge key of a list of maps.
pub const INFERRED_KEYS: [&str; 7] = [
    "mountPath",
    "devicePath",
    "ip",
    "type",
    "topologyKey",
    "name",
    "containerPort",
];

/// What the schema says about the value being merged or compared.
#[derive(Clone, Copy, Default)]
pub(crate) struct Node<'a> {
    /// The field holding the value (for lists: strategy and keys).
    field: Option<&'a FieldInfo>,
    /// The object type of the value (or of the list's items).
    ty: Option<&'a TypeDef>,
    /// Whether any schema applies (a known kind); `false` below unknown fields.
    known: bool,
}

impl<'a> Node<'a> {
    /// The node of the items of the list this node describes.
    fn items(self) -> Node<'a> {
        Node {
            field: None,
            ty: self.ty,
            known: self.known,
        }
    }
}

/// The node of field `key` of the object `parent` describes.
pub(crate) fn child<'a>(schema: &'a Schema, parent: Node<'a>, key: &str) -> Node<'a> {
    let field = parent.ty.and_then(|t| t.field(key));
    let ty = field.and_then(|f| schema.field_type(f));
    Node {
        field,
        ty,
        known: field.is_some(),
    }
}

/// Applies an RFC 6902 JSON patch (a list of operations) to `target` in place. On error the
/// target is left unchanged.
pub fn apply_json6902(target: &mut Value, ops: &Value) -> Result<(), Error> {
    let patch: json_patch::Patch =
        serde_json::from_value(ops.clone()).map_err(|e| Error::JsonPatch(e.to_string()))?;
    json_patch::patch(target, &patch).map_err(|e| Error::JsonPatch(e.to_string()))
}

/// The two-way strategic merge patch that turns `original` into `modified` for the kind of
/// `modified` (`CreateTwoWayMergePatch`): [`create_patch`] with exact comparison and
/// [`Deletions::Include`]. Apply it with [`merge`] and [`MergeOptions::api_server`]. An empty
/// map when nothing changed. A set (a merged list of scalars, such as `finalizers`) holds each
/// value once, as on the API server: duplicates in `modified` come out as one.
pub fn two_way(original: &Value, modified: &Value, schema: &Schema) -> Value {
    create_patch(
        &Compare::exact(schema),
        original,
        modified,
        Deletions::Include,
    )
}

/// Whether every field `desired` sets is present in `live` with the same value: [`contains`]
/// with exact comparison (a `null` in `desired` means the field must be absent in `live`).
pub fn is_contained(desired: &Value, live: &Value, schema: &Schema) -> bool {
    contains(&Compare::exact(schema), desired, live)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn three_way_patch_without_original_keeps_live_only_fields() {
        let live = json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"replicas": 3,
            "template": {"spec": {"containers": [{"name": "side", "image": "s"},
            {"name": "app", "image": "a:1", "imagePullPolicy": "Always"}]}}}});
        let desired = json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {
            "template": {"spec": {"containers": [{"name": "app", "image": "a:2"}]}}}});
        let cmp = Compare::exact(Schema::builtin());
        let patch = create_patch(&cmp, &live, &desired, Deletions::Ignore);
        assert_eq!(
            patch,
            json!({"spec": {"template": {"spec": {
                "$setElementOrder/containers": [{"name": "app"}],
                "containers": [{"name": "app", "image": "a:2"}]}}}})
        );
        let out = merge(
            &live,
            &patch,
            Schema::builtin(),
            &MergeOptions::api_server(),
        )
        .unwrap()
        .unwrap();
        assert!(contains(&cmp, &desired, &out));
        assert_eq!(out["spec"]["replicas"], 3);
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"][0]["name"],
            "side"
        );
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"][1]["imagePullPolicy"],
            "Always"
        );
    }

    #[test]
    fn containment() {
        let live = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d",
            "uid": "1"}, "spec": {"replicas": 2, "template": {"spec": {"containers": [
            {"name": "side", "image": "s"}, {"name": "app", "image": "a", "imagePullPolicy": "Always"}]}}}});
        let desired = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"replicas": 2.0, "template": {"spec": {"containers": [{"name": "app", "image": "a"}]}}}});
        assert!(is_contained(&desired, &live, Schema::builtin()));
        let changed = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "b"}]}}}});
        assert!(!is_contained(&changed, &live, Schema::builtin()));
    }
}
/// Every pair of small lists, applied as `two_way` patches: the merge gives the modified
/// object exactly. Items without their merge key, with a shared key or reordered are where
/// containment both ways is weaker than equality.
#[cfg(test)]
mod two_way_exhaustive {
    use super::*;
    use serde_json::json;

    /// The lists of up to two items drawn from `items`, and no list at all.
    fn lists(items: &[Value]) -> Vec<Option<Vec<Value>>> {
        let mut out = vec![None, Some(Vec::new())];
        for a in items {
            out.push(Some(vec![a.clone()]));
            for b in items {
                out.push(Some(vec![a.clone(), b.clone()]));
            }
        }
        out
    }

    /// Failing pairs of `make(original)` → `make(modified)`, as text.
    fn failures(items: &[Value], make: impl Fn(&Option<Vec<Value>>) -> Value) -> Vec<String> {
        let schema = Schema::builtin();
        let opts = MergeOptions {
            server_directives: true,
            ..MergeOptions::default()
        };
        let all = lists(items);
        let mut failed = Vec::new();
        for from in &all {
            for to in &all {
                let (original, modified) = (make(from), make(to));
                let patch = two_way(&original, &modified, schema);
                let merged = merge(&original, &patch, schema, &opts).expect("the patch applies");
                if merged.as_ref() != Some(&modified) {
                    failed.push(format!("{original} -> {modified}: patch {patch}"));
                }
            }
        }
        failed
    }

    /// A map where the original had a scalar carries keyed lists whose items lack their key:
    /// they go as `$patch: replace`, as for a field the original lacks (found by fuzzing).
    #[test]
    fn a_map_replacing_a_scalar_keeps_keyless_items_apart() {
        let schema = Schema::builtin();
        let original = json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": "text"});
        let modified = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "spec": {"template": {"spec": {"containers": [
                {"image": "nginx", "n": "web"}, {"image": "busybox", "z": "side"}]}}}});
        let patch = two_way(&original, &modified, schema);
        let opts = MergeOptions {
            server_directives: true,
            ..MergeOptions::default()
        };
        let merged = merge(&original, &patch, schema, &opts).expect("applies");
        assert_eq!(merged.as_ref(), Some(&modified), "patch {patch}");
    }

    /// Keys equal by value but written differently (`0` and `-0.0`) are one key on both
    /// sides: patch creation and the merge's element order (found by fuzzing).
    #[test]
    fn number_keys_compare_by_value_in_the_merge_too() {
        let schema = Schema::builtin();
        let original = json!({"apiVersion": "v1", "kind": "Service",
            "spec": {"ports": [{"port": -0.0}, {"port": 2}]}});
        let modified = json!({"apiVersion": "v1", "kind": "Service",
            "spec": {"ports": [{"port": 0}, {"port": "x"}]}});
        let patch = two_way(&original, &modified, schema);
        let opts = MergeOptions {
            server_directives: true,
            ..MergeOptions::default()
        };
        let merged = merge(&original, &patch, schema, &opts).expect("applies");
        assert_eq!(
            merged.as_ref().map(|m| m["spec"]["ports"][1].clone()),
            Some(json!({"port": "x"})),
            "patch {patch}"
        );
        assert_eq!(
            merged
                .as_ref()
                .map(|m| m["spec"]["ports"].as_array().map(Vec::len)),
            Some(Some(2))
        );
    }

    #[test]
    fn service_ports_keyed_by_port_round_trip() {
        let items = [
            json!({}),
            json!({"port": 1}),
            json!({"port": 2}),
            json!({"port": 1, "protocol": "UDP"}),
            json!({"name": "a"}),
            json!({"port": 1, "name": "a"}),
        ];
        let failed = failures(&items, |list| match list {
            None => json!({"apiVersion": "v1", "kind": "Service", "spec": {}}),
            Some(l) => json!({"apiVersion": "v1", "kind": "Service", "spec": {"ports": l}}),
        });
        assert!(
            failed.is_empty(),
            "{} pairs fail, first: {}",
            failed.len(),
            failed[0]
        );
    }

    #[test]
    fn container_ports_and_finalizers_round_trip() {
        let ports = [
            json!({}),
            json!({"containerPort": 80}),
            json!({"containerPort": 80, "protocol": "UDP"}),
            json!({"containerPort": 81, "name": "x"}),
        ];
        let failed = failures(&ports, |list| match list {
            None => json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "spec": {"template": {"spec": {"containers": [{"name": "c"}]}}}}),
            Some(l) => json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "spec": {"template": {"spec": {"containers": [{"name": "c", "ports": l}]}}}}),
        });
        assert!(
            failed.is_empty(),
            "{} pairs fail, first: {}",
            failed.len(),
            failed[0]
        );
        // A set holds each scalar once (the API server merges duplicates into one).
        let finalizers = [json!("a"), json!("b")];
        let failed = failures(&finalizers, |list| match list {
            Some(l) if l.len() == 2 && l[0] == l[1] => json!({}),
            None => json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "m"}}),
            Some(l) => json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "m", "finalizers": l}}),
        });
        assert!(
            failed.is_empty(),
            "{} pairs fail, first: {}",
            failed.len(),
            failed[0]
        );
    }
}
