//! `fleet-manager serve`: the manager's API server over a store in `--data DIR`.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;

use crate::manager::server::{self, App};
use crate::manager::store::RedbStore;
use crate::manager::{sources, tls};

/// Arguments of `fleet-manager serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Directory of the manager's state (database, admin token); created when missing.
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8443")]
    pub listen: String,
    /// Serve plain HTTP (no TLS).
    #[arg(long)]
    pub plain_http: bool,
    /// Extra host name or IP address for the generated serving certificate (repeatable; used
    /// only when the certificate is first generated).
    #[arg(long = "tls-san", value_name = "NAME")]
    pub tls_san: Vec<String>,
    /// A cluster whose agent has been silent this long is offline (Go duration, e.g. `90s`).
    #[arg(long, value_name = "DURATION", default_value = "90s", value_parser = parse_duration)]
    pub offline_after: std::time::Duration,
}

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    crate::manager::gitops::parse_go_duration(s)
}

/// A secret kept in `DIR/NAME`, generated (mode 0600) on first start: the admin token, the
/// webhook secret.
fn secret_file(dir: &Path, name: &str) -> Result<String> {
    let path = dir.join(name);
    if path.exists() {
        let t = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        return Ok(t.trim().to_owned());
    }
    let token = server::secret().with_context(|| format!("cannot generate {name}"))?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    writeln!(f, "{token}").with_context(|| format!("cannot write {}", path.display()))?;
    f.sync_all()
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(token)
}

/// Runs the server until interrupted.
pub fn run(args: &ServeArgs) -> Result<String> {
    std::fs::create_dir_all(&args.data)
        .with_context(|| format!("cannot create {}", args.data.display()))?;
    let token = secret_file(&args.data, "admin-token")?;
    let webhook_secret = secret_file(&args.data, "webhook-secret")?;
    let tls = if args.plain_http {
        None
    } else {
        let files = tls::ensure(&args.data, &args.tls_san)?;
        Some(tls::server_config(&files)?)
    };
    let store = RedbStore::open(&args.data.join("fleet.redb"))
        .with_context(|| format!("cannot open the store in {}", args.data.display()))?;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    rt.block_on(async {
        let app = App::new(
            Box::new(store),
            &token,
            server::Options {
                webhook_secret: Some(webhook_secret),
                offline_after: args.offline_after,
            },
        );
        app.reconcile()
            .await
            .map_err(|e| anyhow::anyhow!("initial reconcile: {e:?}"))?;
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let addr = listener.local_addr().context("no local address")?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        println!("listening on {scheme}://{addr}");
        std::io::stdout().flush().ok();
        tracing::info!(%addr, scheme, "serving");
        tokio::spawn(sources::run_poller(app.clone()));
        tokio::spawn(app.clone().run_offline_monitor());
        let shutdown = async {
            tokio::signal::ctrl_c().await.ok();
        };
        match tls {
            Some(config) => tls::serve(listener, config, server::router(app), shutdown)
                .await
                .context("server failed"),
            None => axum::serve(listener, server::router(app))
                .with_graceful_shutdown(shutdown)
                .await
                .context("server failed"),
        }
    })?;
    Ok(String::new())
}
