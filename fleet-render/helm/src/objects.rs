//! The host objects Helm hands to templates: `.Capabilities` (with `KubeVersion`,
//! `APIVersions.Has` and `HelmVersion`) and `.Files` (`Get`, `GetBytes`, `Glob`, `Lines`,
//! `AsConfig`, `AsSecrets`).

use std::collections::BTreeMap;
use std::rc::Rc;

use fleet_gotemplate::{GoValue, Object};

/// The group/versions Helm reports without a cluster: those registered in client-go's scheme
/// plus apiextensions (Helm's `DefaultVersionSet`). No `group/version/kind` entries.
pub const DEFAULT_API_VERSIONS: &[&str] = &[
    "v1",
    "admissionregistration.k8s.io/v1",
    "admissionregistration.k8s.io/v1alpha1",
    "admissionregistration.k8s.io/v1beta1",
    "internal.apiserver.k8s.io/v1alpha1",
    "apps/v1",
    "apps/v1beta1",
    "apps/v1beta2",
    "authentication.k8s.io/v1",
    "authentication.k8s.io/v1alpha1",
    "authentication.k8s.io/v1beta1",
    "authorization.k8s.io/v1",
    "authorization.k8s.io/v1beta1",
    "autoscaling/v1",
    "autoscaling/v2",
    "autoscaling/v2beta1",
    "autoscaling/v2beta2",
    "batch/v1",
    "batch/v1beta1",
    "certificates.k8s.io/v1",
    "certificates.k8s.io/v1alpha1",
    "certificates.k8s.io/v1beta1",
    "coordination.k8s.io/v1",
    "coordination.k8s.io/v1alpha2",
    "coordination.k8s.io/v1beta1",
    "discovery.k8s.io/v1",
    "discovery.k8s.io/v1beta1",
    "events.k8s.io/v1",
    "events.k8s.io/v1beta1",
    "extensions/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1",
    "flowcontrol.apiserver.k8s.io/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1beta2",
    "flowcontrol.apiserver.k8s.io/v1beta3",
    "networking.k8s.io/v1",
    "networking.k8s.io/v1alpha1",
    "networking.k8s.io/v1beta1",
    "node.k8s.io/v1",
    "node.k8s.io/v1alpha1",
    "node.k8s.io/v1beta1",
    "policy/v1",
    "policy/v1beta1",
    "rbac.authorization.k8s.io/v1",
    "rbac.authorization.k8s.io/v1alpha1",
    "rbac.authorization.k8s.io/v1beta1",
    "resource.k8s.io/v1",
    "resource.k8s.io/v1alpha3",
    "resource.k8s.io/v1beta1",
    "resource.k8s.io/v1beta2",
    "scheduling.k8s.io/v1",
    "scheduling.k8s.io/v1alpha1",
    "scheduling.k8s.io/v1beta1",
    "storage.k8s.io/v1",
    "storage.k8s.io/v1alpha1",
    "storage.k8s.io/v1beta1",
    "storagemigration.k8s.io/v1alpha1",
    "apiextensions.k8s.io/v1",
    "apiextensions.k8s.io/v1beta1",
];

/// `.Capabilities.KubeVersion`.
#[derive(Debug)]
pub struct KubeVersion {
    version: String,
    major: String,
    minor: String,
}

impl KubeVersion {
    /// Parses `v1.31.0` (the `v` is optional).
    pub fn parse(text: &str) -> KubeVersion {
        let bare = text.trim().trim_start_matches('v');
        let mut parts = bare.split(['.', '-', '+']);
        let major = parts.next().unwrap_or("0").to_string();
        let minor = parts.next().unwrap_or("0").to_string();
        KubeVersion {
            version: format!("v{bare}"),
            major,
            minor,
        }
    }
}

impl Object for KubeVersion {
    fn type_name(&self) -> String {
        "common.KubeVersion".into()
    }
    fn member(&self, name: &str, _args: &[GoValue]) -> Option<Result<GoValue, String>> {
        Some(Ok(GoValue::str(match name {
            "Version" | "GitVersion" | "String" => &self.version,
            "Major" => &self.major,
            "Minor" => &self.minor,
            _ => return None,
        })))
    }
    fn print(&self) -> String {
        self.version.clone()
    }
    fn to_data(&self) -> GoValue {
        let mut m = BTreeMap::new();
        m.insert("version".to_string(), GoValue::str(&self.version));
        m.insert("major".to_string(), GoValue::str(&self.major));
        m.insert("minor".to_string(), GoValue::str(&self.minor));
        GoValue::map(m)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// `.Capabilities.APIVersions`: a `[]string` with a `Has` method.
#[derive(Debug)]
pub struct ApiVersions(pub Vec<String>);

impl Object for ApiVersions {
    fn type_name(&self) -> String {
        "common.VersionSet".into()
    }
    fn member(&self, name: &str, args: &[GoValue]) -> Option<Result<GoValue, String>> {
        match name {
            "Has" => Some(match args {
                [GoValue::Str(v)] => Ok(GoValue::Bool(self.0.iter().any(|x| **x == **v))),
                [other] => Err(format!(
                    "wrong type for value; expected string; got {}",
                    other.type_name()
                )),
                _ => Err(format!(
                    "wrong number of args for Has: want 1 got {}",
                    args.len()
                )),
            }),
            _ => None,
        }
    }
    fn print(&self) -> String {
        format!("[{}]", self.0.join(" "))
    }
    fn truthy(&self) -> bool {
        !self.0.is_empty()
    }
    fn to_data(&self) -> GoValue {
        GoValue::string_list(self.0.clone())
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// `.Capabilities` for a kube version and extra API versions.
pub fn capabilities(kube_version: &str, extra_api_versions: &[String]) -> GoValue {
    let mut versions: Vec<String> = DEFAULT_API_VERSIONS.iter().map(|s| s.to_string()).collect();
    versions.extend(extra_api_versions.iter().cloned());
    let mut helm = BTreeMap::new();
    helm.insert("Version".to_string(), GoValue::str("v4.2"));
    helm.insert("GitCommit".to_string(), GoValue::str(""));
    helm.insert("GitTreeState".to_string(), GoValue::str(""));
    helm.insert("GoVersion".to_string(), GoValue::str("go1.25"));
    let mut caps = BTreeMap::new();
    caps.insert(
        "KubeVersion".to_string(),
        GoValue::Object(Rc::new(KubeVersion::parse(kube_version))),
    );
    caps.insert(
        "APIVersions".to_string(),
        GoValue::Object(Rc::new(ApiVersions(versions))),
    );
    caps.insert("HelmVersion".to_string(), GoValue::map(helm));
    GoValue::map(caps)
}

/// `.Files`: the chart's non-template files by path.
#[derive(Debug, Clone, Default)]
pub struct Files(pub BTreeMap<String, Vec<u8>>);

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn base_name(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    trimmed.rsplit('/').next().unwrap_or(trimmed).to_string()
}

/// A gobwas/glob pattern with `/` as separator: `*` and `?` stay within a segment, `**`
/// crosses segments, `[...]`/`[!...]` classes and `{a,b}` alternatives.
pub fn glob_regex(pattern: &str) -> Result<regex::Regex, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut re = String::from("^");
    let mut i = 0;
    let mut braces = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '*' if chars.get(i + 1) == Some(&'*') => {
                re.push_str(".*");
                i += 1;
            }
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            '[' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|&x| x == ']')
                    .ok_or_else(|| format!("unexpected end of input in pattern {pattern:?}"))?;
                let body: String = chars[i + 1..i + 1 + end].iter().collect();
                let body = match body.strip_prefix('!') {
                    Some(rest) => format!("^{rest}"),
                    None => body,
                };
                re.push('[');
                re.push_str(&body.replace('\\', "\\\\"));
                re.push(']');
                i += end + 1;
            }
            '{' => {
                braces += 1;
                re.push_str("(?:");
            }
            '}' if braces > 0 => {
                braces -= 1;
                re.push(')');
            }
            ',' if braces > 0 => re.push('|'),
            '\\' if i + 1 < chars.len() => {
                re.push_str(&regex::escape(&chars[i + 1].to_string()));
                i += 1;
            }
            other => re.push_str(&regex::escape(&other.to_string())),
        }
        i += 1;
    }
    re.push('$');
    regex::Regex::new(&re).map_err(|e| e.to_string())
}

impl Files {
    fn get(&self, name: &str) -> String {
        self.0.get(name).map(|b| text(b)).unwrap_or_default()
    }

    fn glob(&self, pattern: &str) -> Result<Files, String> {
        let re = glob_regex(pattern)?;
        Ok(Files(
            self.0
                .iter()
                .filter(|(k, _)| re.is_match(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ))
    }

    fn as_map(&self, encode: fn(&[u8]) -> String) -> String {
        if self.0.is_empty() {
            return String::new();
        }
        let m: BTreeMap<String, GoValue> = self
            .0
            .iter()
            .map(|(k, v)| (base_name(k), GoValue::from(encode(v))))
            .collect();
        let yaml = crate::yaml_out::to_yaml(&GoValue::map(m));
        yaml.strip_suffix('\n').unwrap_or(&yaml).to_string()
    }
}

fn one_string(name: &str, args: &[GoValue]) -> Result<String, String> {
    match args {
        [GoValue::Str(s)] => Ok(s.to_string()),
        [other] => Err(format!(
            "wrong type for value; expected string; got {}",
            other.type_name()
        )),
        _ => Err(format!(
            "wrong number of args for {name}: want 1 got {}",
            args.len()
        )),
    }
}

impl Object for Files {
    fn type_name(&self) -> String {
        "files.Files".into()
    }
    fn member(&self, name: &str, args: &[GoValue]) -> Option<Result<GoValue, String>> {
        let result = match name {
            "Get" | "GetBytes" => one_string(name, args).map(|p| GoValue::from(self.get(&p))),
            "Glob" => one_string(name, args)
                .and_then(|p| self.glob(&p))
                .map(|f| GoValue::Object(Rc::new(f))),
            "Lines" => one_string(name, args).map(|p| {
                let Some(bytes) = self.0.get(&p) else {
                    return GoValue::string_list(Vec::new());
                };
                let s = text(bytes);
                let s = s.strip_suffix('\n').unwrap_or(&s);
                GoValue::string_list(s.split('\n').map(String::from).collect())
            }),
            "AsConfig" => Ok(GoValue::from(self.as_map(text))),
            "AsSecrets" => Ok(GoValue::from(self.as_map(base64))),
            _ => {
                // A file name used as a map key (`index .Files "x"` style access).
                return self.0.get(name).map(|b| Ok(GoValue::from(text(b))));
            }
        };
        Some(result)
    }
    fn print(&self) -> String {
        format!(
            "map[{}]",
            self.0
                .iter()
                .map(|(k, v)| format!(
                    "{k}:[{}]",
                    v.iter().map(u8::to_string).collect::<Vec<_>>().join(" ")
                ))
                .collect::<Vec<_>>()
                .join(" ")
        )
    }
    fn truthy(&self) -> bool {
        !self.0.is_empty()
    }
    fn to_data(&self) -> GoValue {
        GoValue::map(
            self.0
                .iter()
                .map(|(k, v)| (k.clone(), GoValue::from(base64(v))))
                .collect(),
        )
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// Standard base64 with padding, as Go's `base64.StdEncoding` (`.Files.AsSecrets`).
fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> Files {
        Files(
            [
                ("dashboards/a.json", "{}"),
                ("dashboards/sub/b.json", "[]"),
                ("config/x.ini", "k=v\n"),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect(),
        )
    }

    #[test]
    fn glob_segments_and_double_star() {
        let f = files();
        let one = f.glob("dashboards/*.json").map(|g| g.0.len());
        assert_eq!(one, Ok(1));
        let all = f.glob("dashboards/**.json").map(|g| g.0.len());
        assert_eq!(all, Ok(2));
        let alt = f.glob("{config,dashboards}/*").map(|g| g.0.len());
        assert_eq!(alt, Ok(2));
    }

    #[test]
    fn as_config_and_lines() {
        let f = files();
        let cfg = f.glob("config/*").map(|g| g.as_map(text));
        assert_eq!(cfg.as_deref(), Ok("x.ini: |\n  k=v"));
        let lines = f.member("Lines", &[GoValue::str("config/x.ini")]);
        assert_eq!(
            lines.and_then(Result::ok).map(|v| v.sprint()).as_deref(),
            Some("[k=v]")
        );
        let caps = capabilities("v1.31.0", &[]);
        assert!(caps.sprint().contains("v1.31.0"));
    }
}
