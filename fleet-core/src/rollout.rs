//! Rollout arithmetic of the bundle controller (`internal/cmd/controller/target/status.go`,
//! spec §4.2 and §4.4): `limit()`, `MaxUnavailable` and the availability predicates.
//!
//! The predicates work on any BundleDeployment representation through [`DeploymentView`], so
//! the targeting engine can use its own storage.
//!
//! ```
//! use fleet_core::rollout::{limit, IntOrString};
//! assert_eq!(limit(10, [Some(&IntOrString::String("50%".into()))]).unwrap(), 5);
//! assert_eq!(limit(10, [None, Some(&IntOrString::Int(15))]).unwrap(), 10);
//! assert_eq!(limit(50, []).unwrap(), 50); // default 100%
//! ```

use crate::crd::BundleDeployment;

pub use crate::crd::IntOrString;

/// An invalid rollout limit.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RolloutError {
    /// Neither an integer nor a percentage.
    #[error("invalid maxUnavailable, must be int or percentage (ending with %): {value}")]
    NotAPercentage {
        /// The value as written.
        value: String,
    },
    /// Ends in `%` but the number does not parse.
    #[error("failed to parse {value}: invalid percentage")]
    BadPercentage {
        /// The value as written.
        value: String,
    },
}

/// Go's `strconv.Atoi` as `intstr.IntValue` uses it: the parsed integer, `0` for text that is
/// not an integer, clamped to the 64-bit range on overflow.
fn go_atoi(s: &str) -> i64 {
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return 0;
    }
    let mut v: i128 = 0;
    for b in digits.bytes() {
        v = (v * 10 + i128::from(b - b'0')).min(i128::from(i64::MAX) + 1);
    }
    let v = if neg { -v } else { v };
    v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// Go's `int(f)` on amd64: truncation toward zero; NaN, infinities and out-of-range values give
/// the "integer indefinite" value `i64::MIN`.
fn go_float_to_int(f: f64) -> i64 {
    if f.is_finite() && f > -9.223_372_036_854_776e18 && f < 9.223_372_036_854_776e18 {
        f.trunc() as i64
    } else {
        i64::MIN
    }
}

/// Go's `strconv.ParseFloat(s, 64)` for the forms a percentage uses (decimal, exponent,
/// `inf`/`nan`); `None` when it does not parse.
fn go_parse_float(s: &str) -> Option<f64> {
    if s.is_empty() || s.contains('_') {
        return None;
    }
    s.parse::<f64>().ok()
}

/// `limit(count, values…)` of spec §4.2: the first non-`None` value (default `"100%"`) applied
/// to `count` items.
///
/// * `count <= 0` ⇒ 1.
/// * An integer above `count` gives `count`, below 0 gives 0, otherwise itself (0 allowed).
/// * A string holding a positive integer gives that number, **unclamped**.
/// * Otherwise it must end in `%`: `p <= 0` ⇒ 1; `floor(count × p / 100)`, at least 1 and at
///   most `count`.
pub fn limit<'a, I>(count: i64, values: I) -> Result<i64, RolloutError>
where
    I: IntoIterator<Item = Option<&'a IntOrString>>,
{
    if count <= 0 {
        return Ok(1);
    }
    let default = IntOrString::String("100%".to_string());
    let value = values.into_iter().flatten().next().unwrap_or(&default);
    let text = match value {
        IntOrString::Int(i) => return Ok(i64::from(*i).clamp(0, count)),
        IntOrString::String(s) => s,
    };
    let i = go_atoi(text);
    if i > 0 {
        return Ok(i);
    }
    let Some(number) = text.strip_suffix('%') else {
        return Err(RolloutError::NotAPercentage {
            value: text.clone(),
        });
    };
    let percent = go_parse_float(number).ok_or_else(|| RolloutError::BadPercentage {
        value: text.clone(),
    })?;
    if percent <= 0.0 {
        return Ok(1);
    }
    let i = go_float_to_int(count as f64 * percent) / 100;
    if i <= 0 {
        return Ok(1);
    }
    Ok(i.min(count))
}

/// `MaxUnavailable(targets)`: `limit(#targets, rolloutStrategy.maxUnavailable)`.
pub fn max_unavailable(
    target_count: usize,
    max_unavailable: Option<&IntOrString>,
) -> Result<i64, RolloutError> {
    limit(
        i64::try_from(target_count).unwrap_or(i64::MAX),
        [max_unavailable],
    )
}

/// `limit(#partitions, rollout.maxUnavailablePartitions, 0)` (spec §4.4).
pub fn max_unavailable_partitions(
    partition_count: usize,
    max_unavailable_partitions: Option<&IntOrString>,
) -> Result<i64, RolloutError> {
    let zero = IntOrString::Int(0);
    limit(
        i64::try_from(partition_count).unwrap_or(i64::MAX),
        [max_unavailable_partitions, Some(&zero)],
    )
}

/// The fields of a BundleDeployment that the rollout predicates read.
pub trait DeploymentView {
    /// `spec.deploymentID`.
    fn deployment_id(&self) -> &str;
    /// `spec.stagedDeploymentID`.
    fn staged_deployment_id(&self) -> &str;
    /// `status.appliedDeploymentID`.
    fn applied_deployment_id(&self) -> &str;
    /// `status.ready`.
    fn ready(&self) -> bool;
}

/// `isUnavailable(bd)`: applied ID differs from the deployment ID, or not ready. A target
/// without a BundleDeployment (`None`) is **not** unavailable.
pub fn is_unavailable<D: DeploymentView + ?Sized>(bd: Option<&D>) -> bool {
    bd.is_some_and(|bd| bd.applied_deployment_id() != bd.deployment_id() || !bd.ready())
}

/// `upToDate(target)`: the BundleDeployment exists and its staged, current and applied IDs all
/// equal the target's computed deployment ID.
pub fn up_to_date<D: DeploymentView + ?Sized>(target_deployment_id: &str, bd: Option<&D>) -> bool {
    bd.is_some_and(|bd| {
        bd.staged_deployment_id() == target_deployment_id
            && bd.deployment_id() == target_deployment_id
            && bd.applied_deployment_id() == target_deployment_id
    })
}

/// `Unavailable(targets)`: how many targets have a BundleDeployment that is unavailable.
pub fn unavailable<'a, D, I>(bds: I) -> usize
where
    D: DeploymentView + ?Sized + 'a,
    I: IntoIterator<Item = Option<&'a D>>,
{
    bds.into_iter().filter(|bd| is_unavailable(*bd)).count()
}

/// The partition counter that `updateStatusAndCheckUnavailable` recomputes: targets (given as
/// `(deploymentID, BundleDeployment)`) that are not up to date or are unavailable.
pub fn partition_unavailable<'a, D, I>(targets: I) -> usize
where
    D: DeploymentView + ?Sized + 'a,
    I: IntoIterator<Item = (&'a str, Option<&'a D>)>,
{
    targets
        .into_iter()
        .filter(|(id, bd)| !up_to_date(id, *bd) || is_unavailable(*bd))
        .count()
}

/// `updateStatusAndCheckUnavailable`: returns the recomputed partition counter and whether
/// it exceeds the partition's `maxUnavailable`.
pub fn update_partition_status<'a, D, I>(max_unavailable: i64, targets: I) -> (usize, bool)
where
    D: DeploymentView + ?Sized + 'a,
    I: IntoIterator<Item = (&'a str, Option<&'a D>)>,
{
    let count = partition_unavailable(targets);
    (
        count,
        i64::try_from(count).unwrap_or(i64::MAX) > max_unavailable,
    )
}

impl<M> DeploymentView for BundleDeployment<M> {
    fn deployment_id(&self) -> &str {
        &self.spec.deployment_id
    }
    fn staged_deployment_id(&self) -> &str {
        &self.spec.staged_deployment_id
    }
    fn applied_deployment_id(&self) -> &str {
        self.status
            .as_ref()
            .map_or("", |s| s.applied_deployment_id.as_str())
    }
    fn ready(&self) -> bool {
        self.status.as_ref().is_some_and(|s| s.ready)
    }
}
