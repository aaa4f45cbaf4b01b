//! Strategic-merge metadata for Kubernetes kinds: patch strategy and merge keys per field,
//! and which kinds are cluster-scoped.
//!
//! The built-in table is generated from the Kubernetes OpenAPI definitions (v1.32.0, the
//! version of the `kubectl` that embeds the reference kustomize) by
//! `fleet-render/smp/schema/generate.py`, which reads the `x-kubernetes-patch-strategy`,
//! `x-kubernetes-patch-merge-key`, `x-kubernetes-list-type` and `x-kubernetes-list-map-keys`
//! extensions, and resource scopes from the `k8s-openapi` crate. CustomResourceDefinitions add
//! their kinds with [`Schema::add_crd`].
//!
//! ```
//! use fleet_smp::schema::{Gvk, Schema};
//! let schema = Schema::builtin();
//! let gvk = Gvk::from_api_version("apps/v1", "Deployment");
//! let containers = schema
//!     .field(&gvk, &["spec", "template", "spec", "containers"])
//!     .unwrap();
//! assert!(containers.strategy.merge);
//! assert_eq!(containers.merge_keys, vec!["name".to_string()]);
//! assert_eq!(schema.is_namespaced("rbac.authorization.k8s.io", "ClusterRole"), Some(false));
//! ```

use std::collections::HashMap;

use rustc_hash::FxHashMap;
use std::sync::{Arc, LazyLock};

use serde::Deserialize;
use serde_json::Value;

const BUILTIN_JSON: &str = include_str!("../schema/builtin.json");

/// The Kubernetes version the built-in table was generated from.
pub const BUILTIN_KUBERNETES_VERSION: &str = "v1.32.0";

/// A group, version and kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Gvk {
    /// API group, empty for the core group.
    pub group: String,
    /// API version within the group (`v1`).
    pub version: String,
    /// Kind (`Deployment`).
    pub kind: String,
}

impl Gvk {
    /// Splits an `apiVersion` (`apps/v1` or `v1`) and pairs it with `kind`.
    pub fn from_api_version(api_version: &str, kind: &str) -> Self {
        let (group, version) = fleet_core::meta::split_api_version(api_version);
        Gvk {
            group: group.to_string(),
            version: version.to_string(),
            kind: kind.to_string(),
        }
    }

    /// The GVK of an object from its `apiVersion` and `kind` (empty strings when absent).
    pub fn of(object: &Value) -> Self {
        let api_version = object
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("");
        let kind = object.get("kind").and_then(Value::as_str).unwrap_or("");
        Self::from_api_version(api_version, kind)
    }

    /// The `apiVersion` string (`apps/v1`, or `v1` for the core group).
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

/// How a field merges in a strategic merge patch (`x-kubernetes-patch-strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Strategy {
    /// `merge`: lists merge by key (or as sets of scalars).
    pub merge: bool,
    /// `replace`: the patch value replaces the field.
    pub replace: bool,
    /// `retainKeys`: fields of the map not named by the patch are cleared.
    pub retain_keys: bool,
}

impl Strategy {
    fn parse(text: &str) -> Self {
        let mut strategy = Strategy::default();
        for part in text.split(',') {
            match part.trim() {
                "merge" => strategy.merge = true,
                "replace" => strategy.replace = true,
                "retainKeys" => strategy.retain_keys = true,
                _ => {}
            }
        }
        strategy
    }
}

/// `x-kubernetes-list-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListType {
    /// Replaced as a whole.
    Atomic,
    /// Scalars forming a set.
    Set,
    /// Objects keyed by the list map keys.
    Map,
}

/// What kind of collection a field is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Collection {
    /// A single value (an object when [`FieldInfo::type_name`] is set).
    #[default]
    Single,
    /// A list; [`FieldInfo::type_name`] is the item type.
    List,
    /// A string-keyed map; [`FieldInfo::type_name`] is the value type.
    Map,
}

/// Merge metadata of one field.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldInfo {
    /// Patch strategy.
    pub strategy: Strategy,
    /// Keys identifying list items: `x-kubernetes-list-map-keys` when given, else the
    /// `x-kubernetes-patch-merge-key`. Empty for lists without keys.
    pub merge_keys: Vec<String>,
    /// The single `x-kubernetes-patch-merge-key`, when given.
    pub patch_merge_key: Option<String>,
    /// `x-kubernetes-list-type`, when given.
    pub list_type: Option<ListType>,
    /// Whether the field is a list, a map, or a single value.
    pub collection: Collection,
    /// The definition of the field's value (or of its items), when it is an object type.
    pub type_name: Option<String>,
}

impl FieldInfo {
    /// Whether list items are merged by key (strategy `merge` with keys, or list type `map`).
    pub fn is_associative(&self) -> bool {
        !self.merge_keys.is_empty()
            && (self.strategy.merge || self.list_type == Some(ListType::Map))
    }

    /// Whether this is a list of scalars merged as a set (strategy `merge` without keys, or
    /// list type `set`).
    pub fn is_set(&self) -> bool {
        self.collection == Collection::List
            && self.merge_keys.is_empty()
            && (self.strategy.merge || self.list_type == Some(ListType::Set))
    }
}

/// The fields of one object type.
#[derive(Debug, Clone, Default)]
pub struct TypeDef {
    fields: FxHashMap<String, FieldInfo>,
}

impl TypeDef {
    /// Merge metadata of a field of this type.
    pub fn field(&self, name: &str) -> Option<&FieldInfo> {
        self.fields.get(name)
    }
}

/// Strategic-merge metadata for a set of kinds.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    types: FxHashMap<String, Arc<TypeDef>>,
    kinds: FxHashMap<(String, String), Vec<(String, String)>>,
    scope: FxHashMap<(String, String), bool>,
}

#[derive(Deserialize)]
struct RawTable {
    types: HashMap<String, HashMap<String, RawField>>,
    kinds: Vec<(String, String, String, String)>,
    scope: HashMap<String, bool>,
}

#[derive(Deserialize)]
struct RawField {
    t: Option<String>,
    c: Option<String>,
    s: Option<String>,
    k: Option<String>,
    mk: Option<Vec<String>>,
    l: Option<String>,
}

fn list_type(text: &str) -> Option<ListType> {
    match text {
        "atomic" => Some(ListType::Atomic),
        "set" => Some(ListType::Set),
        "map" => Some(ListType::Map),
        _ => None,
    }
}

static BUILTIN: LazyLock<Schema> = LazyLock::new(|| {
    // The table is generated and committed; a parse failure is a build defect caught by the
    // unit tests, so an empty schema is the safe fallback at run time.
    let raw: RawTable = serde_json::from_str(BUILTIN_JSON).unwrap_or(RawTable {
        types: HashMap::new(),
        kinds: Vec::new(),
        scope: HashMap::new(),
    });
    let mut schema = Schema::default();
    for (name, fields) in raw.types {
        let mut def = TypeDef::default();
        for (field, raw) in fields {
            let mut merge_keys = raw.mk.clone().unwrap_or_default();
            if merge_keys.is_empty()
                && let Some(key) = &raw.k
            {
                merge_keys.push(key.clone());
            }
            let info = FieldInfo {
                strategy: raw.s.as_deref().map(Strategy::parse).unwrap_or_default(),
                merge_keys,
                patch_merge_key: raw.k,
                list_type: raw.l.as_deref().and_then(list_type),
                collection: match raw.c.as_deref() {
                    Some("list") => Collection::List,
                    Some("map") => Collection::Map,
                    _ => Collection::Single,
                },
                type_name: raw.t,
            };
            def.fields.insert(field, info);
        }
        schema.types.insert(name, Arc::new(def));
    }
    for (group, version, kind, name) in raw.kinds {
        schema
            .kinds
            .entry((group, kind))
            .or_default()
            .push((version, name));
    }
    for (key, namespaced) in raw.scope {
        if let Some((group, kind)) = key.split_once('/') {
            schema
                .scope
                .insert((group.to_string(), kind.to_string()), namespaced);
        }
    }
    schema
});

impl Schema {
    /// The built-in schema of Kubernetes kinds (shared, parsed once).
    pub fn builtin() -> &'static Schema {
        &BUILTIN
    }

    /// The root type of a kind. An exact version match is preferred; otherwise another
    /// version of the same group and kind is used.
    pub fn kind_type(&self, gvk: &Gvk) -> Option<&TypeDef> {
        let versions = self.kinds.get(&(gvk.group.clone(), gvk.kind.clone()))?;
        let name = versions
            .iter()
            .find(|(v, _)| *v == gvk.version)
            .or_else(|| versions.first())
            .map(|(_, name)| name)?;
        self.types.get(name).map(Arc::as_ref)
    }

    /// Whether the schema knows the kind (in any version).
    pub fn knows_kind(&self, gvk: &Gvk) -> bool {
        self.kinds
            .contains_key(&(gvk.group.clone(), gvk.kind.clone()))
    }

    /// A type by definition name (as found in [`FieldInfo::type_name`]).
    pub fn type_def(&self, name: &str) -> Option<&TypeDef> {
        self.types.get(name).map(Arc::as_ref)
    }

    /// The type of a field's value (or items), if it is an object type.
    pub fn field_type(&self, field: &FieldInfo) -> Option<&TypeDef> {
        field.type_name.as_deref().and_then(|n| self.type_def(n))
    }

    /// Merge metadata of the field at `path` (map keys from the object root; list levels are
    /// transparent, so `["spec", "template", "spec", "containers", "env"]` names a
    /// container's `env`).
    pub fn field(&self, gvk: &Gvk, path: &[&str]) -> Option<&FieldInfo> {
        let mut ty = self.kind_type(gvk)?;
        let (last, init) = path.split_last()?;
        for segment in init {
            let field = ty.field(segment)?;
            ty = self.field_type(field)?;
        }
        ty.field(last)
    }

    /// Whether objects of this group and kind live in a namespace; `None` when unknown.
    pub fn is_namespaced(&self, group: &str, kind: &str) -> Option<bool> {
        self.scope
            .get(&(group.to_string(), kind.to_string()))
            .copied()
    }

    /// Declares the scope of a kind.
    pub fn set_namespaced(&mut self, group: &str, kind: &str, namespaced: bool) {
        self.scope
            .insert((group.to_string(), kind.to_string()), namespaced);
    }

    /// Adds the kinds a CustomResourceDefinition declares: their scope and, from each
    /// version's `openAPIV3Schema`, the list and map metadata (`x-kubernetes-list-type`,
    /// `x-kubernetes-list-map-keys`, `x-kubernetes-patch-*`). Returns whether the object was
    /// a CRD with a group and kind.
    pub fn add_crd(&mut self, crd: &Value) -> bool {
        if crd.get("kind").and_then(Value::as_str) != Some("CustomResourceDefinition") {
            return false;
        }
        let spec = crd.get("spec").unwrap_or(&Value::Null);
        let group = spec.get("group").and_then(Value::as_str);
        let kind = spec
            .get("names")
            .and_then(|n| n.get("kind"))
            .and_then(Value::as_str);
        let (Some(group), Some(kind)) = (group, kind) else {
            return false;
        };
        let namespaced = spec.get("scope").and_then(Value::as_str) != Some("Cluster");
        self.set_namespaced(group, kind, namespaced);
        let mut versions: Vec<(String, Option<&Value>)> = Vec::new();
        if let Some(list) = spec.get("versions").and_then(Value::as_array) {
            for v in list {
                if let Some(name) = v.get("name").and_then(Value::as_str) {
                    let schema = v
                        .get("schema")
                        .and_then(|s| s.get("openAPIV3Schema"))
                        .or_else(|| {
                            spec.get("validation")
                                .and_then(|s| s.get("openAPIV3Schema"))
                        });
                    versions.push((name.to_string(), schema));
                }
            }
        } else if let Some(version) = spec.get("version").and_then(Value::as_str) {
            let schema = spec
                .get("validation")
                .and_then(|s| s.get("openAPIV3Schema"));
            versions.push((version.to_string(), schema));
        }
        for (version, schema) in versions {
            let root = format!("crd:{group}/{version}/{kind}");
            if let Some(schema) = schema {
                self.add_openapi_type(&root, schema, 0);
            } else {
                self.types
                    .entry(root.clone())
                    .or_insert_with(|| Arc::new(TypeDef::default()));
            }
            let entry = self
                .kinds
                .entry((group.to_string(), kind.to_string()))
                .or_default();
            entry.retain(|(v, _)| *v != version);
            entry.push((version, root));
        }
        true
    }

    /// Adds the `definitions` of an OpenAPI (swagger) document, as kustomize's `openapi:`
    /// field supplies them: types by name (replacing built-in ones of the same name), `$ref`s
    /// between them, and kinds from `x-kubernetes-group-version-kind`. Returns how many
    /// definitions were read.
    pub fn add_openapi_definitions(&mut self, doc: &Value) -> usize {
        let Some(defs) = doc.get("definitions").and_then(Value::as_object) else {
            return 0;
        };
        for (name, def) in defs {
            self.add_openapi_type(name, def, 0);
            for gvk in def
                .get("x-kubernetes-group-version-kind")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let s = |k: &str| gvk.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                let entry = self.kinds.entry((s("group"), s("kind"))).or_default();
                entry.retain(|(v, _)| *v != s("version"));
                entry.insert(0, (s("version"), name.clone()));
            }
        }
        defs.len()
    }

    fn add_openapi_type(&mut self, name: &str, schema: &Value, depth: usize) {
        let mut def = TypeDef::default();
        if depth < 64
            && let Some(props) = schema.get("properties").and_then(Value::as_object)
        {
            for (field, prop) in props {
                let child = format!("{name}.{field}");
                let mut info = FieldInfo::default();
                let ty = prop.get("type").and_then(Value::as_str).or_else(|| {
                    if prop.get("items").is_some() {
                        Some("array")
                    } else {
                        None
                    }
                });
                let element = match ty {
                    Some("array") => {
                        info.collection = Collection::List;
                        prop.get("items")
                    }
                    Some("object") if prop.get("properties").is_none() => {
                        match prop.get("additionalProperties") {
                            Some(ap) if ap.is_object() => {
                                info.collection = Collection::Map;
                                Some(ap)
                            }
                            _ => None,
                        }
                    }
                    _ => Some(prop),
                };
                if let Some(s) = prop
                    .get("x-kubernetes-patch-strategy")
                    .and_then(Value::as_str)
                {
                    info.strategy = Strategy::parse(s);
                }
                info.patch_merge_key = prop
                    .get("x-kubernetes-patch-merge-key")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                info.merge_keys = prop
                    .get("x-kubernetes-list-map-keys")
                    .and_then(Value::as_array)
                    .map(|keys| {
                        keys.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default();
                if info.merge_keys.is_empty()
                    && let Some(key) = &info.patch_merge_key
                {
                    info.merge_keys.push(key.clone());
                }
                info.list_type = prop
                    .get("x-kubernetes-list-type")
                    .and_then(Value::as_str)
                    .and_then(list_type);
                let reference = element
                    .and_then(|e| e.get("$ref"))
                    .and_then(Value::as_str)
                    .map(|r| r.rsplit('/').next().unwrap_or(r).to_string());
                if let Some(reference) = reference {
                    info.type_name = Some(reference);
                } else if let Some(element) = element
                    && element.get("properties").is_some()
                {
                    self.add_openapi_type(&child, element, depth + 1);
                    info.type_name = Some(child);
                }
                def.fields.insert(field.clone(), info);
            }
        }
        self.types.insert(name.to_string(), Arc::new(def));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_table_parses_with_known_keys() {
        let schema = Schema::builtin();
        assert!(schema.types.len() > 300, "table did not load");
        let dep = Gvk::from_api_version("apps/v1", "Deployment");
        let ports = schema
            .field(&dep, &["spec", "template", "spec", "containers", "ports"])
            .unwrap();
        assert_eq!(ports.merge_keys, vec!["containerPort", "protocol"]);
        assert_eq!(ports.patch_merge_key.as_deref(), Some("containerPort"));
        let volumes = schema
            .field(&dep, &["spec", "template", "spec", "volumes"])
            .unwrap();
        assert!(volumes.strategy.merge && volumes.strategy.retain_keys);
        let tolerations = schema
            .field(&dep, &["spec", "template", "spec", "tolerations"])
            .unwrap();
        assert!(!tolerations.is_associative());
        let finalizers = schema.field(&dep, &["metadata", "finalizers"]).unwrap();
        assert!(finalizers.is_set());
        assert_eq!(schema.is_namespaced("", "Namespace"), Some(false));
        assert_eq!(schema.is_namespaced("apps", "Deployment"), Some(true));
        assert_eq!(schema.is_namespaced("example.com", "Foo"), None);
    }

    #[test]
    fn crd_adds_kind_and_keys() {
        let crd: Value = serde_json::json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "spec": {"group": "example.com", "scope": "Cluster",
              "names": {"kind": "Widget"},
              "versions": [{"name": "v1", "schema": {"openAPIV3Schema": {"type": "object",
                "properties": {"spec": {"type": "object", "properties": {"items": {
                  "type": "array", "x-kubernetes-list-type": "map",
                  "x-kubernetes-list-map-keys": ["id"],
                  "items": {"type": "object", "properties": {"id": {"type": "string"}}}}}}}}}}]}
        });
        let mut schema = Schema::builtin().clone();
        assert!(schema.add_crd(&crd));
        assert_eq!(schema.is_namespaced("example.com", "Widget"), Some(false));
        let gvk = Gvk::from_api_version("example.com/v1", "Widget");
        let items = schema.field(&gvk, &["spec", "items"]).unwrap();
        assert_eq!(items.merge_keys, vec!["id"]);
        assert!(items.is_associative());
    }
}
