//! API discovery for the executor: which kinds the server serves, under which plural, and
//! whether they are namespaced. Loaded once and refreshed when an unknown kind appears or a
//! CRD of the deployment has been established.

use std::collections::HashMap;

use kube::Client;
use kube::discovery::{ApiResource, Scope};

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
}

impl ApiDiscovery {
    /// Runs discovery against the server: `/api`, `/apis` and every group version.
    pub async fn load(client: &Client) -> Result<ApiDiscovery, kube::Error> {
        let discovery = kube::Discovery::new(client.clone()).run().await?;
        let mut kinds = HashMap::new();
        for group in discovery.groups() {
            for version in group.versions() {
                for (resource, capabilities) in group.versioned_resources(version) {
                    let key = (resource.api_version.clone(), resource.kind.clone());
                    kinds.insert(
                        key,
                        ServedKind {
                            resource,
                            namespaced: capabilities.scope == Scope::Namespaced,
                        },
                    );
                }
            }
        }
        Ok(ApiDiscovery { kinds })
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
