//! Sans-I/O deploy planning: what the agent must do to the downstream cluster for one
//! BundleDeployment.
//!
//! [`plan`] turns the rendered objects, the previous inventory and the facts known about the
//! cluster into an ordered list of [`Action`]s; a shell with a Kubernetes client executes them.
//! Keeping this pure lets the ordering (namespaces, then CRDs waited for until `Established`,
//! then Helm's install order), pruning and the dependsOn rule be tested without a server.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use fleet_core::crd::{BundleDeployment, BundleDeploymentSpec, BundleResource};
use fleet_core::manifest::Manifest;
use fleet_core::state::{BundleState, deployment_state};
use fleet_core::substitute::SubstituteOptions;
use fleet_render::files::Files;
use fleet_render::render::{ClusterFacts, RenderRequest, Renderer};

use crate::hooks::{self, Hook, Operation};

/// Objects labelled with this and `"false"` are never pruned.
pub const PRUNE_LABEL: &str = "objectset.rio.cattle.io/prune";
/// Label Fleet puts on BundleDeployments: the bundle's name.
pub const BUNDLE_NAME_LABEL: &str = "fleet.cattle.io/bundle-name";
/// Label Fleet puts on BundleDeployments: the bundle's namespace.
pub const BUNDLE_NAMESPACE_LABEL: &str = "fleet.cattle.io/bundle-namespace";
/// The field manager of every server-side apply the agent sends.
pub const FIELD_MANAGER: &str = "fleet-agent";
/// Requeue delay while dependencies are not ready (Fleet's 15 s).
pub const DEPENDENCY_REQUEUE: Duration = Duration::from_secs(15);

/// Why a deployment cannot be planned; each variant names the object or input at fault.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The manifest could not be decoded.
    #[error("manifest: {0}")]
    Manifest(#[from] fleet_core::manifest::ManifestError),
    /// A manifest resource could not be decoded.
    #[error("manifest resource {name}: {reason}")]
    Resource {
        /// Resource name.
        name: String,
        /// Why.
        reason: String,
    },
    /// The `substitute` annotation is not valid.
    #[error("bundledeployment {bd}: {source}")]
    Substitute {
        /// BundleDeployment name.
        bd: String,
        /// What is wrong with it.
        #[source]
        source: fleet_core::substitute::Error,
    },
    /// Rendering failed.
    #[error("bundledeployment {bd}: {source}")]
    Render {
        /// BundleDeployment name.
        bd: String,
        /// The render error.
        #[source]
        source: Box<fleet_render::render::Error>,
    },
    /// A rendered object lacks `apiVersion`, `kind` or `metadata.name`.
    #[error("rendered object #{index} has no {field}")]
    IncompleteObject {
        /// Position in the rendered list.
        index: usize,
        /// The missing field.
        field: &'static str,
    },
    /// The API server does not serve this kind.
    #[error("{kind} {api_version} ({name}): the server does not serve this kind")]
    UnknownKind {
        /// apiVersion.
        api_version: String,
        /// Kind.
        kind: String,
        /// Object name.
        name: String,
    },
    /// An object names a namespace that neither exists nor is created by this deployment.
    #[error("{kind} {name}: namespace {namespace} not found")]
    MissingNamespace {
        /// Kind.
        kind: String,
        /// Name.
        name: String,
        /// The namespace.
        namespace: String,
    },
    /// Two rendered objects share one identity.
    #[error("duplicate object {0}")]
    Duplicate(String),
    /// A kind the server serves cluster-scoped, in a deployment with a target namespace
    /// (`namespace`). The renderer rejects the built-in kinds and CRDs of the bundle; this
    /// catches kinds only discovery knows, as Fleet's REST mapper does (same message).
    #[error(
        "invalid cluster scoped object [name={name} kind={kind} apiVersion={api_version}] found. Your config uses targetNamespace or namespace and thus forbids cluster-scoped resources. If you do not intend to disallow cluster scoped resources, you could switch to defaultNamespace"
    )]
    ClusterScoped {
        /// Object name.
        name: String,
        /// Kind.
        kind: String,
        /// apiVersion.
        api_version: String,
    },
}

/// The identity of an object in the cluster.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    /// apiVersion (`group/version` or `v1`).
    pub api_version: String,
    /// Kind.
    pub kind: String,
    /// Namespace; empty for cluster-scoped objects.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl ObjectRef {
    /// The identity of a rendered object (`index` only names it in the error).
    pub fn of(object: &Value, index: usize) -> Result<ObjectRef, Error> {
        let field = |pointer: &str, field: &'static str| {
            object
                .pointer(pointer)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .ok_or(Error::IncompleteObject { index, field })
        };
        Ok(ObjectRef {
            api_version: field("/apiVersion", "apiVersion")?,
            kind: field("/kind", "kind")?,
            namespace: object
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            name: field("/metadata/name", "metadata.name")?,
        })
    }

    /// The API group (empty for the core group).
    pub fn group(&self) -> &str {
        fleet_core::meta::split_api_version(&self.api_version).0
    }

    /// Identity regardless of version: objects keep their identity across apiVersion bumps.
    fn group_kind_key(&self) -> (String, String, String, String) {
        (
            self.group().to_string(),
            self.kind.clone(),
            self.namespace.clone(),
            self.name.clone(),
        )
    }
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fleet_render::diff::display_name(&self.api_version, &self.kind, &self.namespace, &self.name)
            .fmt(f)
    }
}

/// Discovery facts the planner needs: whether a kind is served and namespaced.
pub trait Discovery {
    /// `Some(namespaced)` when the server serves `kind` in `api_version`, else `None`.
    fn scope(&self, api_version: &str, kind: &str) -> Option<bool>;
}

/// One step for the shell to execute, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Create the namespace when missing, and apply these labels and annotations.
    EnsureNamespace {
        /// Namespace name.
        name: String,
        /// `namespaceLabels`.
        labels: BTreeMap<String, String>,
        /// `namespaceAnnotations`.
        annotations: BTreeMap<String, String>,
    },
    /// Server-side apply with [`FIELD_MANAGER`].
    Apply {
        /// The object.
        object: Value,
        /// `force=true`: take over fields owned by other managers.
        force: bool,
    },
    /// Block until this CustomResourceDefinition reports `Established=True`.
    WaitEstablished {
        /// CRD name.
        name: String,
    },
    /// Delete an object no longer desired.
    Delete {
        /// The object.
        object: ObjectRef,
    },
    /// Run the Helm hooks of one event ([`crate::hooks::Run`]); their failure fails the deploy
    /// with [`hooks::Event::failure`]'s message.
    RunHooks {
        /// The event.
        event: hooks::Event,
        /// The deployment's hooks (the run picks those of the event).
        hooks: Vec<Hook>,
    },
    /// Write the inventory (after every apply and delete succeeded).
    RecordInventory {
        /// The new inventory.
        inventory: Inventory,
    },
}

/// What a BundleDeployment owns in the downstream cluster.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Inventory {
    /// The deployment ID these objects were applied for.
    pub deployment_id: String,
    /// The release (deployment) namespace.
    #[serde(default)]
    pub namespace: String,
    /// Applied objects, sorted.
    pub objects: Vec<ObjectRef>,
    /// The BundleDeployment's name (the ConfigMap's name may be a shortened form of it), so
    /// that garbage collection can uninstall a deployment the manager no longer lists.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub bundle_deployment: String,
    /// `keepResources` of the deploy that wrote it: an uninstall without the
    /// BundleDeployment (garbage collection) keeps the objects then, as Fleet reads the
    /// release's `fleet.cattle.io/keep-resources` annotation.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keep_resources: bool,
    /// The `pre-delete`/`post-delete` hooks of the last deploy, which an uninstall runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<Hook>,
}

/// Label of an inventory ConfigMap: the (shortened) name of its BundleDeployment.
pub const INVENTORY_LABEL: &str = "fleet.cattle.io/inventory-of";

/// Name of the inventory object of a BundleDeployment.
pub fn inventory_name(bd_name: &str) -> String {
    fleet_core::names::safe_concat_name(&["fleet-agent-inventory", bd_name])
}

impl Inventory {
    /// The ConfigMap holding this inventory in the agent's namespace.
    pub fn to_config_map(&self, bd_name: &str, agent_namespace: &str) -> Value {
        serde_json::json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": inventory_name(bd_name),
                "namespace": agent_namespace,
                "labels": {INVENTORY_LABEL: fleet_core::names::safe_concat_name(&[bd_name])},
            },
            "data": {
                "inventory": serde_json::to_string(self).unwrap_or_default(),
            },
        })
    }

    /// Reads an inventory ConfigMap written by [`Inventory::to_config_map`].
    pub fn from_config_map(config_map: &Value) -> Result<Inventory, InventoryError> {
        let name = config_map
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let text = config_map
            .pointer("/data/inventory")
            .and_then(Value::as_str)
            .ok_or_else(|| InventoryError {
                name: name.clone(),
                reason: "no data.inventory".to_string(),
            })?;
        serde_json::from_str(text).map_err(|e| InventoryError {
            name,
            reason: e.to_string(),
        })
    }
}

/// An inventory ConfigMap that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("inventory configmap {name}: {reason}")]
pub struct InventoryError {
    /// ConfigMap name.
    pub name: String,
    /// Why.
    pub reason: String,
}

/// The files of a manifest (Fleet `Content` JSON or a Bundle's `resources`).
pub fn manifest_files(manifest: &Manifest) -> Result<Files, Error> {
    let resources: Vec<BundleResource> = manifest.resources()?;
    resources_files(&resources)
}

/// The files of bundle resources, decoding `base64` and `base64+gz` encodings.
pub fn resources_files(resources: &[BundleResource]) -> Result<Files, Error> {
    let mut files = Files::new();
    for r in resources {
        let bad = |reason: String| Error::Resource {
            name: r.name.clone(),
            reason,
        };
        let bytes = r.decode().map_err(|e| bad(e.reason))?;
        files
            .insert(&r.name, bytes)
            .map_err(|e| bad(e.to_string()))?;
    }
    Ok(files)
}

/// Renders a BundleDeployment's manifest files for a cluster with the agent's labels, with the
/// `substitute` extension its annotation carries ([`fleet_core::substitute`]).
pub fn render(
    renderer: &Renderer,
    bd: &BundleDeployment,
    files: &Files,
    cluster: &ClusterFacts,
) -> Result<Vec<Value>, Error> {
    let bd_name = bd.metadata.name.as_str();
    let substitute =
        SubstituteOptions::from_annotations(&bd.metadata.annotations).map_err(|source| {
            Error::Substitute {
                bd: bd_name.to_string(),
                source,
            }
        })?;
    let request = RenderRequest {
        substitute: substitute.as_ref(),
        ..RenderRequest::new(bd_name, files, &bd.spec.options, cluster)
    };
    renderer.render(&request).map_err(|source| Error::Render {
        bd: bd_name.to_string(),
        source: Box::new(source),
    })
}

/// Helm's install position of a kind (`fleet_helm::order`); kinds Helm does not list go last,
/// ordered by kind name.
fn install_rank(kind: &str) -> (usize, String) {
    let rank = fleet_helm::order::install_rank(kind);
    if rank == fleet_helm::order::INSTALL_ORDER.len() {
        (rank, kind.to_string())
    } else {
        (rank, String::new())
    }
}

/// Everything [`plan`] reads.
pub struct PlanInput<'a> {
    /// BundleDeployment name.
    pub bd_name: &'a str,
    /// Its spec.
    pub spec: &'a BundleDeploymentSpec,
    /// Rendered objects (labels and namespaces already set by the renderer), hooks split off.
    pub objects: &'a [Value],
    /// The Helm hooks rendered beside them ([`hooks::split`]).
    pub hooks: &'a [Hook],
    /// The previous inventory, if any.
    pub inventory: Option<&'a Inventory>,
    /// Live objects of the previous inventory, to honour `prune=false` and `resource-policy: keep`.
    pub live: &'a [Value],
    /// Namespaces that exist in the cluster.
    pub existing_namespaces: &'a BTreeSet<String>,
    /// What the server serves.
    pub discovery: &'a dyn Discovery,
    /// Apply with `force` (drift correction with `correctDrift.force`, or `options.force`).
    pub force: bool,
}

/// The release namespace: `namespace` ‖ `defaultNamespace` ‖ `default`.
pub fn release_namespace(spec: &BundleDeploymentSpec) -> &str {
    [
        spec.options.target_namespace.as_str(),
        spec.options.default_namespace.as_str(),
    ]
    .into_iter()
    .find(|s| !s.is_empty())
    .unwrap_or("default")
}

/// Plans a deploy. Every check runs before the first action so that a bad object never leaves
/// a half-applied deployment behind.
pub fn plan(input: &PlanInput<'_>) -> Result<Vec<Action>, Error> {
    let mut refs = Vec::with_capacity(input.objects.len());
    let mut seen = BTreeSet::new();
    for (index, object) in input.objects.iter().enumerate() {
        let r = ObjectRef::of(object, index)?;
        let served = input.discovery.scope(&r.api_version, &r.kind);
        // A CRD of this same deployment makes its kinds servable after it is established.
        let defined_here = crd_defines(input.objects, &r.api_version, &r.kind);
        if served.is_none() && defined_here.is_none() {
            return Err(Error::UnknownKind {
                api_version: r.api_version,
                kind: r.kind,
                name: r.name,
            });
        }
        if !input.spec.options.target_namespace.is_empty() && served.or(defined_here) == Some(false)
        {
            return Err(Error::ClusterScoped {
                name: r.name,
                kind: r.kind,
                api_version: r.api_version,
            });
        }
        if !seen.insert(r.group_kind_key()) {
            return Err(Error::Duplicate(r.to_string()));
        }
        refs.push(r);
    }

    let release_ns = release_namespace(input.spec).to_string();
    let created: BTreeSet<&str> = refs
        .iter()
        .filter(|r| r.kind == "Namespace" && r.api_version == "v1")
        .map(|r| r.name.as_str())
        .collect();
    for r in &refs {
        if !r.namespace.is_empty()
            && r.namespace != release_ns
            && !created.contains(r.namespace.as_str())
            && !input.existing_namespaces.contains(&r.namespace)
        {
            return Err(Error::MissingNamespace {
                kind: r.kind.clone(),
                name: r.name.clone(),
                namespace: r.namespace.clone(),
            });
        }
    }

    let mut actions = vec![Action::EnsureNamespace {
        name: release_ns.clone(),
        labels: input
            .spec
            .options
            .namespace_labels
            .clone()
            .unwrap_or_default(),
        annotations: input
            .spec
            .options
            .namespace_annotations
            .clone()
            .unwrap_or_default(),
    }];

    let mut order: Vec<usize> = (0..refs.len()).collect();
    // Stable: objects of one kind keep the rendered order, as Helm's sort does.
    order.sort_by_key(|&i| {
        let kind = refs[i].kind.as_str();
        let phase = match kind {
            "Namespace" => 0,
            "CustomResourceDefinition" => 1,
            _ => 2,
        };
        (phase, install_rank(kind))
    });
    // Helm runs the pre hooks once the release namespace and the CRDs exist, and the post
    // hooks after every object was applied and every removed one deleted; a re-apply of the
    // deployed ID runs none.
    let operation = Operation::of(input.inventory, &input.spec.deployment_id);
    let hook_action = |event: hooks::Event| {
        input
            .hooks
            .iter()
            .any(|h| h.events.contains(&event))
            .then(|| Action::RunHooks {
                event,
                hooks: input.hooks.to_vec(),
            })
    };
    let mut pre_hooks = operation.and_then(|op| hook_action(op.pre()));
    let mut crds_pending = Vec::new();
    for &i in &order {
        let r = &refs[i];
        if r.kind != "CustomResourceDefinition" && !crds_pending.is_empty() {
            actions.extend(
                crds_pending
                    .drain(..)
                    .map(|name| Action::WaitEstablished { name }),
            );
        }
        if !matches!(r.kind.as_str(), "Namespace" | "CustomResourceDefinition") {
            actions.extend(pre_hooks.take());
        }
        actions.push(Action::Apply {
            object: input.objects[i].clone(),
            force: input.force,
        });
        if r.kind == "CustomResourceDefinition" {
            crds_pending.push(r.name.clone());
        }
    }
    actions.extend(
        crds_pending
            .drain(..)
            .map(|name| Action::WaitEstablished { name }),
    );
    actions.extend(pre_hooks.take());

    let desired: BTreeSet<_> = refs.iter().map(ObjectRef::group_kind_key).collect();
    if let Some(previous) = input.inventory {
        let mut stale: Vec<&ObjectRef> = previous
            .objects
            .iter()
            .filter(|r| !desired.contains(&r.group_kind_key()))
            .filter(|r| !input.spec.options.keep_resources && prunable(r, input.live))
            .collect();
        // Reverse install order: dependants go before what they depend on.
        stale.sort_by_key(|r| std::cmp::Reverse(install_rank(&r.kind)));
        actions.extend(
            stale
                .into_iter()
                .map(|r| Action::Delete { object: r.clone() }),
        );
    }

    actions.extend(operation.and_then(|op| hook_action(op.post())));

    let mut objects = refs;
    objects.sort();
    // A re-apply keeps the delete hooks of the deploy that ran the hooks.
    let delete_hooks = match operation {
        Some(_) => hooks::delete_hooks(input.hooks),
        None => input.inventory.map(|i| i.hooks.clone()).unwrap_or_default(),
    };
    actions.push(Action::RecordInventory {
        inventory: Inventory {
            deployment_id: input.spec.deployment_id.clone(),
            namespace: release_ns,
            objects,
            bundle_deployment: input.bd_name.to_string(),
            keep_resources: input.spec.options.keep_resources,
            hooks: delete_hooks,
        },
    });
    Ok(actions)
}

/// `Some(namespaced)` when one of `objects` is a CRD serving `kind` in `api_version`.
fn crd_defines(objects: &[Value], api_version: &str, kind: &str) -> Option<bool> {
    let (group, version) = match fleet_core::meta::split_api_version(api_version) {
        ("", _) => return None,
        split => split,
    };
    objects.iter().find_map(|o| {
        (o.get("kind")? == "CustomResourceDefinition"
            && o.pointer("/spec/group")? == group
            && o.pointer("/spec/names/kind")? == kind
            && o.pointer("/spec/versions")?
                .as_array()?
                .iter()
                .any(|v| v.get("name").and_then(Value::as_str) == Some(version)))
        .then(|| o.pointer("/spec/scope").and_then(Value::as_str) != Some("Cluster"))
    })
}

fn prunable(r: &ObjectRef, live: &[Value]) -> bool {
    let Some(obj) = live
        .iter()
        .find(|o| ObjectRef::of(o, 0).is_ok_and(|l| l.group_kind_key() == r.group_kind_key()))
    else {
        return true;
    };
    let label = obj
        .pointer("/metadata/labels")
        .and_then(|l| l.get(PRUNE_LABEL))
        .and_then(Value::as_str);
    let policy = obj
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(fleet_render::postrender::RESOURCE_POLICY_ANNOTATION))
        .and_then(Value::as_str);
    label != Some("false") && policy != Some(fleet_render::postrender::KEEP_POLICY)
}

/// Whether an uninstall keeps the objects: `keepResources` of the BundleDeployment or of the
/// deploy that recorded the inventory.
pub fn keeps_resources(spec: &BundleDeploymentSpec, inventory: &Inventory) -> bool {
    spec.options.keep_resources || inventory.keep_resources
}

/// Plans an uninstall: every inventoried object in reverse install order (unless
/// [`keeps_resources`]), then the release namespace when `deleteNamespace` is set.
pub fn plan_uninstall(
    spec: &BundleDeploymentSpec,
    inventory: &Inventory,
    live: &[Value],
) -> Vec<ObjectRef> {
    if keeps_resources(spec, inventory) {
        return Vec::new();
    }
    let mut out: Vec<ObjectRef> = inventory
        .objects
        .iter()
        .filter(|r| prunable(r, live))
        .cloned()
        .collect();
    out.sort_by_key(|r| std::cmp::Reverse(install_rank(&r.kind)));
    if spec.options.delete_namespace && !inventory.namespace.is_empty() {
        out.retain(|r| !(r.kind == "Namespace" && r.name == inventory.namespace));
        out.push(ObjectRef {
            api_version: "v1".to_string(),
            kind: "Namespace".to_string(),
            namespace: String::new(),
            name: inventory.namespace.clone(),
        });
    }
    out
}

/// A dependsOn entry that is not satisfied, or cannot be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DependencyError {
    /// Fleet's message for dependencies outside their accepted states.
    #[error("dependent bundle(s) are not ready: [{}]", pending.join(" "))]
    NotReady {
        /// Names of the BundleDeployments not in an accepted state.
        pending: Vec<String>,
    },
    /// No BundleDeployment matches an entry.
    #[error(
        "list bundledeployments: no bundles matching labels {selector} in namespace {namespace}"
    )]
    NoMatch {
        /// The selector, in its string form.
        selector: String,
        /// The bundle namespace.
        namespace: String,
    },
    /// The entry's selector or states are invalid.
    #[error("dependsOn[{index}]: {reason}")]
    Invalid {
        /// Entry index.
        index: usize,
        /// Why.
        reason: String,
    },
}

/// Fleet's `checkDependency`: every entry must match at least one BundleDeployment of the same
/// cluster namespace (`others`), and each match must be in one of `acceptedStates`
/// (default `[Ready]`), evaluated with Fleet's state function.
pub fn check_dependencies(
    bd: &BundleDeployment,
    others: &[BundleDeployment],
) -> Result<(), DependencyError> {
    let bundle_namespace = bd
        .metadata
        .labels
        .get(BUNDLE_NAMESPACE_LABEL)
        .cloned()
        .unwrap_or_default();
    let mut pending = Vec::new();
    for (index, dep) in bd.spec.depends_on.iter().enumerate() {
        let invalid = |reason: String| DependencyError::Invalid { index, reason };
        let accepted = fleet_core::state::validate_depends_on(
            index,
            !dep.name.is_empty(),
            dep.selector.is_some(),
            &dep.accepted_states,
        )
        .map_err(|e| invalid(e.to_string()))?;
        let accepted = if accepted.is_empty() {
            vec![BundleState::Ready]
        } else {
            accepted
        };
        let mut selector = dep.selector.clone().unwrap_or_default();
        if !dep.name.is_empty() {
            let labels = selector.match_labels.get_or_insert_with(BTreeMap::new);
            labels.insert(BUNDLE_NAME_LABEL.to_string(), dep.name.clone());
            labels.insert(BUNDLE_NAMESPACE_LABEL.to_string(), bundle_namespace.clone());
        }
        let compiled = selector.to_selector().map_err(|e| invalid(e.to_string()))?;
        let matched: Vec<&BundleDeployment> = others
            .iter()
            .filter(|o| o.metadata.namespace == bd.metadata.namespace)
            .filter(|o| compiled.matches(&o.metadata.labels))
            .collect();
        if matched.is_empty() {
            return Err(DependencyError::NoMatch {
                selector: compiled.to_string(),
                namespace: bundle_namespace,
            });
        }
        for o in matched {
            if !accepted.contains(&deployment_state(o)) {
                pending.push(o.metadata.name.clone());
            }
        }
    }
    if pending.is_empty() {
        Ok(())
    } else {
        Err(DependencyError::NotReady { pending })
    }
}

/// Whether a deploy error is one Fleet records as a NotReady status instead of retrying
/// (`deployErrPattern`).
pub fn is_recorded_error(message: &str) -> bool {
    const FIXED: &[&str] = &[
        "timed out waiting for the condition",
        "error validating data",
        "chart requires kubeVersion",
        "annotation validation error",
        "failed, and has been rolled back due to atomic being set",
        "YAML parse error",
        "MalformedYAMLError",
        "unknown field",
        "Forbidden: spec is immutable after creation",
    ];
    FIXED.iter().any(|p| message.contains(p)) || forbidden_update(message)
}

/// `Forbidden: updates to <word> spec for fields other than <words> are forbidden`.
fn forbidden_update(message: &str) -> bool {
    let marker = "Forbidden: updates to ";
    message.match_indices(marker).any(|(at, _)| {
        let rest = &message[at + marker.len()..];
        let word_end = rest
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(rest.len());
        if word_end == 0 {
            return false;
        }
        let Some(rest) = rest[word_end..].strip_prefix(" spec for fields other than ") else {
            return false;
        };
        // The word list and the closing phrase share one character class, so the phrase
        // must start at least one character into the run of allowed characters.
        let run_end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == ' ' || c == '\''))
            .unwrap_or(rest.len());
        rest[..run_end]
            .get(1..)
            .is_some_and(|r| r.contains(" are forbidden"))
    })
}

/// Retry delay after the `failures`-th consecutive failure: controller-runtime's default
/// per-item backoff (5 ms doubling, capped at 1000 s).
pub fn backoff(failures: u32) -> Duration {
    let base = Duration::from_millis(5);
    let cap = Duration::from_secs(1000);
    base.checked_mul(
        1u32.checked_shl(failures.saturating_sub(1))
            .unwrap_or(u32::MAX),
    )
    .map_or(cap, |d| d.min(cap))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Served;
    impl Discovery for Served {
        fn scope(&self, api_version: &str, kind: &str) -> Option<bool> {
            match (api_version, kind) {
                ("v1", "Namespace" | "ClusterRole") => Some(false),
                ("apiextensions.k8s.io/v1", "CustomResourceDefinition") => Some(false),
                ("v1", _) | ("apps/v1", _) => Some(true),
                _ => None,
            }
        }
    }

    fn obj(api_version: &str, kind: &str, ns: &str, name: &str) -> Value {
        json!({"apiVersion": api_version, "kind": kind,
               "metadata": {"name": name, "namespace": ns}})
    }

    fn crd() -> Value {
        json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
               "metadata": {"name": "widgets.example.com"},
               "spec": {"group": "example.com", "scope": "Namespaced",
                        "names": {"kind": "Widget"}, "versions": [{"name": "v1"}]}})
    }

    fn spec(value: Value) -> BundleDeploymentSpec {
        serde_json::from_value(value).unwrap()
    }

    fn run(
        spec: &BundleDeploymentSpec,
        objects: &[Value],
        inventory: Option<&Inventory>,
        live: &[Value],
    ) -> Result<Vec<Action>, Error> {
        plan(&PlanInput {
            bd_name: "bd",
            spec,
            objects,
            inventory,
            live,
            hooks: &[],
            existing_namespaces: &BTreeSet::new(),
            discovery: &Served,
            force: false,
        })
    }

    fn kinds(actions: &[Action]) -> Vec<String> {
        actions
            .iter()
            .map(|a| match a {
                Action::EnsureNamespace { name, .. } => format!("ns:{name}"),
                Action::Apply { object, .. } => {
                    format!("apply:{}", object["kind"].as_str().unwrap())
                }
                Action::WaitEstablished { name } => format!("wait:{name}"),
                Action::Delete { object } => format!("delete:{}/{}", object.kind, object.name),
                Action::RecordInventory { .. } => "inventory".to_string(),
                Action::RunHooks { event, .. } => format!("hooks:{event}"),
            })
            .collect()
    }

    #[test]
    fn namespaces_then_crds_waited_then_install_order() {
        let s = spec(
            json!({"deploymentID": "d1", "options": {"defaultNamespace": "app",
            "namespaceLabels": {"team": "a"}}}),
        );
        let objects = vec![
            obj("example.com/v1", "Widget", "app", "w"),
            obj("apps/v1", "Deployment", "app", "web"),
            obj("v1", "Service", "app", "web"),
            crd(),
            obj("v1", "ConfigMap", "app", "cfg"),
            obj("v1", "Namespace", "", "extra"),
        ];
        let actions = run(&s, &objects, None, &[]).unwrap();
        assert_eq!(
            kinds(&actions),
            [
                "ns:app",
                "apply:Namespace",
                "apply:CustomResourceDefinition",
                "wait:widgets.example.com",
                "apply:ConfigMap",
                "apply:Service",
                "apply:Deployment",
                "apply:Widget",
                "inventory"
            ]
        );
        let Action::EnsureNamespace { labels, .. } = &actions[0] else {
            unreachable!()
        };
        assert_eq!(labels.get("team").map(String::as_str), Some("a"));
        let Some(Action::RecordInventory { inventory }) = actions.last() else {
            unreachable!()
        };
        assert_eq!(inventory.objects.len(), 6);
        assert_eq!(inventory.deployment_id, "d1");
    }

    #[test]
    fn unknown_kind_and_missing_namespace_are_rejected_before_any_action() {
        let s = spec(json!({"deploymentID": "d1"}));
        let err = run(&s, &[obj("nope.io/v1", "Thing", "default", "t")], None, &[]).unwrap_err();
        assert!(
            matches!(err, Error::UnknownKind { ref kind, .. } if kind == "Thing"),
            "{err}"
        );
        let err = run(&s, &[obj("v1", "ConfigMap", "elsewhere", "c")], None, &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "ConfigMap c: namespace elsewhere not found"
        );
        let err = run(
            &s,
            &[json!({"kind": "ConfigMap", "metadata": {"name": "x"}})],
            None,
            &[],
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "rendered object #0 has no apiVersion");
    }

    #[test]
    fn a_target_namespace_rejects_kinds_discovery_serves_cluster_scoped() {
        let s = spec(json!({"deploymentID": "d1", "options": {"namespace": "app"}}));
        let err = run(&s, &[obj("v1", "ClusterRole", "", "r")], None, &[]).unwrap_err();
        assert!(
            err.to_string().starts_with(
                "invalid cluster scoped object [name=r kind=ClusterRole apiVersion=v1] found."
            ),
            "{err}"
        );
        assert!(run(&s, &[obj("v1", "ConfigMap", "app", "c")], None, &[]).is_ok());
        let without = spec(json!({"deploymentID": "d1"}));
        assert!(run(&without, &[obj("v1", "ClusterRole", "", "r")], None, &[]).is_ok());
    }

    #[test]
    fn upgrade_prunes_removed_objects_except_kept_ones() {
        let s = spec(json!({"deploymentID": "d2"}));
        let previous = Inventory {
            deployment_id: "d1".into(),
            namespace: "default".into(),
            objects: vec![
                ObjectRef::of(&obj("v1", "ConfigMap", "default", "kept"), 0).unwrap(),
                ObjectRef::of(&obj("v1", "ConfigMap", "default", "gone"), 0).unwrap(),
                ObjectRef::of(&obj("apps/v1", "Deployment", "default", "old"), 0).unwrap(),
                ObjectRef::of(&obj("v1", "ConfigMap", "default", "stay"), 0).unwrap(),
            ],
            ..Inventory::default()
        };
        let mut live_kept = obj("v1", "ConfigMap", "default", "kept");
        live_kept["metadata"]["labels"] = json!({PRUNE_LABEL: "false"});
        let actions = run(
            &s,
            &[obj("v1", "ConfigMap", "default", "stay")],
            Some(&previous),
            &[live_kept],
        )
        .unwrap();
        assert_eq!(
            kinds(&actions),
            [
                "ns:default",
                "apply:ConfigMap",
                "delete:Deployment/old",
                "delete:ConfigMap/gone",
                "inventory"
            ]
        );
        let keep = spec(json!({"deploymentID": "d2", "options": {"keepResources": true}}));
        let actions = run(&keep, &[], Some(&previous), &[]).unwrap();
        assert_eq!(kinds(&actions), ["ns:default", "inventory"]);
    }

    #[test]
    fn uninstall_deletes_everything_and_the_namespace_when_asked() {
        let inv = Inventory {
            deployment_id: "d1".into(),
            namespace: "app".into(),
            objects: vec![
                ObjectRef::of(&obj("v1", "ConfigMap", "app", "c"), 0).unwrap(),
                ObjectRef::of(&obj("apps/v1", "Deployment", "app", "d"), 0).unwrap(),
            ],
            ..Inventory::default()
        };
        let plain = spec(json!({"deploymentID": "d1"}));
        let names: Vec<_> = plan_uninstall(&plain, &inv, &[])
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert_eq!(names, ["d", "c"]);
        let with_ns = spec(json!({"deploymentID": "d1", "options": {"deleteNamespace": true}}));
        let last = plan_uninstall(&with_ns, &inv, &[]).pop().unwrap();
        assert_eq!(
            (last.kind.as_str(), last.name.as_str()),
            ("Namespace", "app")
        );
        let keep = spec(json!({"deploymentID": "d1", "options": {"keepResources": true}}));
        assert!(plan_uninstall(&keep, &inv, &[]).is_empty());
    }

    #[test]
    fn install_hooks_run_around_the_objects_and_upgrade_hooks_on_a_new_deployment_id() {
        let hook = |name: &str, events: &str| {
            json!({"apiVersion": "batch/v1", "kind": "Job",
                   "metadata": {"name": name, "namespace": "app",
                                "annotations": {"helm.sh/hook": events}}})
        };
        let (_, hooks) = crate::hooks::split(vec![
            hook("pre", "pre-install,pre-upgrade"),
            hook("post", "post-install"),
            hook("cleanup", "pre-delete"),
        ]);
        let s = spec(json!({"deploymentID": "d1", "options": {"defaultNamespace": "app"}}));
        let objects = [crd(), obj("v1", "ConfigMap", "app", "cfg")];
        let planned = |inventory: Option<&Inventory>, spec: &BundleDeploymentSpec| {
            plan(&PlanInput {
                bd_name: "bd",
                spec,
                objects: &objects,
                hooks: &hooks,
                inventory,
                live: &[],
                existing_namespaces: &BTreeSet::new(),
                discovery: &Served,
                force: false,
            })
            .unwrap()
        };
        let install = planned(None, &s);
        assert_eq!(
            kinds(&install),
            [
                "ns:app",
                "apply:CustomResourceDefinition",
                "wait:widgets.example.com",
                "hooks:pre-install",
                "apply:ConfigMap",
                "hooks:post-install",
                "inventory"
            ]
        );
        let Some(Action::RecordInventory { inventory }) = install.last() else {
            unreachable!()
        };
        // Hooks are not inventoried objects; the delete hooks are kept for the uninstall.
        assert_eq!(inventory.objects.len(), 2);
        assert_eq!(inventory.hooks.len(), 1);
        assert_eq!(inventory.bundle_deployment, "bd");
        // The same deployment ID again: a re-apply without hooks, keeping the delete hooks.
        let again = planned(Some(inventory), &s);
        assert!(!kinds(&again).iter().any(|k| k.starts_with("hooks:")));
        let Some(Action::RecordInventory { inventory: kept }) = again.last() else {
            unreachable!()
        };
        assert_eq!(kept.hooks, inventory.hooks);
        let s2 = spec(json!({"deploymentID": "d2", "options": {"defaultNamespace": "app"}}));
        let upgrade = kinds(&planned(Some(inventory), &s2));
        assert!(
            upgrade.contains(&"hooks:pre-upgrade".to_string()),
            "{upgrade:?}"
        );
        assert!(
            !upgrade.iter().any(|k| k.ends_with("-install")),
            "{upgrade:?}"
        );
    }

    #[test]
    fn inventory_round_trips_through_its_config_map() {
        let inv = Inventory {
            deployment_id: "d1".into(),
            namespace: "app".into(),
            objects: vec![ObjectRef::of(&obj("v1", "ConfigMap", "app", "c"), 0).unwrap()],
            ..Inventory::default()
        };
        let cm = inv.to_config_map("bd", "cattle-fleet-system");
        assert_eq!(cm["metadata"]["name"], "fleet-agent-inventory-bd");
        assert_eq!(Inventory::from_config_map(&cm).unwrap(), inv);
        let err = Inventory::from_config_map(&json!({"metadata": {"name": "x"}, "data": {}}))
            .unwrap_err();
        assert_eq!(err.to_string(), "inventory configmap x: no data.inventory");
    }

    fn bd(name: &str, labels: Value, status: Value, depends_on: Value) -> BundleDeployment {
        serde_json::from_value(json!({
            "apiVersion": "fleet.cattle.io/v1alpha1", "kind": "BundleDeployment",
            "metadata": {"name": name, "namespace": "cluster-ns", "labels": labels},
            "spec": {"deploymentID": "a", "stagedDeploymentID": "a", "dependsOn": depends_on},
            "status": status,
        }))
        .unwrap()
    }

    #[test]
    fn depends_on_blocks_until_the_dependency_is_in_an_accepted_state() {
        let labels = json!({BUNDLE_NAME_LABEL: "db", BUNDLE_NAMESPACE_LABEL: "fleet-local"});
        let me = bd(
            "app",
            json!({BUNDLE_NAMESPACE_LABEL: "fleet-local"}),
            json!({}),
            json!([{"name": "db"}]),
        );
        let waiting = bd(
            "db-x",
            labels.clone(),
            json!({"appliedDeploymentID": "old"}),
            json!([]),
        );
        let err = check_dependencies(&me, std::slice::from_ref(&waiting)).unwrap_err();
        assert_eq!(err.to_string(), "dependent bundle(s) are not ready: [db-x]");
        let ready = bd(
            "db-x",
            labels.clone(),
            json!({"appliedDeploymentID": "a", "ready": true, "nonModified": true}),
            json!([]),
        );
        assert_eq!(check_dependencies(&me, &[ready]), Ok(()));
        let modified = bd(
            "db-x",
            labels,
            json!({"appliedDeploymentID": "a", "ready": true}),
            json!([]),
        );
        assert!(check_dependencies(&me, std::slice::from_ref(&modified)).is_err());
        let lenient = bd(
            "app",
            json!({BUNDLE_NAMESPACE_LABEL: "fleet-local"}),
            json!({}),
            json!([{"name": "db", "acceptedStates": ["Ready", "Modified"]}]),
        );
        assert_eq!(check_dependencies(&lenient, &[modified]), Ok(()));
        let err = check_dependencies(&me, &[]).unwrap_err();
        assert!(matches!(err, DependencyError::NoMatch { .. }), "{err}");
    }

    #[test]
    fn recorded_errors_follow_fleets_fixed_list() {
        assert!(is_recorded_error("error: unknown field \"spec.foo\""));
        assert!(is_recorded_error(
            "spec: Forbidden: updates to statefulset spec for fields other than 'replicas' are forbidden"
        ));
        // Fleet's character class has no comma, so a listed set of fields does not match.
        assert!(!is_recorded_error(
            "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'template' are forbidden"
        ));
        assert!(!is_recorded_error("connection refused"));
        assert!(!is_recorded_error(
            "Forbidden: updates to  spec for fields other than x are forbidden"
        ));
        assert_eq!(backoff(1), Duration::from_millis(5));
        assert_eq!(backoff(3), Duration::from_millis(20));
        assert_eq!(backoff(40), Duration::from_secs(1000));
    }
}
