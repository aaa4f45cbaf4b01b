//! The `kube-test-server` binary: prints its URL when ready and writes a usable kubeconfig.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, ensure};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};

#[tokio::test]
async fn binary_serves_with_its_kubeconfig() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let kubeconfig = dir.path().join("kubeconfig");
    let mut child = Command::new(env!("CARGO_BIN_EXE_kube-test-server"))
        .args(["--listen", "127.0.0.1:0", "--kubeconfig-out"])
        .arg(&kubeconfig)
        .stdout(Stdio::piped())
        .spawn()?;
    let result = async {
        let stdout = child.stdout.take().context("stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let url = line.trim().to_string();
        ensure!(
            url.starts_with("http://127.0.0.1:") && !url.ends_with(":0"),
            "printed {url:?}"
        );
        let text = std::fs::read_to_string(&kubeconfig)?;
        ensure!(text.contains(&format!("server: {url}")), "{text}");
        let config = kube::Config::from_custom_kubeconfig(
            Kubeconfig::read_from(&kubeconfig)?,
            &KubeConfigOptions::default(),
        )
        .await?;
        let client = kube::Client::try_from(config)?;
        let namespaces: Api<Namespace> = Api::all(client);
        let names: Vec<String> = namespaces
            .list(&ListParams::default())
            .await?
            .items
            .into_iter()
            .filter_map(|n| n.metadata.name)
            .collect();
        ensure!(
            names == ["default", "kube-node-lease", "kube-public", "kube-system"],
            "{names:?}"
        );
        Ok(())
    }
    .await;
    let _ = child.kill();
    let _ = child.wait();
    result
}

#[test]
fn binary_rejects_a_bad_listen_address() -> Result<()> {
    let out = Command::new(env!("CARGO_BIN_EXE_kube-test-server"))
        .args(["--listen", "nowhere"])
        .output()?;
    ensure!(!out.status.success());
    let err = String::from_utf8(out.stderr)?;
    ensure!(
        err.contains("--listen \"nowhere\" is not HOST:PORT"),
        "{err}"
    );
    Ok(())
}
