//! Drift diff: desired objects against live objects, the way Fleet's agent monitors a
//! BundleDeployment (`monitor/updatestatus.go`, `desiredset/*`, `applied/diff.go`).
//!
//! * **missing**: a desired object with no live object of the set;
//! * **extra**: a live object of the set (label `objectset.rio.cattle.io/hash`) that is not
//!   desired, of a desired group/kind and in a namespace the desired objects use, not labelled
//!   `objectset.rio.cattle.io/prune: "false"`, and (when the previous revision is given) part of
//!   the previous revision by kind and name;
//! * **modified**: after normalisation, the live object does not hold what the desired object
//!   says (three-way patch with original = nil: fields only the live object has are never
//!   drift); the patch reported is the JSON merge patch from normalised live to predicted live.
//!
//! ```
//! use fleet_drift::diff::{self, DiffOptions, rules::Rules, schema::BuiltinSchema};
//! use serde_json::json;
//!
//! let hash = diff::set_hash(&diff::set_id("my-app", "default", ""));
//! let desired = vec![json!({"apiVersion": "v1", "kind": "ConfigMap",
//!     "metadata": {"name": "cm"}, "data": {"foo": "bar"}})];
//! let live = vec![json!({"apiVersion": "v1", "kind": "ConfigMap",
//!     "metadata": {"name": "cm", "namespace": "default", "labels": {diff::LABEL_HASH: hash}},
//!     "data": {"foo": "changed"}})];
//! let rules = Rules::default();
//! let options = DiffOptions::new(&BuiltinSchema, &hash, &rules);
//! let report = diff::diff(&desired, &live, &options).unwrap();
//! assert_eq!(report.entries[0].to_string(),
//!     r#"configmap.v1 default/cm modified {"data":{"foo":"bar"}}"#);
//! ```

mod identity;
pub mod merge;
pub mod rules;
pub mod schema;

use std::collections::{BTreeSet, HashMap};

use rustc_hash::{FxHashMap, FxHashSet};
use std::fmt;

use fleet_core::crd::ModifiedStatus;
use serde::Serialize;
use serde_json::Value;

/// Resource quantities compared by value (moved to [`fleet_smp::quantity`]).
pub use fleet_smp::quantity;
pub use identity::{AGENT_BOOTSTRAP_SET_ID, LABEL_HASH, LABEL_PRUNE, set_hash, set_id};

use crate::comparable as normalize;
use fleet_smp as smp;
use rules::{ObjectRef, Rules};
use schema::{MergeSchema, group_of};

/// An object that cannot be diffed.
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    /// The object lacks `apiVersion`, `kind` or `metadata.name`, or is not a mapping.
    #[error("{side} object #{index}: {reason}")]
    Object {
        /// `desired` or `live`.
        side: &'static str,
        /// Position in the input list.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// Two desired objects have the same identity.
    #[error("desired objects #{first} and #{second} are both {kind} {namespace}/{name}")]
    Duplicate {
        /// Kind.
        kind: String,
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// Position of the first.
        first: usize,
        /// Position of the second.
        second: usize,
    },
}

/// The kind of a drift entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Desired, not live.
    Missing,
    /// Live in the set, not desired.
    Extra,
    /// Live differs from desired.
    Modified,
}

impl State {
    /// `missing`, `extra` or `modified`.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Missing => "missing",
            State::Extra => "extra",
            State::Modified => "modified",
        }
    }
}

/// One drifted object (Fleet's `ModifiedStatus`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// Namespace; empty for cluster-scoped objects.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Missing, extra or modified.
    pub state: State,
    /// For modified objects, the JSON merge patch from (normalised) live to predicted live, as
    /// Go writes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch: Option<String>,
    /// For missing objects: an object with that identity exists but does not carry the set's
    /// label (not owned by this BundleDeployment).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub exist: bool,
}

impl Entry {
    /// Fleet's sort key of `modifiedStatus`: `apiVersion/kind/namespace/name`.
    pub fn sort_key(&self) -> String {
        format!(
            "{}/{}/{}/{}",
            self.api_version, self.kind, self.namespace, self.name
        )
    }
}

/// Fleet's object name in status messages (`<kind>.<group> <ns>/<name>`).
pub use fleet_core::state::object_name as display_name;

impl From<&Entry> for ModifiedStatus {
    /// The entry as a BundleDeployment's `status.modifiedStatus` item.
    fn from(e: &Entry) -> ModifiedStatus {
        ModifiedStatus {
            kind: e.kind.clone(),
            api_version: e.api_version.clone(),
            namespace: e.namespace.clone(),
            name: e.name.clone(),
            missing: e.state == State::Missing,
            exist: e.exist,
            delete: e.state == State::Extra,
            patch: e.patch.clone().unwrap_or_default(),
            ..ModifiedStatus::default()
        }
    }
}

impl fmt::Display for Entry {
    /// Fleet's `ModifiedStatus.String()` ([`fleet_core::state::modified_status_string`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&fleet_core::state::modified_status_string(
            &ModifiedStatus::from(self),
        ))
    }
}

/// A desired object that exists live in the set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Compared {
    /// Position in the desired list.
    pub desired: usize,
    /// Position in the live list.
    pub live: usize,
    /// Whether it was reported as modified.
    pub modified: bool,
}

/// The result of a diff.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Drifted objects, sorted as Fleet sorts `modifiedStatus`.
    pub entries: Vec<Entry>,
    /// The desired objects found live (Fleet's `plan.Objects`), in desired order.
    pub compared: Vec<Compared>,
}

impl Report {
    /// Whether nothing drifted.
    pub fn in_sync(&self) -> bool {
        self.entries.is_empty()
    }

    /// Number of entries in each state: (missing, extra, modified).
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut c = (0, 0, 0);
        for e in &self.entries {
            match e.state {
                State::Missing => c.0 += 1,
                State::Extra => c.1 += 1,
                State::Modified => c.2 += 1,
            }
        }
        c
    }
}

/// How to diff.
pub struct DiffOptions<'a> {
    /// Per-kind facts (strategic merge keys, scope).
    pub schema: &'a dyn MergeSchema,
    /// Namespace of namespaced desired objects that have none.
    pub default_namespace: String,
    /// Value of the `objectset.rio.cattle.io/hash` label of the set.
    pub set_hash: String,
    /// comparePatches and Flux ignore rules.
    pub rules: &'a Rules,
    /// `(kind, name)` of the objects of the previously applied revision; when given, only
    /// live objects named there are reported as extra.
    pub previous: Option<BTreeSet<(String, String)>>,
}

impl<'a> DiffOptions<'a> {
    /// Options with default namespace `default` and no previous revision.
    pub fn new(schema: &'a dyn MergeSchema, set_hash: &str, rules: &'a Rules) -> Self {
        DiffOptions {
            schema,
            default_namespace: "default".to_string(),
            set_hash: set_hash.to_string(),
            rules,
            previous: None,
        }
    }
}

/// Flattens parsed YAML documents into objects: `null` documents are dropped and `List`
/// objects (`kind: List` or any `*List` with `items`) contribute their items.
pub fn objects_from_documents(docs: Vec<Value>) -> Vec<Value> {
    let mut out = Vec::with_capacity(docs.len());
    for doc in docs {
        if doc.is_null() {
            continue;
        }
        match fleet_core::yaml::list_items(&doc) {
            Some(items) => out.extend(objects_from_documents(items.clone())),
            None => out.push(doc),
        }
    }
    out
}

/// The identity fields of an object, borrowed.
#[derive(Clone, Debug)]
struct Ident<'v> {
    api_version: &'v str,
    kind: &'v str,
    namespace: &'v str,
    name: &'v str,
}

type Key<'v> = (&'v str, &'v str, &'v str, &'v str); // (group, kind, namespace, name)

impl<'v> Ident<'v> {
    fn key(&self) -> Key<'v> {
        (
            group_of(self.api_version),
            self.kind,
            self.namespace,
            self.name,
        )
    }
}

/// The string at an RFC 6901 pointer, walking the tokens without allocating (only `~1` is
/// unescaped, which is all the label keys used here need).
fn str_at<'v>(obj: &'v Value, ptr: &str) -> Option<&'v str> {
    at(obj, ptr).and_then(Value::as_str)
}

fn at<'v>(obj: &'v Value, ptr: &str) -> Option<&'v Value> {
    let mut cur = obj;
    for token in ptr.strip_prefix('/')?.split('/') {
        let map = cur.as_object()?;
        cur = if token.contains('~') {
            map.get(&token.replace("~1", "/").replace("~0", "~"))?
        } else {
            map.get(token)?
        };
    }
    Some(cur)
}

fn ident<'v>(side: &'static str, index: usize, obj: &'v Value) -> Result<Ident<'v>, DiffError> {
    let err = |reason: &str| DiffError::Object {
        side,
        index,
        reason: reason.to_string(),
    };
    let Some(map) = obj.as_object() else {
        return Err(err("not a mapping"));
    };
    let text = |v: Option<&'v Value>| v.and_then(Value::as_str).filter(|s| !s.is_empty());
    let api_version = text(map.get("apiVersion")).ok_or_else(|| err("no apiVersion"))?;
    let kind = text(map.get("kind")).ok_or_else(|| err("no kind"))?;
    let metadata = map.get("metadata").and_then(Value::as_object);
    let name = text(metadata.and_then(|m| m.get("name")))
        .ok_or_else(|| err(&format!("{kind} without metadata.name")))?;
    let namespace = text(metadata.and_then(|m| m.get("namespace"))).unwrap_or("");
    Ok(Ident {
        api_version,
        kind,
        namespace,
        name,
    })
}

/// Scope of custom kinds, read from CustomResourceDefinitions among the objects.
fn crd_scopes(objects: &[&Value]) -> HashMap<(String, String), bool> {
    let mut scopes = HashMap::new();
    for obj in objects {
        if obj.get("kind").and_then(Value::as_str) != Some("CustomResourceDefinition") {
            continue;
        }
        let (Some(group), Some(kind)) =
            (str_at(obj, "/spec/group"), str_at(obj, "/spec/names/kind"))
        else {
            continue;
        };
        let namespaced = str_at(obj, "/spec/scope") != Some("Cluster");
        scopes.insert((group.to_string(), kind.to_string()), namespaced);
    }
    scopes
}

/// Compares desired objects with live objects.
///
/// `desired` are the objects as rendered (namespaced ones without a namespace go to
/// `options.default_namespace`); `live` are objects as the API server returns them, of this
/// set or not (only those labelled with `options.set_hash` take part, except to tell a missing
/// object that exists unowned).
pub fn diff<'a>(
    desired: &'a [Value],
    live: &'a [Value],
    options: &'a DiffOptions<'_>,
) -> Result<Report, DiffError> {
    let all: Vec<&Value> = desired.iter().chain(live.iter()).collect();
    let scopes = crd_scopes(&all);
    let mut scope_cache: FxHashMap<(&str, &str), bool> = FxHashMap::default();
    let mut namespaced = |api_version: &'a str, kind: &'a str| -> bool {
        *scope_cache.entry((api_version, kind)).or_insert_with(|| {
            options
                .schema
                .is_namespaced(api_version, kind)
                .or_else(|| {
                    scopes
                        .get(&(group_of(api_version).to_string(), kind.to_string()))
                        .copied()
                })
                .unwrap_or(true)
        })
    };

    // Desired objects, namespaces adjusted.
    let mut desired_idents = Vec::with_capacity(desired.len());
    let mut desired_by_key: FxHashMap<Key<'_>, usize> = FxHashMap::default();
    desired_by_key.reserve(desired.len());
    let mut desired_gks: FxHashSet<(&str, &str)> = FxHashSet::default();
    let mut desired_namespaces: FxHashSet<&str> = FxHashSet::default();
    for (index, obj) in desired.iter().enumerate() {
        let mut id = ident("desired", index, obj)?;
        if namespaced(id.api_version, id.kind) {
            if id.namespace.is_empty() {
                id.namespace = &options.default_namespace;
            }
            desired_namespaces.insert(id.namespace);
        } else {
            id.namespace = "";
        }
        desired_gks.insert((group_of(id.api_version), id.kind));
        if let Some(first) = desired_by_key.insert(id.key(), index) {
            return Err(DiffError::Duplicate {
                kind: id.kind.to_string(),
                namespace: id.namespace.to_string(),
                name: id.name.to_string(),
                first,
                second: index,
            });
        }
        desired_idents.push(id);
    }

    // Live objects: those of the set (in scope), and the rest by key (for "exist").
    let mut in_set: Vec<(usize, Ident<'_>)> = Vec::new();
    let mut set_by_key: FxHashMap<Key<'_>, usize> = FxHashMap::default();
    set_by_key.reserve(live.len());
    let mut unowned: FxHashSet<Key<'_>> = FxHashSet::default();
    for (index, obj) in live.iter().enumerate() {
        let mut id = ident("live", index, obj)?;
        let is_namespaced = namespaced(id.api_version, id.kind);
        if !is_namespaced {
            id.namespace = "";
        }
        let labelled = obj
            .get("metadata")
            .and_then(|m| m.get("labels"))
            .and_then(|l| l.get(LABEL_HASH))
            .and_then(Value::as_str)
            == Some(options.set_hash.as_str());
        let in_scope = desired_gks.contains(&(group_of(id.api_version), id.kind))
            && (!is_namespaced || desired_namespaces.contains(id.namespace));
        if labelled && in_scope {
            set_by_key.insert(id.key(), in_set.len());
            in_set.push((index, id));
        } else {
            unowned.insert(id.key());
        }
    }

    let hpa = hpa_ranges(desired, &desired_idents, &set_by_key);

    let mut report = Report::default();
    for (d_index, id) in desired_idents.iter().enumerate() {
        let obj_ref = ObjectRef {
            api_version: id.api_version,
            kind: id.kind,
            namespace: id.namespace,
            name: id.name,
            labels: desired[d_index]
                .get("metadata")
                .and_then(|m| m.get("labels"))
                .and_then(Value::as_object),
            annotations: desired[d_index]
                .get("metadata")
                .and_then(|m| m.get("annotations"))
                .and_then(Value::as_object),
        };
        let key = id.key();
        match set_by_key.get(&key) {
            None => {
                if options.rules.ignores_missing(&obj_ref) {
                    continue;
                }
                report.entries.push(Entry {
                    api_version: id.api_version.to_string(),
                    kind: id.kind.to_string(),
                    namespace: id.namespace.to_string(),
                    name: id.name.to_string(),
                    state: State::Missing,
                    patch: None,
                    exist: unowned.contains(&key),
                });
            }
            Some(&slot) => {
                let (l_index, _) = &in_set[slot];
                let replicas_range = if hpa.is_empty() {
                    None
                } else {
                    hpa.get(&(
                        id.namespace.to_string(),
                        id.kind.to_string(),
                        id.name.to_string(),
                    ))
                    .copied()
                };
                let patch = compare(
                    options,
                    &obj_ref,
                    &desired[d_index],
                    &live[*l_index],
                    replicas_range,
                );
                report.compared.push(Compared {
                    desired: d_index,
                    live: *l_index,
                    modified: patch.is_some(),
                });
                if let Some(patch) = patch {
                    report.entries.push(Entry {
                        api_version: live_api_version(&live[*l_index], id.api_version),
                        kind: id.kind.to_string(),
                        namespace: id.namespace.to_string(),
                        name: id.name.to_string(),
                        state: State::Modified,
                        patch: Some(patch),
                        exist: false,
                    });
                }
            }
        }
    }

    for (l_index, id) in &in_set {
        if desired_by_key.contains_key(&id.key()) {
            continue;
        }
        if str_at(
            &live[*l_index],
            "/metadata/labels/objectset.rio.cattle.io~1prune",
        ) == Some("false")
        {
            continue;
        }
        if let Some(previous) = &options.previous
            && !previous.contains(&(id.kind.to_string(), id.name.to_string()))
        {
            continue;
        }
        report.entries.push(Entry {
            api_version: id.api_version.to_string(),
            kind: id.kind.to_string(),
            namespace: id.namespace.to_string(),
            name: id.name.to_string(),
            state: State::Extra,
            patch: None,
            exist: false,
        });
    }

    report.entries.sort_by_cached_key(Entry::sort_key);
    Ok(report)
}

fn live_api_version(live: &Value, fallback: &str) -> String {
    str_at(live, "/apiVersion").unwrap_or(fallback).to_string()
}

/// `(namespace, kind, name)` of Deployments/StatefulSets scaled by an HPA of the bundle that
/// is live in the set, with the HPA's replica range.
fn hpa_ranges(
    desired: &[Value],
    idents: &[Ident<'_>],
    set_by_key: &FxHashMap<Key<'_>, usize>,
) -> HashMap<(String, String, String), (i64, i64)> {
    let mut out = HashMap::new();
    for (obj, id) in desired.iter().zip(idents) {
        if id.kind != "HorizontalPodAutoscaler" || group_of(id.api_version) != "autoscaling" {
            continue;
        }
        if !set_by_key.contains_key(&id.key()) {
            continue;
        }
        let (Some(kind), Some(name)) = (
            str_at(obj, "/spec/scaleTargetRef/kind"),
            str_at(obj, "/spec/scaleTargetRef/name"),
        ) else {
            continue;
        };
        if !matches!(kind, "Deployment" | "StatefulSet") {
            continue;
        }
        let min = obj
            .pointer("/spec/minReplicas")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let Some(max) = obj.pointer("/spec/maxReplicas").and_then(Value::as_i64) else {
            continue;
        };
        out.insert(
            (id.namespace.to_string(), kind.to_string(), name.to_string()),
            (min, max),
        );
    }
    out
}

/// Compares one desired object with its live object; `Some(patch)` when modified.
fn compare<'s>(
    options: &'s DiffOptions<'_>,
    obj_ref: &ObjectRef<'s>,
    desired: &Value,
    live: &Value,
    replicas_range: Option<(i64, i64)>,
) -> Option<String> {
    let applicable = if options.rules.is_empty() {
        rules::Applicable::default()
    } else {
        options.rules.applicable(obj_ref)
    };
    if applicable.ignore_object {
        return None;
    }
    let group = group_of(obj_ref.api_version);
    let kind = obj_ref.kind;
    let ctx = merge::compare_for(options.schema, obj_ref.api_version, kind);
    let is_secret = group.is_empty() && kind == "Secret";
    let is_role = group == "rbac.authorization.k8s.io" && matches!(kind, "Role" | "ClusterRole");
    let is_webhook = group == "admissionregistration.k8s.io"
        && matches!(
            kind,
            "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration"
        );
    let excused_replicas = replicas_range.is_some_and(|(min, max)| {
        live.pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .is_some_and(|r| r >= min && r <= max)
    });
    let special = is_secret || is_role || is_webhook || excused_replicas || !applicable.is_empty();

    // Fast path: nothing to normalise beyond the skipped fields.
    if !special && smp::contains(&ctx, desired, live) {
        return None;
    }

    let mut d = smp::strip_nulls(desired);
    let mut l = live.clone();
    for obj in [&mut d, &mut l] {
        normalize::strip_server_fields(obj);
        if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.remove("namespace");
        }
        if is_secret {
            normalize::fold_secret_string_data(obj);
        }
        if is_role {
            normalize::normalize_role(obj);
        }
        if excused_replicas {
            rules::remove_pointer(obj, "/spec/replicas");
        }
        for pointer in &applicable.pointers {
            rules::remove_pointer(obj, pointer);
        }
        rules::apply_operations(obj, &applicable.operations);
    }
    if is_webhook {
        let placeholders = normalize::webhook_ca_bundle_placeholders(&d);
        normalize::remove_ca_bundles(&mut d, &placeholders);
        normalize::remove_ca_bundles(&mut l, &placeholders);
    }
    if smp::contains(&ctx, &d, &l) {
        return None;
    }
    // The patch is made by this crate from the desired object; should the desired object
    // carry strategic merge directives of its own that cannot be applied, report it as a
    // replacement of everything it says.
    let predicted = merge::predict(&ctx, &l, &d).unwrap_or_else(|_| d.clone());
    merge::merge_patch(&l, &predicted).map(|p| {
        // A JSON value has no NaN or infinity, so Go's encoding cannot fail; fall back to
        // serde_json's text all the same rather than panic.
        fleet_core::gojson::to_string(&p).unwrap_or_else(|_| p.to_string())
    })
}
