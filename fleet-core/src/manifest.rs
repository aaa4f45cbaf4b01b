//! Bundle manifests, Content payloads, manifest IDs and deployment IDs, byte-compatible with
//! Fleet (`internal/manifest/*`, `internal/content`, `internal/cmd/controller/options`;
//! spec §5.5–5.6).
//!
//! * Manifest JSON = `json.NewEncoder(w).Encode(Manifest{Resources})`: `{"resources":[…]}`
//!   (the key is left out when there are no resources: `{}`), Go escaping, trailing newline.
//! * `shasum = sha256hex(json)`, **manifestID** = `("s-" + shasum)[:63]`.
//! * Content `content` = gzip of the JSON, `sha256sum` = shasum.
//! * **deploymentID** = manifestID + `":"` + `sha256hex(json(options) + "\n")`, the options
//!   being the merged, templated BundleDeploymentOptions with `diff` and `correctDrift` cleared.
//!
//! The resource and option types are generic (`Serialize`), so the functions work with the
//! CRD types of this crate as well as with any struct that has Go's field order and omitempty.
//!
//! ```
//! use fleet_core::manifest::Manifest;
//! #[derive(serde::Serialize)]
//! struct Resource { name: &'static str, content: &'static str }
//! let m = Manifest::from_resources(&[Resource { name: "cm.yaml", content: "kind: ConfigMap\n" }]).unwrap();
//! assert_eq!(m.json(), b"{\"resources\":[{\"name\":\"cm.yaml\",\"content\":\"kind: ConfigMap\\n\"}]}\n");
//! assert_eq!(m.id().len(), 63);
//! ```

use std::io::{Read, Write};

use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::crd::{BundleDeploymentOptions, BundleResource};
use crate::gojson;

/// The largest manifest [`gunzip`] inflates (1 GiB); Fleet bundles are limited to far less by
/// etcd's object size.
pub const MAX_MANIFEST_BYTES: u64 = 1 << 30;

/// Errors building or reading manifests.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The value cannot be written as Go JSON.
    #[error("cannot encode {what} as JSON: {source}")]
    Encode {
        /// What was being encoded.
        what: &'static str,
        /// The JSON error.
        source: gojson::Error,
    },
    /// The manifest JSON does not decode.
    #[error("invalid manifest JSON: {0}")]
    Decode(#[from] serde_json::Error),
    /// The content's hash differs from the expected one.
    #[error("content does not match hash got {got}, expected {expected}")]
    HashMismatch {
        /// The SHA-256 of the data.
        got: String,
        /// The expected SHA-256.
        expected: String,
    },
    /// Compressing or decompressing failed (corrupt gzip data).
    #[error("gzip: {0}")]
    Gzip(#[from] std::io::Error),
    /// The decompressed content is larger than [`MAX_MANIFEST_BYTES`].
    #[error("decompressed content exceeds {MAX_MANIFEST_BYTES} bytes")]
    TooLarge,
}

/// Hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// `ToSHA256ID`: `("s-" + shasum)[:63]`, a valid Kubernetes name.
pub fn to_sha256_id(shasum: &str) -> String {
    let full = format!("s-{shasum}");
    match full.char_indices().nth(63) {
        Some((cut, _)) => full[..cut].to_string(),
        None => full,
    }
}

#[derive(Serialize)]
struct ManifestJson<'a, R: Serialize> {
    #[serde(skip_serializing_if = "<[R]>::is_empty")]
    resources: &'a [R],
}

/// Go's `BundleResource` exactly (unknown fields kept by the CRD type are not hashed).
#[derive(Serialize)]
struct GoBundleResource<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    content: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    encoding: &'a str,
}

#[derive(serde::Deserialize)]
struct ManifestIn<R> {
    #[serde(default = "Vec::new")]
    resources: Vec<R>,
}

/// A manifest as Fleet serialises it: the JSON bytes and their SHA-256.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    json: Vec<u8>,
    shasum: String,
}

impl Manifest {
    /// Encodes the bundle resources (Go `BundleResource`: `name`, `content`, `encoding`, all
    /// omitempty, in that order).
    pub fn from_resources<R: Serialize>(resources: &[R]) -> Result<Manifest, ManifestError> {
        let json = gojson::to_vec_encoder(&ManifestJson { resources }).map_err(|source| {
            ManifestError::Encode {
                what: "manifest",
                source,
            }
        })?;
        let shasum = sha256_hex(&json);
        Ok(Manifest { json, shasum })
    }

    /// The manifest of a Bundle's `spec.resources` (`manifest.New(bundle.Spec.Resources)`).
    pub fn from_bundle_resources(resources: &[BundleResource]) -> Result<Manifest, ManifestError> {
        let go: Vec<GoBundleResource<'_>> = resources
            .iter()
            .map(|r| GoBundleResource {
                name: &r.name,
                content: &r.content,
                encoding: &r.encoding,
            })
            .collect();
        Manifest::from_resources(&go)
    }

    /// Takes manifest JSON as stored (e.g. gunzipped Content), checking its hash when
    /// `expected_shasum` is non-empty (`FromJSON`). The bytes are kept as they are.
    pub fn from_json(data: Vec<u8>, expected_shasum: &str) -> Result<Manifest, ManifestError> {
        let shasum = sha256_hex(&data);
        if !expected_shasum.is_empty() && expected_shasum != shasum {
            return Err(ManifestError::HashMismatch {
                got: shasum,
                expected: expected_shasum.to_string(),
            });
        }
        // Reject data that is not a manifest at all.
        serde_json::from_slice::<ManifestIn<serde_json::Value>>(&data)?;
        Ok(Manifest { json: data, shasum })
    }

    /// Reads a Content payload: gunzips it and checks it against `sha256sum` (if non-empty).
    pub fn from_content(gzipped: &[u8], sha256sum: &str) -> Result<Manifest, ManifestError> {
        Manifest::from_json(gunzip(gzipped)?, sha256sum)
    }

    /// The JSON bytes (with the trailing newline for encoded manifests).
    pub fn json(&self) -> &[u8] {
        &self.json
    }

    /// `sha256hex(json)`, the Content's `sha256sum`.
    pub fn sha256sum(&self) -> &str {
        &self.shasum
    }

    /// The manifest ID, also the Content's name: `("s-" + shasum)[:63]`.
    pub fn id(&self) -> String {
        to_sha256_id(&self.shasum)
    }

    /// The resources, decoded into `R`.
    pub fn resources<R: DeserializeOwned>(&self) -> Result<Vec<R>, ManifestError> {
        Ok(serde_json::from_slice::<ManifestIn<R>>(&self.json)?.resources)
    }

    /// The Content's `content` bytes: gzip of the JSON.
    pub fn to_gzip(&self) -> Result<Vec<u8>, ManifestError> {
        gzip(&self.json)
    }
}

/// Gzip with a header like Go's `compress/gzip` writes (no name, mtime 0, OS byte 255).
/// The compressed bytes differ from Go's encoder; hashes are always taken over the
/// uncompressed JSON, so only the decompressed content matters.
pub fn gzip(data: &[u8]) -> Result<Vec<u8>, ManifestError> {
    let mut encoder = flate2::GzBuilder::new()
        .operating_system(255)
        .write(Vec::new(), flate2::Compression::default());
    encoder.write_all(data)?;
    Ok(encoder.finish()?)
}

/// Gunzips a Content payload (at most [`MAX_MANIFEST_BYTES`]).
pub fn gunzip(data: &[u8]) -> Result<Vec<u8>, ManifestError> {
    let mut out = Vec::new();
    let mut reader = flate2::read::MultiGzDecoder::new(data).take(MAX_MANIFEST_BYTES + 1);
    reader.read_to_end(&mut out)?;
    if out.len() as u64 > MAX_MANIFEST_BYTES {
        return Err(ManifestError::TooLarge);
    }
    Ok(out)
}

/// The hash half of a deployment ID: `sha256hex(json(options) + "\n")`. The caller passes the
/// options exactly as they should be hashed (see [`deployment_id`]).
pub fn options_hash<O: Serialize + ?Sized>(options: &O) -> Result<String, ManifestError> {
    let json = gojson::to_vec_encoder(options).map_err(|source| ManifestError::Encode {
        what: "options",
        source,
    })?;
    Ok(sha256_hex(&json))
}

/// `manifestID + ":" + options_hash(options)`. Fleet (v0.16+) hashes the options with `diff`
/// and `correctDrift` set to nil and with Helm values as decoded by Go (numbers are float64:
/// see [`gojson::numbers_as_float64`]); the caller prepares the options that way.
pub fn deployment_id<O: Serialize + ?Sized>(
    manifest_id: &str,
    options: &O,
) -> Result<String, ManifestError> {
    Ok(format!("{manifest_id}:{}", options_hash(options)?))
}

/// Fleet's `DeploymentID(manifestID, opts)` (v0.16+): hashes a copy of the options with
/// `diff` and `correctDrift` cleared and Helm values numbers as float64 (as Go holds them after
/// decoding JSON into `interface{}`).
pub fn options_deployment_id(
    manifest_id: &str,
    options: &BundleDeploymentOptions,
) -> Result<String, ManifestError> {
    let mut sanitized = options.clone();
    sanitized.diff = None;
    sanitized.correct_drift = None;
    if let Some(values) = sanitized.helm.as_mut().and_then(|h| h.values.as_mut()) {
        values.values_mut().for_each(gojson::numbers_as_float64);
    }
    deployment_id(manifest_id, &sanitized)
}

/// Splits a deployment ID at the first `:` into manifest ID and options hash, as the agent does.
pub fn split_deployment_id(deployment_id: &str) -> (&str, &str) {
    deployment_id.split_once(':').unwrap_or((deployment_id, ""))
}
