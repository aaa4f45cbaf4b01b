//! Errors of the emulated API server, and their `metav1.Status` form.
//!
//! The messages follow the real API server's (`k8s.io/apimachinery/pkg/api/errors`), so
//! clients that match on reason, code or message behave as they would against a cluster.

use serde_json::{Value, json};

/// A request the store refuses, with the HTTP code and `metav1.Status` reason it maps to.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// No object of that resource and name (`404 NotFound`).
    #[error("{} \"{name}\" not found", qualified(group, resource))]
    NotFound {
        /// API group of the resource (empty for core).
        group: String,
        /// Plural resource name.
        resource: String,
        /// Object name.
        name: String,
    },
    /// The path names no served resource (`404 NotFound`).
    #[error("the server could not find the requested resource")]
    UnknownResource,
    /// An object of that name exists already (`409 AlreadyExists`).
    #[error("{} \"{name}\" already exists", qualified(group, resource))]
    AlreadyExists {
        /// API group.
        group: String,
        /// Plural resource name.
        resource: String,
        /// Object name.
        name: String,
    },
    /// An update named a stale `resourceVersion` (`409 Conflict`).
    #[error(
        "Operation cannot be fulfilled on {} \"{name}\": {reason}",
        qualified(group, resource)
    )]
    Conflict {
        /// API group.
        group: String,
        /// Plural resource name.
        resource: String,
        /// Object name.
        name: String,
        /// Why (`the object has been modified; ...`).
        reason: String,
    },
    /// A server-side apply touched fields other managers own (`409 Conflict`).
    #[error("{message}")]
    ApplyConflict {
        /// API group.
        group: String,
        /// Plural resource name.
        resource: String,
        /// Object name.
        name: String,
        /// The full message (`Apply failed with 1 conflict: ...`).
        message: String,
        /// `(manager, its API version, field path)` of each conflict.
        conflicts: Vec<(String, String, String)>,
    },
    /// The object fails validation (`422 Invalid`).
    #[error(
        "{kind}{} \"{name}\" is invalid: {}",
        dotted(group),
        causes_text(causes)
    )]
    Invalid {
        /// API group.
        group: String,
        /// Kind (`ConfigMap`).
        kind: String,
        /// Object name (may be empty).
        name: String,
        /// `(reason, field, message)` per cause (`FieldValueRequired`, `metadata.name`, ...).
        causes: Vec<(String, String, String)>,
    },
    /// A malformed request (`400 BadRequest`).
    #[error("{0}")]
    BadRequest(String),
    /// The verb is not allowed on the resource (`405 MethodNotAllowed`).
    #[error("the server does not allow this method on the requested resource")]
    MethodNotAllowed,
    /// The requested resource version is no longer kept (`410 Gone`, reason `Expired`).
    #[error("too old resource version: {requested} ({oldest})")]
    Expired {
        /// The version asked for.
        requested: u64,
        /// The oldest version still in the history.
        oldest: u64,
    },
    /// A list continuation whose resource version is no longer kept (`410 Gone`, reason
    /// `Expired`).
    #[error(
        "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter."
    )]
    ContinueExpired,
    /// A body in a content type the endpoint does not take (`415 UnsupportedMediaType`).
    #[error("the body of the request was in an unknown format - accepted media types include: {0}")]
    UnsupportedMediaType(String),
    /// The operation is refused on this object (`403 Forbidden`).
    #[error("{} \"{name}\" is forbidden: {reason}", qualified(group, resource))]
    Forbidden {
        /// API group.
        group: String,
        /// Plural resource name.
        resource: String,
        /// Object name.
        name: String,
        /// Why.
        reason: String,
    },
}

fn qualified(group: &str, resource: &str) -> String {
    if group.is_empty() {
        resource.to_string()
    } else {
        format!("{resource}.{group}")
    }
}

fn dotted(group: &str) -> String {
    if group.is_empty() {
        String::new()
    } else {
        format!(".{group}")
    }
}

fn causes_text(causes: &[(String, String, String)]) -> String {
    let parts: Vec<String> = causes
        .iter()
        .map(|(_, field, message)| {
            if field.is_empty() {
                message.clone()
            } else {
                format!("{field}: {message}")
            }
        })
        .collect();
    if parts.len() == 1 {
        parts[0].clone()
    } else {
        format!("[{}]", parts.join(", "))
    }
}

impl Error {
    /// A single-cause [`Error::Invalid`].
    pub fn invalid(
        group: &str,
        kind: &str,
        name: &str,
        reason: &str,
        field: &str,
        message: &str,
    ) -> Self {
        Error::Invalid {
            group: group.to_string(),
            kind: kind.to_string(),
            name: name.to_string(),
            causes: vec![(reason.to_string(), field.to_string(), message.to_string())],
        }
    }

    /// The HTTP status code.
    pub fn code(&self) -> u16 {
        match self {
            Error::NotFound { .. } | Error::UnknownResource => 404,
            Error::AlreadyExists { .. } | Error::Conflict { .. } | Error::ApplyConflict { .. } => {
                409
            }
            Error::Invalid { .. } => 422,
            Error::BadRequest(_) => 400,
            Error::MethodNotAllowed => 405,
            Error::Expired { .. } | Error::ContinueExpired => 410,
            Error::UnsupportedMediaType(_) => 415,
            Error::Forbidden { .. } => 403,
        }
    }

    /// The `metav1.Status` reason.
    pub fn reason(&self) -> &'static str {
        match self {
            Error::NotFound { .. } | Error::UnknownResource => "NotFound",
            Error::AlreadyExists { .. } => "AlreadyExists",
            Error::Conflict { .. } | Error::ApplyConflict { .. } => "Conflict",
            Error::Invalid { .. } => "Invalid",
            Error::BadRequest(_) => "BadRequest",
            Error::MethodNotAllowed => "MethodNotAllowed",
            Error::Expired { .. } | Error::ContinueExpired => "Expired",
            Error::UnsupportedMediaType(_) => "UnsupportedMediaType",
            Error::Forbidden { .. } => "Forbidden",
        }
    }

    /// The error as a `metav1.Status` object.
    pub fn to_status(&self) -> Value {
        let details = match self {
            Error::NotFound {
                group,
                resource,
                name,
            }
            | Error::AlreadyExists {
                group,
                resource,
                name,
            }
            | Error::Conflict {
                group,
                resource,
                name,
                ..
            }
            | Error::Forbidden {
                group,
                resource,
                name,
                ..
            } => details(name, group, resource, Vec::new()),
            Error::ApplyConflict {
                group,
                resource,
                name,
                conflicts,
                ..
            } => {
                let causes = conflicts
                    .iter()
                    .map(|(manager, api_version, field)| {
                        json!({
                            "reason": "FieldManagerConflict",
                            "message": format!("conflict with \"{manager}\" using {api_version}"),
                            "field": field,
                        })
                    })
                    .collect();
                details(name, group, resource, causes)
            }
            Error::Invalid {
                group,
                kind,
                name,
                causes,
            } => {
                let causes = causes
                    .iter()
                    .map(|(reason, field, message)| {
                        json!({"reason": reason, "message": message, "field": field})
                    })
                    .collect();
                details(name, group, kind, causes)
            }
            _ => Value::Null,
        };
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.to_string(),
            "reason": self.reason(),
            "code": self.code(),
        });
        if !details.is_null() {
            status["details"] = details;
        }
        status
    }
}

fn details(name: &str, group: &str, kind: &str, causes: Vec<Value>) -> Value {
    let mut d = json!({"name": name, "kind": kind});
    if !group.is_empty() {
        d["group"] = json!(group);
    }
    if !causes.is_empty() {
        d["causes"] = Value::Array(causes);
    }
    d
}

/// A `metav1.Status` of success (what deletes of most kinds answer).
pub fn success(group: &str, resource: &str, name: &str, uid: &str) -> Value {
    let mut d = details(name, group, resource, Vec::new());
    d["uid"] = json!(uid);
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": d,
    })
}
