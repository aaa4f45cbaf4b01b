//! Errors of the kustomize build.

/// An error building a kustomization. Every variant names the file (or directory) involved.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The directory holds no `kustomization.yaml`, `kustomization.yml` or `Kustomization`.
    #[error(
        "unable to find one of 'kustomization.yaml', 'kustomization.yml' or 'Kustomization' in directory '{dir}'"
    )]
    NoKustomization {
        /// The directory.
        dir: String,
    },
    /// The directory holds more than one kustomization file.
    #[error("found multiple kustomization files under: {dir}")]
    MultipleKustomizations {
        /// The directory.
        dir: String,
    },
    /// A file or directory named by the kustomization does not exist.
    #[error("{file}: {field} entry '{entry}': no such file or directory")]
    Missing {
        /// The kustomization file.
        file: String,
        /// The field (`resources`, `components`, `patches`, ...).
        field: String,
        /// The entry as written.
        entry: String,
    },
    /// A path leaves the file tree, or the kustomization directory under load restrictions.
    #[error("{file}: '{entry}' is not in or below '{root}' (security: load restrictions)")]
    Restricted {
        /// The kustomization file.
        file: String,
        /// The entry as written.
        entry: String,
        /// The directory it must stay in.
        root: String,
    },
    /// A YAML file could not be parsed.
    #[error("{file}: {message}")]
    Yaml {
        /// The file.
        file: String,
        /// What the parser said.
        message: String,
    },
    /// The kustomization file has a field of the wrong shape or an unknown field.
    #[error("{file}: invalid Kustomization: {message}")]
    Invalid {
        /// The kustomization file.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// A feature this build does not implement.
    #[error("{file}: field '{field}' is not supported by this kustomize build{detail}")]
    Unsupported {
        /// The kustomization file.
        file: String,
        /// The field.
        field: String,
        /// More context (starts with `: ` when not empty).
        detail: String,
    },
    /// Two resources have the same id.
    #[error("{file}: may not add resource with an already registered id: {id}")]
    IdConflict {
        /// Where the second one came from.
        file: String,
        /// The id (`Kind.version.group/name.namespace`).
        id: String,
    },
    /// A resource is malformed (no kind, no name, not a map).
    #[error("{file}: invalid resource: {message}")]
    InvalidResource {
        /// The file it came from.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// A patch matched nothing, or is malformed, or failed to apply.
    #[error("{file}: {message}")]
    Patch {
        /// The kustomization or patch file.
        file: String,
        /// What went wrong.
        message: String,
    },
    /// A generator is malformed or its behavior cannot be carried out.
    #[error("{file}: generator '{name}': {message}")]
    Generator {
        /// The kustomization file.
        file: String,
        /// The generator's name.
        name: String,
        /// What went wrong.
        message: String,
    },
    /// A transformer field (images, replicas, labels, ...) cannot be applied.
    #[error("{file}: {field}: {message}")]
    Transform {
        /// The kustomization file.
        file: String,
        /// The field.
        field: String,
        /// What went wrong.
        message: String,
    },
    /// A reference by name is ambiguous after renames.
    #[error("{file}: updating name references: {message}")]
    NameReference {
        /// The top kustomization file.
        file: String,
        /// What is ambiguous.
        message: String,
    },
    /// Kustomizations refer to each other in a cycle.
    #[error("{file}: cycle detected: '{dir}' is already being built")]
    Cycle {
        /// The kustomization file.
        file: String,
        /// The directory built twice.
        dir: String,
    },
}
