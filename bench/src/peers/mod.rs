//! The Rust peers, served by `bench peer <name> --port P --metrics-port M`.

pub mod sse_hub;
pub mod trivial;

use anyhow::{Context, bail};
use tokio::net::TcpListener;

/// The arguments after `bench peer`.
pub async fn serve(args: &[String]) -> anyhow::Result<()> {
    let value = |flag: &str| -> anyhow::Result<&str> {
        args.iter()
            .position(|arg| arg == flag)
            .and_then(|i| args.get(i + 1))
            .map(String::as_str)
            .with_context(|| format!("{flag} is required"))
    };
    let port: u16 = value("--port")?.parse().context("--port")?;
    let metrics_port: u16 = value("--metrics-port")?.parse().context("--metrics-port")?;
    let api = TcpListener::bind(("127.0.0.1", port)).await?;
    match args.first().map(String::as_str) {
        Some("sse-hub") => Ok(sse_hub::serve(api).await?),
        Some("trivial") => {
            let metrics = match value("--metrics")? {
                "on" => true,
                "off" => false,
                other => bail!("--metrics must be on or off, not {other}"),
            };
            let metrics_listener = TcpListener::bind(("127.0.0.1", metrics_port)).await?;
            trivial::serve(api, metrics_listener, metrics).await
        }
        other => bail!("unknown peer {other:?}: sse-hub or trivial"),
    }
}
