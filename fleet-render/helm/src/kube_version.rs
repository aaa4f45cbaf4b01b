//! The `kubeVersion` constraint of `Chart.yaml`, checked the way `helm install` does
//! (`pkg/action/install.go`): only the root chart's constraint, read with Masterminds/semver
//! rules, against the cluster version. `helm template` through the engine alone does not
//! check it, so rendering never calls this; installers do.

use fleet_gotemplate::funcs::semver::{Constraints, Version};

use crate::chart::Chart;

/// Why a chart does not fit the cluster.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The cluster version is outside the chart's range.
    #[error(
        "chart requires kubeVersion: {constraint} which is incompatible with Kubernetes {kube_version}"
    )]
    Incompatible {
        /// The chart's constraint.
        constraint: String,
        /// The cluster version.
        kube_version: String,
    },
    /// The constraint or the version does not parse.
    #[error("chart {chart}: kubeVersion {constraint:?} against {kube_version:?}: {reason}")]
    Invalid {
        /// The chart.
        chart: String,
        /// The chart's constraint.
        constraint: String,
        /// The cluster version.
        kube_version: String,
        /// What did not parse.
        reason: String,
    },
}

/// Checks the root chart's `kubeVersion` against `kube_version` (`v1.31.0`).
pub fn check(chart: &Chart, kube_version: &str) -> Result<(), Error> {
    let constraint = chart.metadata.kube_version.trim();
    if constraint.is_empty() {
        return Ok(());
    }
    let invalid = |reason: String| Error::Invalid {
        chart: chart.name().to_string(),
        constraint: constraint.to_string(),
        kube_version: kube_version.to_string(),
        reason,
    };
    let version = Version::parse(kube_version).map_err(|e| invalid(e.to_string()))?;
    let constraints = Constraints::parse(constraint).map_err(|e| invalid(e.to_string()))?;
    if constraints.check(&version) {
        Ok(())
    } else {
        Err(Error::Incompatible {
            constraint: constraint.to_string(),
            kube_version: kube_version.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(constraint: &str) -> Chart {
        let mut c = Chart::from_parts("c", serde_json::json!({}));
        c.metadata.kube_version = constraint.to_string();
        c
    }

    #[test]
    fn constraints_follow_masterminds_rules() {
        assert_eq!(check(&chart(""), "v1.31.0"), Ok(()));
        assert_eq!(check(&chart(">=1.23.0-0"), "v1.31.0"), Ok(()));
        assert_eq!(
            check(&chart("<1.20.0"), "v1.31.0").map_err(|e| e.to_string()),
            Err(
                "chart requires kubeVersion: <1.20.0 which is incompatible with Kubernetes v1.31.0"
                    .to_string()
            )
        );
        assert!(matches!(
            check(&chart(">=1.23.0"), "v1.31.0-eks.1"),
            Err(Error::Incompatible { .. })
        ));
        assert!(matches!(
            check(&chart("~~1"), "v1.31.0"),
            Err(Error::Invalid { .. })
        ));
    }
}
