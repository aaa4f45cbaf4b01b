//! `fleet-manager ctl`: the admin client of a running manager.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use serde_json::{Value, json};

/// Arguments of `fleet-manager ctl`.
#[derive(Debug, Args)]
pub struct CtlArgs {
    /// URL of the manager.
    #[arg(long, default_value = "http://127.0.0.1:8443")]
    pub server: String,
    /// File holding the admin token (default: `DIR/admin-token` of `--data`).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// The manager's data directory (to find the admin token and, for `https://`, the CA).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// PEM CA certificate to trust for an `https://` server (default: `DIR/ca.crt` of
    /// `--data` when it exists, else the built-in web roots).
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: CtlCommand,
}

/// `ctl` subcommands.
#[derive(Debug, Subcommand)]
pub enum CtlCommand {
    /// Apply Fleet objects from a (multi-document) YAML file.
    Apply {
        /// The file.
        #[arg(short = 'f', long = "filename")]
        file: PathBuf,
    },
    /// List or show objects.
    Get {
        /// gitrepos, bundles, bundledeployments, clusters or clustergroups.
        kind: String,
        /// One object's name.
        name: Option<String>,
        /// Namespace.
        #[arg(short = 'n', long, default_value = "fleet-local")]
        namespace: String,
        /// All namespaces.
        #[arg(short = 'A', long)]
        all_namespaces: bool,
        /// Output format: table, yaml or json.
        #[arg(short = 'o', long, default_value = "table")]
        output: String,
    },
    /// Delete an object.
    Delete {
        /// Kind.
        kind: String,
        /// Name.
        name: String,
        /// Namespace.
        #[arg(short = 'n', long, default_value = "fleet-local")]
        namespace: String,
    },
    /// Registration tokens.
    Token {
        /// What to do with tokens.
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Cluster operations.
    Cluster {
        /// What to do with a cluster.
        #[command(subcommand)]
        command: ClusterCommand,
    },
}

/// `ctl token` subcommands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a registration token; prints it.
    Create {
        /// Lifetime, e.g. `90s`, `30m`, `1h`, `2d`.
        #[arg(long, default_value = "1h")]
        ttl: String,
        /// Namespace clusters registered with it are created in.
        #[arg(short = 'n', long, default_value = "fleet-default")]
        namespace: String,
    },
}

/// `ctl cluster` subcommands.
#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Revoke every credential of a cluster.
    Revoke {
        /// Cluster name.
        name: String,
        /// Namespace.
        #[arg(short = 'n', long, default_value = "fleet-default")]
        namespace: String,
    },
}

/// Parses `90s`, `30m`, `1h`, `2d` (or bare seconds).
fn ttl_seconds(s: &str) -> Result<u64> {
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num
        .parse()
        .with_context(|| format!("--ttl {s:?}: expected a number and s, m, h or d"))?;
    let mul = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => bail!("--ttl {s:?}: unknown unit {unit:?} (s, m, h or d)"),
    };
    Ok(n.saturating_mul(mul))
}

struct Client {
    agent: ureq::Agent,
    base: String,
    token: String,
}

impl Client {
    fn call(&self, method: &str, path: &str, body: Option<String>) -> Result<Value> {
        let url = format!("{}{path}", self.base.trim_end_matches('/'));
        let auth = format!("Bearer {}", self.token);
        let resp = match (method, body) {
            ("GET", _) => self.agent.get(&url).header("Authorization", &auth).call(),
            ("DELETE", _) => self
                .agent
                .delete(&url)
                .header("Authorization", &auth)
                .call(),
            (_, b) => self
                .agent
                .post(&url)
                .header("Authorization", &auth)
                .send(b.unwrap_or_default()),
        };
        let mut resp = resp.with_context(|| format!("{method} {url}"))?;
        let status = resp.status();
        let text = resp
            .body_mut()
            .read_to_string()
            .with_context(|| format!("{method} {url}: cannot read the response"))?;
        if !status.is_success() {
            let msg = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v["error"].as_str().map(str::to_owned))
                .unwrap_or(text);
            bail!("{method} {path}: {status}: {msg}");
        }
        if text.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).with_context(|| format!("{method} {path}: invalid JSON"))
    }
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One table column: its value for an object.
type Column = fn(&Value) -> String;

/// kubectl-like table with Fleet's state columns per kind (`kind` as stored: `bundle`,
/// `gitrepo`, ...).
pub fn table(kind: &str, items: &[Value]) -> String {
    let cols: Vec<(&str, Column)> = match kind {
        "bundle" => vec![
            ("BUNDLEDEPLOYMENTS-READY", |o| {
                cell(&o["status"]["display"]["readyClusters"])
            }),
            ("STATUS", |o| cell(&o["status"]["conditions"][0]["status"])),
        ],
        "bundledeployment" => vec![
            ("DEPLOYED", |o| cell(&o["status"]["appliedDeploymentID"])),
            ("STATE", |o| {
                crate::manager::reconcile::deployment_state(o).to_owned()
            }),
        ],
        "cluster" => vec![
            ("BUNDLES-READY", |o| {
                cell(&o["status"]["display"]["readyBundles"])
            }),
            ("STATE", |o| cell(&o["status"]["display"]["state"])),
            ("CLIENT-ID", |o| cell(&o["spec"]["clientID"])),
        ],
        "clustergroup" => vec![
            ("CLUSTERS-READY", |o| {
                cell(&o["status"]["display"]["readyClusters"])
            }),
            ("BUNDLES-READY", |o| {
                cell(&o["status"]["display"]["readyBundles"])
            }),
            ("STATE", |o| cell(&o["status"]["display"]["state"])),
        ],
        "gitrepo" => vec![
            ("REPO", |o| cell(&o["spec"]["repo"])),
            ("COMMIT", |o| {
                cell(&o["status"]["commit"]).chars().take(12).collect()
            }),
            ("BUNDLEDEPLOYMENTS-READY", |o| {
                cell(&o["status"]["display"]["readyBundleDeployments"])
            }),
            ("STATE", |o| cell(&o["status"]["display"]["state"])),
        ],
        _ => vec![],
    };
    let mut rows = vec![{
        let mut h = vec!["NAMESPACE".to_owned(), "NAME".to_owned()];
        h.extend(cols.iter().map(|c| c.0.to_owned()));
        h
    }];
    for o in items {
        let mut r = vec![
            cell(&o["metadata"]["namespace"]),
            cell(&o["metadata"]["name"]),
        ];
        r.extend(cols.iter().map(|c| (c.1)(o)));
        rows.push(r);
    }
    let n = rows[0].len();
    let widths: Vec<usize> = (0..n)
        .map(|i| rows.iter().map(|r| r[i].len()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in rows {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(line.join("   ").trim_end());
        out.push('\n');
    }
    out
}

/// The HTTP client: trusts `--ca-file`, else the data directory's CA, else the web roots.
fn http_agent(args: &CtlArgs) -> Result<ureq::Agent> {
    let ca_file = args.ca_file.clone().or_else(|| {
        args.data
            .as_ref()
            .map(|d| d.join("ca.crt"))
            .filter(|p| p.exists())
    });
    let mut config = ureq::Agent::config_builder().http_status_as_error(false);
    if let Some(path) = ca_file {
        let pem =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let certs: Vec<ureq::tls::Certificate<'static>> = ureq::tls::parse_pem(&pem)
            .filter_map(|item| match item {
                Ok(ureq::tls::PemItem::Certificate(c)) => Some(Ok(c)),
                Ok(_) => None,
                Err(e) => Some(Err(e)),
            })
            .collect::<Result<_, _>>()
            .with_context(|| format!("{}: invalid PEM", path.display()))?;
        if certs.is_empty() {
            bail!("{}: no certificate in the file", path.display());
        }
        config = config.tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::Specific(std::sync::Arc::new(certs)))
                .build(),
        );
    }
    Ok(config.build().new_agent())
}

/// Runs a `ctl` command and returns its output.
pub fn run(args: &CtlArgs) -> Result<String> {
    let token_file = match (&args.token_file, &args.data) {
        (Some(f), _) => f.clone(),
        (None, Some(d)) => d.join("admin-token"),
        (None, None) => bail!("ctl needs --token-file FILE or --data DIR"),
    };
    let token = std::fs::read_to_string(&token_file)
        .with_context(|| format!("cannot read {}", token_file.display()))?
        .trim()
        .to_owned();
    let client = Client {
        agent: http_agent(args)?,
        base: args.server.clone(),
        token,
    };
    match &args.command {
        CtlCommand::Apply { file } => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let r = client.call("POST", "/v1/admin/apply", Some(text))?;
            Ok(r["applied"]
                .as_array()
                .map(|a| a.iter().map(|s| format!("{} applied\n", cell(s))).collect())
                .unwrap_or_default())
        }
        CtlCommand::Get {
            kind,
            name,
            namespace,
            all_namespaces,
            output,
        } => {
            let Some(k) = crate::manager::server::kind_of(kind) else {
                bail!(
                    "unknown kind {kind:?}; expected gitrepos, bundles, bundledeployments, clusters or clustergroups"
                );
            };
            let items = match name {
                Some(n) => vec![client.call(
                    "GET",
                    &format!("/v1/admin/objects/{k}/{namespace}/{n}"),
                    None,
                )?],
                None => {
                    let q = if *all_namespaces {
                        String::new()
                    } else {
                        format!("?namespace={namespace}")
                    };
                    let r = client.call("GET", &format!("/v1/admin/objects/{k}{q}"), None)?;
                    r["items"].as_array().cloned().unwrap_or_default()
                }
            };
            match output.as_str() {
                "table" => Ok(table(k, &items)),
                "json" => {
                    let v = if name.is_some() {
                        items[0].clone()
                    } else {
                        json!({"items": items})
                    };
                    Ok(serde_json::to_string_pretty(&v)? + "\n")
                }
                "yaml" => Ok(fleet_core::yaml::to_string_multi(&items)?),
                other => bail!("-o {other:?}: expected table, yaml or json"),
            }
        }
        CtlCommand::Delete {
            kind,
            name,
            namespace,
        } => {
            let Some(k) = crate::manager::server::kind_of(kind) else {
                bail!("unknown kind {kind:?}");
            };
            client.call(
                "DELETE",
                &format!("/v1/admin/objects/{k}/{namespace}/{name}"),
                None,
            )?;
            Ok(format!("{k} {namespace}/{name} deleted\n"))
        }
        CtlCommand::Token {
            command: TokenCommand::Create { ttl, namespace },
        } => {
            let body = json!({"ttlSeconds": ttl_seconds(ttl)?, "namespace": namespace});
            let r = client.call("POST", "/v1/admin/tokens", Some(body.to_string()))?;
            Ok(format!("{}\n", cell(&r["token"])))
        }
        CtlCommand::Cluster {
            command: ClusterCommand::Revoke { name, namespace },
        } => {
            let r = client.call(
                "POST",
                &format!("/v1/admin/clusters/{namespace}/{name}/revoke"),
                None,
            )?;
            Ok(format!(
                "{} credential(s) of {namespace}/{name} revoked\n",
                cell(&r["revoked"])
            ))
        }
    }
}
