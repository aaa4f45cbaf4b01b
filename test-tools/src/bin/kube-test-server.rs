//! `kube-test-server --listen 127.0.0.1:PORT --kubeconfig-out FILE`: serves the test API
//! server until killed, printing its URL once it accepts connections.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use fleet_test_tools::kube_server::{KubeServer, Options};

fn main() -> anyhow::Result<()> {
    let mut listen: SocketAddr = "127.0.0.1:0".parse()?;
    let mut kubeconfig: Option<PathBuf> = None;
    let mut options = Options::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => {
                let value = args.next().context("--listen needs an address")?;
                listen = value
                    .parse()
                    .with_context(|| format!("--listen {value:?} is not HOST:PORT"))?;
            }
            "--kubeconfig-out" => {
                kubeconfig = Some(args.next().context("--kubeconfig-out needs a file")?.into());
            }
            "--ready-workloads" => options.ready_workloads = true,
            "-h" | "--help" => {
                println!(
                    "usage: kube-test-server [--listen 127.0.0.1:PORT] [--kubeconfig-out FILE] [--ready-workloads]"
                );
                return Ok(());
            }
            other => bail!("unknown argument {other:?} (see --help)"),
        }
    }
    let server = KubeServer::bind(listen, options).with_context(|| format!("binding {listen}"))?;
    if let Some(path) = &kubeconfig {
        server
            .write_kubeconfig(path)
            .with_context(|| format!("writing the kubeconfig {}", path.display()))?;
    }
    println!("{}", server.url());
    loop {
        std::thread::park();
    }
}
