//! Resources as the build carries them: the object plus its name history.

use serde_json::{Map, Value};

use fleet_smp::schema::Schema;

/// How a generated ConfigMap/Secret joins the resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Behavior {
    Create,
    Merge,
    Replace,
}

/// Generator bookkeeping of a resource.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Generated {
    /// Whether the name gets a content hash suffix at the end of the build.
    pub hash: bool,
}

/// One resource of the build.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Res {
    pub obj: Value,
    /// Names the object had before its current one, oldest first.
    pub prev_names: Vec<String>,
    /// Kinds the object had before its current one (patches with `allowKindChange`).
    pub prev_kinds: Vec<String>,
    /// Namespaces the object had before its current one, oldest first.
    pub prev_namespaces: Vec<String>,
    /// Name prefixes applied, innermost first.
    pub prefixes: Vec<String>,
    /// Name suffixes applied, innermost first.
    pub suffixes: Vec<String>,
    /// Set for generated ConfigMaps and Secrets.
    pub generated: Option<Generated>,
    /// The file the resource came from (for messages).
    pub file: String,
    /// Identity of the resource within the process, kept through every transformation.
    pub uid: usize,
    /// The generator kind that made the resource (`ConfigMapGenerator`, `SecretGenerator`).
    pub generator: Option<&'static str>,
    /// The `metadata` name and namespace of the builtin generator plugin configuration that
    /// made it.
    pub configured_by: Option<(String, Option<String>)>,
    /// Whether a kustomization with `buildMetadata: [originAnnotations]` holds the resource.
    pub origin: bool,
    /// Whether the current name was recorded in the id history since the last rename
    /// (kustomize's `StorePreviousId`, which the namespace transformer calls for every
    /// object): name references search the names of earlier ids only.
    pub current_id_stored: bool,
    /// The transformers recorded on the object, as entries of the
    /// `alpha.config.kubernetes.io/transformations` list.
    pub transformations: Vec<String>,
}

static NEXT_UID: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

pub(crate) fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(*p)?;
    }
    cur.as_str()
}

impl Res {
    pub fn new(obj: Value, file: &str) -> Self {
        Res {
            obj,
            prev_names: Vec::new(),
            prev_kinds: Vec::new(),
            prev_namespaces: Vec::new(),
            prefixes: Vec::new(),
            suffixes: Vec::new(),
            generated: None,
            file: file.to_string(),
            uid: NEXT_UID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            generator: None,
            configured_by: None,
            origin: false,
            current_id_stored: false,
            transformations: Vec::new(),
        }
    }

    pub fn kind(&self) -> &str {
        str_at(&self.obj, &["kind"]).unwrap_or("")
    }

    pub fn api_version(&self) -> &str {
        str_at(&self.obj, &["apiVersion"]).unwrap_or("")
    }

    pub fn group(&self) -> &str {
        fleet_core::meta::split_api_version(self.api_version()).0
    }

    pub fn version(&self) -> &str {
        fleet_core::meta::split_api_version(self.api_version()).1
    }

    pub fn name(&self) -> &str {
        str_at(&self.obj, &["metadata", "name"]).unwrap_or("")
    }

    pub fn namespace(&self) -> &str {
        str_at(&self.obj, &["metadata", "namespace"]).unwrap_or("")
    }

    /// Whether `name` is the current name or any earlier one.
    pub fn had_name(&self, name: &str) -> bool {
        self.name() == name || self.prev_names.iter().any(|n| n == name)
    }

    /// Whether `ns` is the current namespace or any earlier one (empty and `default` are
    /// the same).
    pub fn had_namespace(&self, ns: &str) -> bool {
        ns_eq(self.namespace(), ns) || self.prev_namespaces.iter().any(|n| ns_eq(n, ns))
    }

    pub fn metadata_mut(&mut self) -> &mut Map<String, Value> {
        let obj = ensure_map(&mut self.obj);
        let meta = obj
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        ensure_map(meta)
    }

    pub fn set_name(&mut self, name: &str) {
        if self.name() == name {
            return;
        }
        let old = self.name().to_string();
        self.prev_names.push(old);
        self.current_id_stored = false;
        self.metadata_mut()
            .insert("name".into(), Value::String(name.to_string()));
    }

    /// Records the current id in the history (kustomize's `StorePreviousId`).
    pub fn store_previous_id(&mut self) {
        self.current_id_stored = true;
    }

    /// The names of the ids recorded in the history, oldest first (kustomize's `PrevIds`).
    pub fn previous_id_names(&self) -> impl Iterator<Item = &str> {
        let current = self.current_id_stored.then(|| self.name());
        self.prev_names.iter().map(String::as_str).chain(current)
    }

    /// The namespace the object had before any transformer changed it (kustomize's
    /// `OrgId().Namespace`).
    pub fn original_namespace(&self) -> &str {
        self.prev_namespaces
            .first()
            .map_or(self.namespace(), String::as_str)
    }

    pub fn set_namespace(&mut self, ns: &str) {
        if self.namespace() == ns && self.obj.pointer("/metadata/namespace").is_some() {
            return;
        }
        let old = self.namespace().to_string();
        self.prev_namespaces.push(old);
        self.metadata_mut()
            .insert("namespace".into(), Value::String(ns.to_string()));
    }

    /// Whether the kind is namespaced, as Kustomize v5.5.0 sees it: unknown kinds are, and
    /// so are cluster-scoped kinds newer than its embedded schema (Kubernetes 1.21).
    pub fn is_namespaced(&self, schema: &Schema) -> bool {
        if NEWER_THAN_KUSTOMIZE_SCHEMA.contains(&(self.group(), self.kind())) {
            return true;
        }
        schema
            .is_namespaced(self.group(), self.kind())
            .unwrap_or(true)
    }

    /// `Kind.version.group/name.namespace`, as kustomize writes ids in messages.
    pub fn id_string(&self) -> String {
        let group = if self.group().is_empty() {
            "[noGrp]"
        } else {
            self.group()
        };
        let ns = if self.namespace().is_empty() {
            "[noNs]"
        } else {
            self.namespace()
        };
        format!(
            "{}.{}.{}/{}.{}",
            self.kind(),
            self.version(),
            group,
            self.name(),
            ns
        )
    }

    /// Whether two resources have the same current id.
    pub fn same_id(&self, other: &Res) -> bool {
        self.kind() == other.kind()
            && self.group() == other.group()
            && self.version() == other.version()
            && self.name() == other.name()
            && ns_eq(self.namespace(), other.namespace())
    }
}

/// Cluster-scoped kinds that Kustomize v5.5.0's embedded schema (Kubernetes 1.21) does not
/// know, so that it treats them as namespaced.
const NEWER_THAN_KUSTOMIZE_SCHEMA: &[(&str, &str)] = &[
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    (
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicyBinding",
    ),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
    (
        "admissionregistration.k8s.io",
        "MutatingAdmissionPolicyBinding",
    ),
    ("certificates.k8s.io", "ClusterTrustBundle"),
    ("networking.k8s.io", "IPAddress"),
    ("networking.k8s.io", "ServiceCIDR"),
    ("resource.k8s.io", "DeviceClass"),
    ("resource.k8s.io", "ResourceSlice"),
    ("resource.k8s.io", "DeviceTaintRule"),
    ("storage.k8s.io", "VolumeAttributesClass"),
    ("storagemigration.k8s.io", "StorageVersionMigration"),
];

pub(crate) fn ns_eq(a: &str, b: &str) -> bool {
    fn norm(s: &str) -> &str {
        if s.is_empty() { "default" } else { s }
    }
    norm(a) == norm(b)
}

pub(crate) fn ensure_map(v: &mut Value) -> &mut Map<String, Value> {
    if !v.is_object() {
        *v = Value::Object(Map::new());
    }
    match v {
        Value::Object(m) => m,
        _ => unreachable!("just made an object"),
    }
}

/// Visits the values at `path` (map keys; lists on the way are traversed item by item).
/// Missing maps on the way are created when `create` is set; the leaf is then created as
/// an empty map.
pub(crate) fn visit_path(
    v: &mut Value,
    path: &[&str],
    create: bool,
    f: &mut dyn FnMut(&mut Value),
) {
    if let Value::Array(items) = v {
        for item in items {
            visit_path(item, path, create, f);
        }
        return;
    }
    let Some((first, rest)) = path.split_first() else {
        f(v);
        return;
    };
    let Value::Object(map) = v else {
        return;
    };
    // A `[]` segment names a list: it is traversed but never created.
    let (key, is_list) = match first.strip_suffix("[]") {
        Some(key) => (key, true),
        None => (*first, false),
    };
    match map.get_mut(key) {
        Some(next) if !next.is_null() => visit_path(next, rest, create, f),
        _ if create && !is_list => {
            let next = map
                .entry(key.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if next.is_null() {
                *next = Value::Object(Map::new());
            }
            visit_path(next, rest, create, f);
        }
        _ => {}
    }
}
