//! API discovery for the executor: which kinds the server serves, under which plural, and
//! whether they are namespaced. Loaded once and refreshed when an unknown kind appears or a
//! CRD of the deployment has been established.

use std::collections::HashMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResourceList;
use kube::Client;
use kube::discovery::ApiResource;

use crate::deploy::Discovery;

/// One served kind.
#[derive(Debug, Clone)]
pub struct ServedKind {
    /// Group, version, kind and plural, as kube-rs addresses them.
    pub resource: ApiResource,
    /// Whether objects of this kind live in a namespace.
    pub namespaced: bool,
}

/// The kinds a server serves, by `(apiVersion, kind)`.
#[derive(Debug, Clone, Default)]
pub struct ApiDiscovery {
    kinds: HashMap<(String, String), ServedKind>,
    failed: Vec<String>,
}

impl ApiDiscovery {
    /// Runs discovery against the server: `/api`, `/apis` and every group version. A group
    /// version that fails (an aggregated API whose backend is down answers 503) is skipped and
    /// named in [`ApiDiscovery::failed`], as client-go's partial discovery does: its kinds are
    /// unknown until a later refresh, while everything else stays deployable. Only the two
    /// root requests failing is an error.
    pub async fn load(client: &Client) -> Result<ApiDiscovery, kube::Error> {
        let mut found = ApiDiscovery::default();
        let core = client.list_core_api_versions().await?;
        let groups = client.list_api_groups().await?;
        for version in &core.versions {
            match client.list_core_api_resources(version).await {
                Ok(list) => found.add(&list),
                Err(_) => found.failed.push(version.clone()),
            }
        }
        for group in &groups.groups {
            for version in &group.versions {
                match client
                    .list_api_group_resources(&version.group_version)
                    .await
                {
                    Ok(list) => found.add(&list),
                    Err(_) => found.failed.push(version.group_version.clone()),
                }
            }
        }
        Ok(found)
    }

    fn add(&mut self, list: &APIResourceList) {
        let (group, version) = list
            .group_version
            .rsplit_once('/')
            .unwrap_or(("", list.group_version.as_str()));
        // Subresources (`deployments/status`) are not kinds one applies.
        for resource in list.resources.iter().filter(|r| !r.name.contains('/')) {
            let served = ServedKind {
                resource: ApiResource {
                    group: group.to_string(),
                    version: version.to_string(),
                    api_version: list.group_version.clone(),
                    kind: resource.kind.clone(),
                    plural: resource.name.clone(),
                },
                namespaced: resource.namespaced,
            };
            self.kinds
                .insert((list.group_version.clone(), resource.kind.clone()), served);
        }
    }

    /// The group versions whose discovery failed in the last load.
    pub fn failed(&self) -> &[String] {
        &self.failed
    }

    /// The served kind `kind` in `api_version`, if the server serves it.
    pub fn get(&self, api_version: &str, kind: &str) -> Option<&ServedKind> {
        self.kinds.get(&(api_version.to_string(), kind.to_string()))
    }

    /// How many kinds are known (every served group version counted).
    pub fn len(&self) -> usize {
        self.kinds.len()
    }

    /// Whether nothing is known (discovery not run, or an empty server).
    pub fn is_empty(&self) -> bool {
        self.kinds.is_empty()
    }
}

impl Discovery for ApiDiscovery {
    fn scope(&self, api_version: &str, kind: &str) -> Option<bool> {
        self.get(api_version, kind).map(|k| k.namespaced)
    }
}
