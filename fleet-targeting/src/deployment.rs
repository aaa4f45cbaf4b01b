//! From a targeting [`Decision`] to the BundleDeployment Fleet's controller writes for it
//! (`internal/cmd/controller/target/builder.go`, `target.go:BundleDeployment`,
//! `bundle_controller.go:handleMatchedTarget`).
//!
//! For one bundle and one cluster it deployed to:
//!
//! 1. **Options**: the deploy target's options, replaced by the customization (`FirstMatch`) or
//!    folded with every matching customization (`AllMatches`), merged over the bundle's own
//!    options ([`fleet_core::merge::merge`]); see [`target_options`].
//! 2. **Helm value processing** for the cluster ([`crate::values`]): label substitution, `${ }`
//!    templating, `templateValues`. It runs here and only here, so the BundleDeployment holds
//!    processed values and the agent renders them as they are.
//! 3. **Deployment ID** `manifestID:sha256(options)` ([`fleet_core::manifest::options_deployment_id`]).
//! 4. **Namespace labels and annotations** of *every* target unioned into the options, after the
//!    ID was computed, as Fleet does.
//! 5. **Identity**: named after the bundle, in the cluster's namespace, with Fleet's labels.
//! 6. **The `substitute` extension**: the bundle's annotation is copied and folded into the
//!    deployment ID ([`fleet_core::substitute`]).
//!
//! ```
//! use fleet_core::crd::{Bundle, Cluster};
//! use fleet_targeting::Decision;
//! use fleet_targeting::deployment::{ManifestRef, bundle_deployment};
//!
//! let bundle: Bundle = serde_json::from_value(serde_json::json!({
//!     "apiVersion": "fleet.cattle.io/v1alpha1", "kind": "Bundle",
//!     "metadata": {"name": "app", "namespace": "fleet-default"},
//!     "spec": {
//!         "helm": {"values": {"env": "${ .ClusterLabels.env }"}},
//!         "targets": [{"clusterSelector": {}}],
//!     },
//! }))
//! .unwrap();
//! let cluster: Cluster = serde_json::from_value(serde_json::json!({
//!     "apiVersion": "fleet.cattle.io/v1alpha1", "kind": "Cluster",
//!     "metadata": {"name": "c1", "namespace": "fleet-default", "labels": {"env": "prod"}},
//!     "spec": {},
//!     "status": {"namespace": "cluster-fleet-default-c1-1a2b3c4d5e6f"},
//! }))
//! .unwrap();
//! let decision = Decision { target: 0, customizations: vec![] };
//! let manifest = ManifestRef::of(&bundle).unwrap();
//! let bd = bundle_deployment(&bundle, &decision, &cluster, &manifest).unwrap().unwrap();
//! assert_eq!(bd.metadata.namespace, "cluster-fleet-default-c1-1a2b3c4d5e6f");
//! let values = bd.spec.options.helm.as_ref().unwrap().values.as_ref().unwrap();
//! assert_eq!(values["env"], "prod");
//! assert!(bd.spec.deployment_id.starts_with(&manifest.id));
//! ```

use std::collections::BTreeMap;

use fleet_core::crd::{
    Bundle, BundleDeployment, BundleDeploymentOptions, BundleDeploymentSpec,
    BundleNamespaceMapping, BundleSpec, Cluster, ClusterGroup, TargetCustomizationMode,
};
use fleet_core::manifest::{Manifest, options_deployment_id};
use fleet_core::merge::merge;
use fleet_core::substitute::{self, SubstituteOptions};

use crate::rollout::{ClusterView, RolloutTarget};
use crate::values::{self, ClusterContext};
use crate::{
    BundleId, BundleInput, ClusterId, Decision, Engine, GroupInput, MappingInput, TargetingError,
};

/// Why a BundleDeployment cannot be built; each names the bundle (and cluster).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The bundle's resources do not form a manifest.
    #[error("bundle {namespace}/{name}: cannot build the manifest: {source}")]
    Manifest {
        /// Bundle namespace.
        namespace: String,
        /// Bundle name.
        name: String,
        /// What went wrong.
        #[source]
        source: fleet_core::manifest::ManifestError,
    },
    /// Helm value processing failed for this cluster (Fleet aborts the bundle's targeting).
    #[error("bundle {namespace}/{name}: cannot process helm values: {source}")]
    Values {
        /// Bundle namespace.
        namespace: String,
        /// Bundle name.
        name: String,
        /// What went wrong (names the cluster).
        #[source]
        source: Box<values::Error>,
    },
    /// The decision names a target the bundle does not have.
    #[error("bundle {namespace}/{name}: the decision names target {index}, the bundle has {count}")]
    NoSuchTarget {
        /// Bundle namespace.
        namespace: String,
        /// Bundle name.
        name: String,
        /// The index in the decision.
        index: u32,
        /// How many targets the bundle has.
        count: usize,
    },
    /// The bundle's `substitute` annotation is not valid.
    #[error("bundle {namespace}/{name}: {source}")]
    Substitute {
        /// Bundle namespace.
        namespace: String,
        /// Bundle name.
        name: String,
        /// What is wrong with it.
        #[source]
        source: substitute::Error,
    },
    /// Two Clusters with the same namespace and name.
    #[error("duplicate Cluster {namespace}/{name}")]
    DuplicateCluster {
        /// Cluster namespace.
        namespace: String,
        /// Cluster name.
        name: String,
    },
    /// A bundle's targets do not compile (an invalid selector, …).
    #[error("Bundle {namespace}/{name}: targeting error: {source}")]
    Targeting {
        /// Bundle namespace.
        namespace: String,
        /// Bundle name.
        name: String,
        /// What is wrong.
        #[source]
        source: Box<TargetingError>,
    },
    /// The options cannot be hashed.
    #[error("bundle {namespace}/{name}: cannot hash the options: {source}")]
    Hash {
        /// Bundle namespace.
        namespace: String,
        /// Bundle name.
        name: String,
        /// What went wrong.
        #[source]
        source: fleet_core::manifest::ManifestError,
    },
}

/// The bundle's manifest as BundleDeployments refer to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestRef {
    /// The manifest ID: `spec.contentsId` when the bundle has one, else computed from the
    /// resources (`s-<sha256>`).
    pub id: String,
    /// Whether the manifest is stored as a Content object (labelled `fleet.cattle.io/content-name`
    /// on the BundleDeployment); false for OCI contents and HelmOps.
    pub in_content: bool,
}

impl ManifestRef {
    /// The manifest of a bundle.
    pub fn of(bundle: &Bundle) -> Result<ManifestRef, Error> {
        if !bundle.spec.contents_id.is_empty() {
            return Ok(ManifestRef {
                id: bundle.spec.contents_id.clone(),
                in_content: false,
            });
        }
        let manifest =
            Manifest::from_resources(&bundle.spec.resources).map_err(|source| Error::Manifest {
                namespace: bundle.metadata.namespace.clone(),
                name: bundle.metadata.name.clone(),
                source,
            })?;
        Ok(ManifestRef {
            id: manifest.id(),
            in_content: bundle.spec.helm_op_options.is_none(),
        })
    }
}

/// The options of a decision before value processing: the deploy target's options, replaced
/// (`FirstMatch`) or folded (`AllMatches`) by the customizations, merged over the bundle's.
///
/// Indices the bundle does not have are skipped; [`bundle_deployment`] rejects them.
pub fn target_options(spec: &BundleSpec, decision: &Decision) -> BundleDeploymentOptions {
    let entry = |i: u32| spec.targets.get(i as usize).map(|t| &t.options);
    let mut options = entry(decision.target).cloned().unwrap_or_default();
    match spec.target_customization_mode {
        TargetCustomizationMode::AllMatches => {
            for custom in decision.customizations.iter().filter_map(|&c| entry(c)) {
                options = merge(&options, custom);
            }
        }
        // FirstMatch: the engine reports at most one customization; its options replace the
        // target's.
        _ => {
            if let Some(custom) = decision.customizations.first().and_then(|&c| entry(c)) {
                options = custom.clone();
            }
        }
    }
    merge(&spec.options, &options)
}

/// Runs Fleet's per-cluster Helm value processing on merged options.
///
/// A cluster with no exportable label gets the options unchanged; one with labels but no Helm
/// block gets an empty Helm block (Fleet's builder creates it before looking at values).
pub fn process_values(
    options: &mut BundleDeploymentOptions,
    cluster: &ClusterContext,
) -> Result<(), values::Error> {
    if cluster.labels.is_empty() {
        return Ok(());
    }
    let helm = options.helm.take().unwrap_or_default();
    options.helm = Some(values::preprocess_helm_values(&helm, cluster)?);
    Ok(())
}

/// The namespace a cluster's BundleDeployments live in: `status.namespace`, or the namespace
/// Fleet generates for a Cluster that has no status at all; `None` while a status exists
/// without a namespace (Fleet counts the target but writes no BundleDeployment yet).
pub fn cluster_deployment_namespace(cluster: &Cluster) -> Option<String> {
    match &cluster.status {
        None => Some(fleet_core::names::cluster_namespace(
            &cluster.metadata.namespace,
            &cluster.metadata.name,
        )),
        Some(status) => (!status.namespace.is_empty()).then(|| status.namespace.clone()),
    }
}

/// The labels of a BundleDeployment: the bundle's labels without keys starting
/// `kubectl.kubernetes.io/` or containing `cattle.io/`, then the bundle's `fleet.cattle.io/*`
/// labels, then Fleet's own.
pub fn labels(
    bundle: &Bundle,
    cluster: &Cluster,
    manifest: &ManifestRef,
) -> BTreeMap<String, String> {
    let bundle_labels = &bundle.metadata.labels;
    let mut out: BTreeMap<String, String> = bundle_labels
        .iter()
        .filter(|(k, _)| values::exportable(k) || k.starts_with("fleet.cattle.io/"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let own = [
        ("fleet.cattle.io/bundle-name", &bundle.metadata.name),
        (
            "fleet.cattle.io/bundle-namespace",
            &bundle.metadata.namespace,
        ),
        (
            "fleet.cattle.io/cluster-namespace",
            &cluster.metadata.namespace,
        ),
        ("fleet.cattle.io/cluster", &cluster.metadata.name),
    ];
    for (k, v) in own {
        out.insert(k.to_string(), v.clone());
    }
    out.insert("fleet.cattle.io/managed".to_string(), "true".to_string());
    if manifest.in_content {
        out.insert(
            "fleet.cattle.io/content-name".to_string(),
            manifest.id.clone(),
        );
    }
    out
}

/// The BundleDeployment Fleet writes for `bundle` on `cluster` under `decision`, as a new
/// object: options staged and promoted at once (the rollout decides promotion for existing
/// ones; see [`crate::rollout`]).
///
/// `None` when the cluster has no BundleDeployment namespace yet.
pub fn bundle_deployment(
    bundle: &Bundle,
    decision: &Decision,
    cluster: &Cluster,
    manifest: &ManifestRef,
) -> Result<Option<BundleDeployment>, Error> {
    let (bundle_ns, bundle_name) = (&bundle.metadata.namespace, &bundle.metadata.name);
    let count = bundle.spec.targets.len();
    if let Some(&index) = std::iter::once(&decision.target)
        .chain(&decision.customizations)
        .find(|&&i| i as usize >= count)
    {
        return Err(Error::NoSuchTarget {
            namespace: bundle_ns.clone(),
            name: bundle_name.clone(),
            index,
            count,
        });
    }
    let Some(namespace) = cluster_deployment_namespace(cluster) else {
        return Ok(None);
    };
    let mut options = target_options(&bundle.spec, decision);
    process_values(&mut options, &ClusterContext::of(cluster)).map_err(|source| Error::Values {
        namespace: bundle_ns.clone(),
        name: bundle_name.clone(),
        source: Box::new(source),
    })?;
    let fleet_id = options_deployment_id(&manifest.id, &options).map_err(|source| Error::Hash {
        namespace: bundle_ns.clone(),
        name: bundle_name.clone(),
        source,
    })?;
    // The `substitute` extension rides on an annotation the options hash does not see; fold it
    // into the ID so that changing it alone redeploys (`fleet_core::substitute`).
    let substitute = bundle.metadata.annotations.get(substitute::ANNOTATION);
    if let Err(source) = SubstituteOptions::from_annotations(&bundle.metadata.annotations) {
        return Err(Error::Substitute {
            namespace: bundle_ns.clone(),
            name: bundle_name.clone(),
            source,
        });
    }
    let deployment_id = match substitute {
        Some(annotation) => substitute::deployment_id(&fleet_id, annotation),
        None => fleet_id,
    };
    // Fleet unions the namespace labels and annotations of every target, whichever matched,
    // after hashing (`target.go:BundleDeployment`); the ID therefore does not change with them.
    for target in &bundle.spec.targets {
        if let Some(l) = &target.namespace_labels {
            options
                .namespace_labels
                .get_or_insert_with(Default::default)
                .extend(l.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        if let Some(a) = &target.namespace_annotations {
            options
                .namespace_annotations
                .get_or_insert_with(Default::default)
                .extend(a.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
    }
    let mut bd = BundleDeployment::new(bundle_name, &namespace);
    bd.metadata.labels = labels(bundle, cluster, manifest);
    if let Some(annotation) = substitute {
        bd.metadata
            .annotations
            .insert(substitute::ANNOTATION.to_string(), annotation.clone());
    }
    bd.spec = BundleDeploymentSpec {
        paused: bundle.spec.paused || cluster.spec.paused,
        correct_drift: options.correct_drift.clone(),
        depends_on: bundle.spec.depends_on.clone(),
        staged_options: options.clone(),
        staged_deployment_id: deployment_id.clone(),
        options,
        deployment_id,
        ..Default::default()
    };
    Ok(Some(bd))
}

/// A complete set of the objects targeting reads, borrowed: what a `fleet target` run or one
/// pass of the manager's reconcile has.
#[derive(Debug, Clone, Copy, Default)]
pub struct Objects<'a> {
    /// The Bundles.
    pub bundles: &'a [Bundle],
    /// The Clusters.
    pub clusters: &'a [Cluster],
    /// The ClusterGroups.
    pub groups: &'a [ClusterGroup],
    /// The BundleNamespaceMappings.
    pub mappings: &'a [BundleNamespaceMapping],
    /// The namespaces mappings select, with their labels.
    pub namespaces: &'a [(String, BTreeMap<String, String>)],
}

/// A targeting engine loaded with a set of [`Objects`], and the way back from engine ids to
/// the objects.
pub struct Snapshot<'a> {
    /// The engine.
    pub engine: Engine,
    objects: Objects<'a>,
    /// Engine id of each bundle, in `objects.bundles` order.
    bundle_ids: Vec<BundleId>,
    /// Engine cluster id → index in `objects.clusters` (the snapshot never changes, so ids are
    /// not reused under it).
    cluster_index: rustc_hash::FxHashMap<ClusterId, usize>,
    /// ClusterGroups whose selector is invalid (they contain no cluster), with the reason.
    pub invalid_groups: Vec<(String, String, String)>,
}

impl<'a> Snapshot<'a> {
    /// Loads the objects into a new engine.
    pub fn build(objects: Objects<'a>) -> Result<Snapshot<'a>, Error> {
        let mut engine = Engine::new();
        let mut cluster_index = rustc_hash::FxHashMap::default();
        for (i, c) in objects.clusters.iter().enumerate() {
            let (namespace, name) = (&c.metadata.namespace, &c.metadata.name);
            if engine.cluster_id(namespace, name).is_some() {
                return Err(Error::DuplicateCluster {
                    namespace: namespace.clone(),
                    name: name.clone(),
                });
            }
            let labels = c
                .metadata
                .labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()));
            engine.upsert_cluster(namespace, name, labels);
            if let Some(id) = engine.cluster_id(namespace, name) {
                cluster_index.insert(id, i);
            }
        }
        let mut invalid_groups = Vec::new();
        for g in objects.groups {
            engine.upsert_group(&GroupInput::from(g));
            if let Some(e) = engine.group_error(&g.metadata.namespace, &g.metadata.name) {
                invalid_groups.push((
                    g.metadata.namespace.clone(),
                    g.metadata.name.clone(),
                    e.to_string(),
                ));
            }
        }
        for (n, l) in objects.namespaces {
            engine.upsert_namespace(n, l.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        }
        for m in objects.mappings {
            engine.upsert_mapping(&MappingInput::from(m));
        }
        let mut bundle_ids = Vec::with_capacity(objects.bundles.len());
        for b in objects.bundles {
            let (id, _) = engine
                .upsert_bundle(&BundleInput::from(b))
                .map_err(|source| Error::Targeting {
                    namespace: b.metadata.namespace.clone(),
                    name: b.metadata.name.clone(),
                    source: Box::new(source),
                })?;
            bundle_ids.push(id);
        }
        Ok(Snapshot {
            engine,
            objects,
            bundle_ids,
            cluster_index,
            invalid_groups,
        })
    }

    /// The objects the snapshot was built from.
    pub fn objects(&self) -> Objects<'a> {
        self.objects
    }

    /// The engine id of the `index`-th bundle.
    pub fn bundle_id(&self, index: usize) -> BundleId {
        self.bundle_ids[index]
    }

    /// The Cluster object behind an engine cluster id.
    pub fn cluster(&self, id: ClusterId) -> &'a Cluster {
        let objects = self.objects;
        &objects.clusters[self.cluster_index[&id]]
    }

    /// The `index`-th bundle's targets in Fleet's order: by cluster name only (stable, so
    /// equal names keep the engine's order), as the rollout partitions them.
    pub fn sorted_targets(&self, index: usize) -> Vec<(ClusterId, Decision)> {
        let targets = self.engine.targets(self.bundle_ids[index]);
        let mut out: Vec<(ClusterId, Decision)> = targets
            .variants
            .iter()
            .flat_map(|(d, members)| members.iter().map(move |c| (c, d.clone())))
            .collect();
        out.sort_by(|a, b| {
            let (ans, an) = self.engine.cluster_name(a.0);
            let (bns, bn) = self.engine.cluster_name(b.0);
            an.cmp(bn).then(ans.cmp(bns))
        });
        out
    }

    /// The rollout view of the `index`-th bundle's targets, in [`Snapshot::sorted_targets`]
    /// order: each cluster with its labels, its groups and their labels, and `spec.paused`.
    /// Deployment IDs and existing BundleDeployments are left empty for the caller (the
    /// manager fills them from its store).
    pub fn rollout_targets(&self, index: usize) -> Vec<RolloutTarget> {
        self.sorted_targets(index)
            .into_iter()
            .map(|(id, _)| {
                let cluster = self.cluster(id);
                let groups = self
                    .engine
                    .group_names_of(id)
                    .into_iter()
                    .map(|name| {
                        let labels = self
                            .objects
                            .groups
                            .iter()
                            .find(|g| {
                                g.metadata.namespace == cluster.metadata.namespace
                                    && g.metadata.name == name
                            })
                            .map(|g| g.metadata.labels.clone())
                            .unwrap_or_default();
                        (name, labels)
                    })
                    .collect();
                RolloutTarget {
                    cluster: ClusterView {
                        name: cluster.metadata.name.clone(),
                        labels: cluster.metadata.labels.clone(),
                        groups,
                        paused: cluster.spec.paused,
                    },
                    deployment_id: String::new(),
                    bd: None,
                }
            })
            .collect()
    }

    /// Every BundleDeployment Fleet writes for the objects, bundle by bundle in input order,
    /// each bundle's in [`Snapshot::sorted_targets`] order; clusters without a
    /// BundleDeployment namespace are skipped.
    pub fn bundle_deployments(&self) -> Result<Vec<BundleDeployment>, Error> {
        let mut out = Vec::new();
        for (index, bundle) in self.objects.bundles.iter().enumerate() {
            let manifest = ManifestRef::of(bundle)?;
            for (cluster, decision) in self.sorted_targets(index) {
                out.extend(bundle_deployment(
                    bundle,
                    &decision,
                    self.cluster(cluster),
                    &manifest,
                )?);
            }
        }
        Ok(out)
    }
}
