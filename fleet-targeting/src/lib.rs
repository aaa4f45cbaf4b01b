//! Which cluster gets which bundle, with which options, in which rollout partition.
//!
//! Fleet-exact targeting (cluster matchers, cluster groups, target restrictions, target
//! customizations, bundle namespace mappings) over an interned label index sized for
//! 1,000,000 clusters, with incremental updates, an explanation of each decision, and the
//! rollout partition walk. Pure and synchronous: no I/O, no async runtime.
//!
//! ```
//! use fleet_targeting::{Engine, BundleInput, TargetInput, MatcherInput};
//! use fleet_core::selector::LabelSelector;
//!
//! let mut engine = Engine::new();
//! engine.upsert_cluster("fleet-default", "c1", [("env", "prod")]);
//! engine.upsert_cluster("fleet-default", "c2", [("env", "dev")]);
//! let bundle = BundleInput {
//!     namespace: "fleet-default".into(),
//!     name: "app".into(),
//!     targets: vec![TargetInput {
//!         matcher: MatcherInput {
//!             cluster_selector: Some(LabelSelector {
//!                 match_labels: Some([("env".to_string(), "prod".to_string())].into()),
//!                 match_expressions: None,
//!             }),
//!             ..Default::default()
//!         },
//!         ..Default::default()
//!     }],
//!     ..Default::default()
//! };
//! let (id, delta) = engine.upsert_bundle(&bundle).unwrap();
//! assert_eq!(delta.appeared.len(), 1);
//! let c1 = engine.cluster_id("fleet-default", "c1").unwrap();
//! assert!(engine.targets(id).clusters().contains(c1));
//! ```

mod crd;
pub mod deployment;
mod engine;
mod explain;
mod index;
mod intern;
mod model;
pub mod rollout;
pub mod selector;
pub mod values;

pub use engine::{BundleId, DISPLAY_NAME_LABEL, Engine, GroupId, TargetingError};
pub use explain::{EntryCheck, EntryRole, Explanation, GroupCheck, Outcome};
pub use index::ClusterId;
pub use model::{
    BundleDelta, BundleInput, BundleTargets, Change, ClusterDelta, CustomizationMode, Decision,
    Delta, GroupInput, MappingInput, MatcherInput, TargetInput, diff_targets,
};
pub use roaring::RoaringBitmap;
