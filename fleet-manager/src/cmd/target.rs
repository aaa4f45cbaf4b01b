//! `fleet-manager target`: the BundleDeployments Fleet would create for bundles, given the
//! clusters, cluster groups, bundle namespace mappings and namespaces as YAML files; or, with
//! `--explain`, why a cluster does or does not get each bundle.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use fleet_core::crd::{
    Bundle, BundleDeploymentOptions, BundleNamespaceMapping, Cluster, ClusterGroup,
    TargetCustomizationMode,
};
use fleet_core::manifest::{Manifest, options_deployment_id};
use fleet_targeting::rollout::{self, ClusterView, RolloutStrategy, RolloutTarget};
use fleet_targeting::{BundleInput, Decision, Engine, GroupInput, MappingInput};
use serde_json::{Value, json};

use super::input::{Doc, read_docs};

/// Arguments of `fleet-manager target`.
#[derive(Args, Debug)]
pub struct TargetArgs {
    /// Bundle objects (multi-document YAML or a List).
    #[arg(long, value_name = "BUNDLE.yaml")]
    pub bundle: PathBuf,
    /// Cluster objects.
    #[arg(long, value_name = "CLUSTERS.yaml")]
    pub clusters: PathBuf,
    /// ClusterGroup objects.
    #[arg(long, value_name = "GROUPS.yaml")]
    pub groups: Option<PathBuf>,
    /// BundleNamespaceMapping objects.
    #[arg(long, value_name = "MAPPINGS.yaml", requires = "namespaces")]
    pub mappings: Option<PathBuf>,
    /// core/v1 Namespace objects with their labels (what mappings select).
    #[arg(long, value_name = "NAMESPACES.yaml")]
    pub namespaces: Option<PathBuf>,
    /// Print why this cluster (by name, in any namespace) does or does not get each bundle.
    #[arg(long, value_name = "CLUSTER_NAME")]
    pub explain: Option<String>,
}

const FLEET_API: &str = "fleet.cattle.io/v1alpha1";

/// The objects read from the input files.
#[derive(Default)]
struct Inputs {
    bundles: Vec<Bundle>,
    clusters: Vec<Cluster>,
    groups: Vec<ClusterGroup>,
    mappings: Vec<BundleNamespaceMapping>,
    namespaces: Vec<(String, BTreeMap<String, String>)>,
}

fn decode<T: serde::de::DeserializeOwned>(d: &Doc) -> Result<T> {
    serde_json::from_value(d.value.clone()).with_context(|| format!("{}: invalid object", d.origin))
}

fn default_ns(ns: &mut String) {
    if ns.is_empty() {
        *ns = "default".into();
    }
}

fn load(args: &TargetArgs) -> Result<Inputs> {
    let mut inp = Inputs::default();
    let mut files = vec![args.bundle.clone(), args.clusters.clone()];
    files.extend(args.groups.iter().cloned());
    files.extend(args.mappings.iter().cloned());
    files.extend(args.namespaces.iter().cloned());
    for f in &files {
        for d in read_docs(f)? {
            let fleet = d.api_version == FLEET_API;
            match d.kind.as_str() {
                "Bundle" if fleet => {
                    let mut b: Bundle = decode(&d)?;
                    default_ns(&mut b.metadata.namespace);
                    inp.bundles.push(b);
                }
                "Cluster" if fleet => {
                    let mut c: Cluster = decode(&d)?;
                    default_ns(&mut c.metadata.namespace);
                    inp.clusters.push(c);
                }
                "ClusterGroup" if fleet => {
                    let mut g: ClusterGroup = decode(&d)?;
                    default_ns(&mut g.metadata.namespace);
                    inp.groups.push(g);
                }
                "BundleNamespaceMapping" if fleet => {
                    let mut m: BundleNamespaceMapping = decode(&d)?;
                    default_ns(&mut m.metadata.namespace);
                    inp.mappings.push(m);
                }
                "Namespace" if d.api_version == "v1" => {
                    let meta = &d.value["metadata"];
                    let labels: BTreeMap<String, String> =
                        serde_json::from_value(meta.get("labels").cloned().unwrap_or(Value::Null))
                            .or_else(|_| Ok::<_, serde_json::Error>(BTreeMap::new()))
                            .unwrap_or_default();
                    if meta
                        .get("labels")
                        .is_some_and(|l| !l.is_null() && !l.is_object())
                    {
                        bail!("{}: metadata.labels is not a map", d.origin);
                    }
                    let name = meta["name"].as_str().unwrap_or_default().to_owned();
                    inp.namespaces.push((name, labels));
                }
                other => bail!(
                    "{}: unsupported kind {other:?} (apiVersion {:?}); expected Bundle, Cluster, ClusterGroup, BundleNamespaceMapping ({FLEET_API}) or Namespace (v1)",
                    d.origin,
                    d.api_version
                ),
            }
        }
    }
    if inp.bundles.is_empty() {
        bail!("{}: no Bundle found", args.bundle.display());
    }
    Ok(inp)
}

/// Bundle labels a BundleDeployment inherits, then Fleet's own (spec §1.3).
fn bd_labels(b: &Bundle, cluster: &Cluster, content: Option<&str>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (k, v) in &b.metadata.labels {
        if k.starts_with("kubectl.kubernetes.io/") || k.contains("cattle.io/") {
            continue;
        }
        out.insert(k.clone(), v.clone());
    }
    for (k, v) in &b.metadata.labels {
        if k.starts_with("fleet.cattle.io/") {
            out.insert(k.clone(), v.clone());
        }
    }
    out.insert(
        "fleet.cattle.io/bundle-name".into(),
        b.metadata.name.clone(),
    );
    out.insert(
        "fleet.cattle.io/bundle-namespace".into(),
        b.metadata.namespace.clone(),
    );
    out.insert("fleet.cattle.io/managed".into(), "true".into());
    out.insert(
        "fleet.cattle.io/cluster-namespace".into(),
        cluster.metadata.namespace.clone(),
    );
    out.insert(
        "fleet.cattle.io/cluster".into(),
        cluster.metadata.name.clone(),
    );
    if let Some(c) = content {
        out.insert("fleet.cattle.io/content-name".into(), c.to_owned());
    }
    out
}

/// The cluster labels Helm value pre-processing sees (spec §6.2).
fn exportable_labels(labels: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    labels
        .iter()
        .filter(|(k, _)| {
            !(k.starts_with("kubectl.kubernetes.io/") || k.contains("cattle.io/"))
                || k.starts_with("fleet.cattle.io/")
                || k.starts_with("management.cattle.io/")
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Final options for one cluster: target options replaced (FirstMatch) or folded (AllMatches)
/// by customizations, merged over the bundle's (spec §3.4, §6.3), then value pre-processing.
fn options_for(b: &Bundle, d: &Decision, cluster: &Cluster) -> Result<BundleDeploymentOptions> {
    let targets = &b.spec.targets;
    let mut target_opts = targets[d.target as usize].options.clone();
    match b.spec.target_customization_mode {
        TargetCustomizationMode::AllMatches => {
            for &c in &d.customizations {
                target_opts = fleet_core::merge::merge(&target_opts, &targets[c as usize].options);
            }
        }
        _ => {
            if let Some(&c) = d.customizations.first() {
                target_opts = targets[c as usize].options.clone();
            }
        }
    }
    let mut opts = fleet_core::merge::merge(&b.spec.options, &target_opts);
    if exportable_labels(&cluster.metadata.labels).is_empty() {
        return Ok(opts);
    }
    // Fleet gives every cluster with labels a Helm block, then pre-processes its values:
    // `global.fleet.clusterLabels.*`, `${ }` templating and templateValues (spec §6.2), with
    // the same code the renderer uses.
    let facts = fleet_render::render::ClusterFacts {
        name: cluster.metadata.name.clone(),
        namespace: cluster.metadata.namespace.clone(),
        labels: cluster.metadata.labels.clone(),
        annotations: cluster.metadata.annotations.clone(),
        template_values: cluster.spec.template_values.clone().unwrap_or_default(),
    };
    let ctx = fleet_render::values::cluster_context(&facts);
    let Some(helm) = opts.helm.take() else {
        // No Helm block: Fleet adds an empty one and processes nothing.
        opts.helm = Some(Default::default());
        return Ok(opts);
    };
    let helm: fleet_render::values::HelmOptions =
        serde_json::from_value(serde_json::to_value(&helm).context("cannot encode helm options")?)
            .context("cannot read helm options")?;
    let helm = fleet_render::values::preprocess_helm_values(&helm, &ctx).with_context(|| {
        format!(
            "bundle {}/{}: cannot process helm values",
            b.metadata.namespace, b.metadata.name
        )
    })?;
    opts.helm = Some(
        serde_json::from_value(serde_json::to_value(&helm).context("cannot encode helm options")?)
            .context("cannot read processed helm options")?,
    );
    Ok(opts)
}

/// Where a cluster's BundleDeployments live: `status.namespace`, or the namespace Fleet would
/// generate when the Cluster has no status at all; `None` while unassigned.
fn bd_namespace(c: &Cluster) -> Option<String> {
    match &c.status {
        None => Some(fleet_core::names::cluster_namespace(
            &c.metadata.namespace,
            &c.metadata.name,
        )),
        Some(s) => (!s.namespace.is_empty()).then(|| s.namespace.clone()),
    }
}

struct World {
    engine: Engine,
    inputs: Inputs,
    /// (namespace, name) → index in `inputs.clusters`.
    cluster_index: BTreeMap<(String, String), usize>,
    bundle_ids: Vec<u32>,
}

fn build(args: &TargetArgs) -> Result<World> {
    build_from(load(args)?)
}

/// The BundleDeployments Fleet creates for these objects, as Fleet's YAML objects; used by the
/// running manager, which holds the objects in its store rather than in files.
pub fn deployments_for(
    bundles: Vec<Bundle>,
    clusters: Vec<Cluster>,
    groups: Vec<ClusterGroup>,
) -> Result<Vec<Value>> {
    let w = build_from(Inputs {
        bundles,
        clusters,
        groups,
        ..Inputs::default()
    })?;
    bundle_deployments(&w)
}

fn build_from(inputs: Inputs) -> Result<World> {
    let mut engine = Engine::new();
    let mut cluster_index = BTreeMap::new();
    for (i, c) in inputs.clusters.iter().enumerate() {
        let key = (c.metadata.namespace.clone(), c.metadata.name.clone());
        if cluster_index.insert(key, i).is_some() {
            bail!(
                "duplicate Cluster {}/{}",
                c.metadata.namespace,
                c.metadata.name
            );
        }
        engine.upsert_cluster(
            &c.metadata.namespace,
            &c.metadata.name,
            c.metadata
                .labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        );
    }
    for g in &inputs.groups {
        engine.upsert_group(&GroupInput::from(g));
        if let Some(e) = engine.group_error(&g.metadata.namespace, &g.metadata.name) {
            eprintln!(
                "fleet-manager: warning: ClusterGroup {}/{} has an invalid selector and contains no cluster: {e}",
                g.metadata.namespace, g.metadata.name
            );
        }
    }
    for (n, l) in &inputs.namespaces {
        engine.upsert_namespace(n, l.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    }
    for m in &inputs.mappings {
        engine.upsert_mapping(&MappingInput::from(m));
    }
    let mut bundle_ids = Vec::new();
    for b in &inputs.bundles {
        let (id, _) = engine
            .upsert_bundle(&BundleInput::from(b))
            .with_context(|| {
                format!(
                    "Bundle {}/{}: targeting error",
                    b.metadata.namespace, b.metadata.name
                )
            })?;
        bundle_ids.push(id);
    }
    Ok(World {
        engine,
        inputs,
        cluster_index,
        bundle_ids,
    })
}

/// The bundle's targets in Fleet's order (cluster name only, stable).
fn sorted_targets(w: &World, b: u32) -> Vec<(u32, Decision)> {
    let t = w.engine.targets(b);
    let mut out: Vec<(u32, Decision)> = t
        .variants
        .iter()
        .flat_map(|(d, bm)| bm.iter().map(move |c| (c, d.clone())))
        .collect();
    out.sort_by(|a, b| {
        let (ans, an) = w.engine.cluster_name(a.0);
        let (bns, bn) = w.engine.cluster_name(b.0);
        an.cmp(bn).then(ans.cmp(bns))
    });
    out
}

fn manifest_id(b: &Bundle) -> Result<(String, bool)> {
    if !b.spec.contents_id.is_empty() {
        return Ok((b.spec.contents_id.clone(), false));
    }
    let m = Manifest::from_resources(&b.spec.resources).with_context(|| {
        format!(
            "Bundle {}/{}: cannot build the manifest",
            b.metadata.namespace, b.metadata.name
        )
    })?;
    Ok((m.id(), b.spec.helm_op_options.is_none()))
}

fn bundle_deployments(w: &World) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    for (bi, b) in w.inputs.bundles.iter().enumerate() {
        let id = w.bundle_ids[bi];
        let (mid, in_etcd) = manifest_id(b)?;
        for (c, d) in sorted_targets(w, id) {
            let (cns, cn) = w.engine.cluster_name(c);
            let ci = w.cluster_index[&(cns.to_owned(), cn.to_owned())];
            let cluster = &w.inputs.clusters[ci];
            let Some(ns) = bd_namespace(cluster) else {
                continue;
            };
            let mut opts = options_for(b, &d, cluster)?;
            let did = options_deployment_id(&mid, &opts).context("cannot hash the options")?;
            for t in &b.spec.targets {
                if let Some(l) = &t.namespace_labels {
                    opts.namespace_labels
                        .get_or_insert_with(Default::default)
                        .extend(l.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
                if let Some(a) = &t.namespace_annotations {
                    opts.namespace_annotations
                        .get_or_insert_with(Default::default)
                        .extend(a.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
            }
            let opts_v = serde_json::to_value(&opts).context("cannot encode options")?;
            let labels = bd_labels(b, cluster, in_etcd.then_some(mid.as_str()));
            out.push(json!({
                "apiVersion": FLEET_API,
                "kind": "BundleDeployment",
                "metadata": {
                    "name": b.metadata.name,
                    "namespace": ns,
                    "labels": labels,
                },
                "spec": {
                    "deploymentID": did,
                    "options": opts_v,
                    "stagedDeploymentID": did,
                    "stagedOptions": opts_v,
                },
            }));
        }
    }
    Ok(out)
}

fn group_labels(w: &World, ns: &str, name: &str) -> BTreeMap<String, String> {
    w.inputs
        .groups
        .iter()
        .find(|g| g.metadata.namespace == ns && g.metadata.name == name)
        .map(|g| g.metadata.labels.clone())
        .unwrap_or_default()
}

fn explain(w: &World, name: &str) -> Result<String> {
    let clusters: Vec<u32> = w
        .engine
        .clusters()
        .iter()
        .filter(|&c| w.engine.cluster_name(c).1 == name)
        .collect();
    if clusters.is_empty() {
        bail!("--explain {name:?}: no Cluster with that name in the input");
    }
    let mut out = String::new();
    for (bi, b) in w.inputs.bundles.iter().enumerate() {
        let id = w.bundle_ids[bi];
        let targets = sorted_targets(w, id);
        for &c in &clusters {
            let Some(ex) = w.engine.explain(id, c) else {
                continue;
            };
            out.push_str(&ex.to_string());
            let (cns, cn) = w.engine.cluster_name(c);
            let cluster = &w.inputs.clusters[w.cluster_index[&(cns.to_owned(), cn.to_owned())]];
            if let Some(pos) = targets.iter().position(|(x, _)| *x == c) {
                match bd_namespace(cluster) {
                    Some(ns) => out.push_str(&format!("bundle deployment namespace: {ns}\n")),
                    None => out.push_str(
                        "bundle deployment namespace: not assigned yet (status.namespace is empty): Fleet counts the target but writes no BundleDeployment\n",
                    ),
                }
                let rts: Vec<RolloutTarget> = targets
                    .iter()
                    .map(|(x, _)| {
                        let (ns, n) = w.engine.cluster_name(*x);
                        RolloutTarget {
                            cluster: ClusterView {
                                name: n.to_owned(),
                                labels: w.engine.cluster_labels(*x),
                                groups: w
                                    .engine
                                    .group_names_of(*x)
                                    .into_iter()
                                    .map(|g| {
                                        let l = group_labels(w, ns, &g);
                                        (g, l)
                                    })
                                    .collect(),
                                paused: false,
                            },
                            deployment_id: String::new(),
                            bd: None,
                        }
                    })
                    .collect();
                let strategy = b
                    .spec
                    .rollout_strategy
                    .clone()
                    .unwrap_or_else(RolloutStrategy::default);
                match rollout::partitions(&strategy, &rts) {
                    Ok(parts) => {
                        let names: Vec<String> = parts
                            .iter()
                            .filter(|p| p.targets.contains(&pos))
                            .map(|p| format!("{:?}", p.name))
                            .collect();
                        if names.is_empty() {
                            out.push_str("rollout partition: none (matches no manual partition: Fleet never creates its BundleDeployment)\n");
                        } else {
                            out.push_str(&format!(
                                "rollout partition: {} (target {} of {} in cluster-name order)\n",
                                names.join(", "),
                                pos + 1,
                                targets.len()
                            ));
                        }
                    }
                    Err(e) => out.push_str(&format!("rollout partition: error: {e}\n")),
                }
            }
            out.push('\n');
        }
    }
    Ok(out)
}

/// Runs the command and returns its complete output.
pub fn run(args: &TargetArgs) -> Result<String> {
    if args.mappings.is_some() != args.namespaces.is_some() && args.mappings.is_some() {
        bail!("--mappings needs --namespaces");
    }
    let w = build(args)?;
    if let Some(name) = &args.explain {
        return explain(&w, name);
    }
    let bds = bundle_deployments(&w)?;
    if bds.is_empty() {
        return Ok(String::new());
    }
    fleet_core::yaml::to_string_multi(&bds).context("cannot write YAML")
}
