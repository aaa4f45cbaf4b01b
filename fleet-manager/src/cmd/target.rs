//! `fleet-manager target`: the BundleDeployments Fleet would create for bundles, given the
//! clusters, cluster groups, bundle namespace mappings and namespaces as YAML files; or, with
//! `--explain`, why a cluster does or does not get each bundle.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use fleet_core::crd::{Bundle, BundleNamespaceMapping, Cluster, ClusterGroup};
use fleet_targeting::deployment::{self, Objects, Snapshot};
use fleet_targeting::rollout::{self, RolloutStrategy};
use serde_json::Value;

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

fn objects(inputs: &Inputs) -> Objects<'_> {
    Objects {
        bundles: &inputs.bundles,
        clusters: &inputs.clusters,
        groups: &inputs.groups,
        mappings: &inputs.mappings,
        namespaces: &inputs.namespaces,
    }
}

fn explain(w: &Snapshot<'_>, name: &str) -> Result<String> {
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
    for (bi, b) in w.objects().bundles.iter().enumerate() {
        let id = w.bundle_id(bi);
        let targets = w.sorted_targets(bi);
        for &c in &clusters {
            let Some(ex) = w.engine.explain(id, c) else {
                continue;
            };
            out.push_str(&ex.to_string());
            let cluster = w.cluster(c);
            if let Some(pos) = targets.iter().position(|(x, _)| *x == c) {
                match deployment::cluster_deployment_namespace(cluster) {
                    Some(ns) => out.push_str(&format!("bundle deployment namespace: {ns}\n")),
                    None => out.push_str(
                        "bundle deployment namespace: not assigned yet (status.namespace is empty): Fleet counts the target but writes no BundleDeployment\n",
                    ),
                }
                let rts = w.rollout_targets(bi);
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
    let inputs = load(args)?;
    let snapshot = Snapshot::build(objects(&inputs))?;
    for (namespace, name, reason) in &snapshot.invalid_groups {
        eprintln!(
            "fleet-manager: warning: ClusterGroup {namespace}/{name} has an invalid selector and contains no cluster: {reason}"
        );
    }
    if let Some(name) = &args.explain {
        return explain(&snapshot, name);
    }
    let bds = snapshot.bundle_deployments()?;
    if bds.is_empty() {
        return Ok(String::new());
    }
    fleet_core::yaml::to_string_multi(&bds).context("cannot write YAML")
}
