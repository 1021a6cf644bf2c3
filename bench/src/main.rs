//! `bench run <scenario…|all>`: measure and write `docs/benchmarks.md` (see `./scripts/bench`);
//! `bench render`: rewrite the document from `docs/benchmarks.json`;
//! `bench peer <sse-hub|trivial> …`: serve a peer (started by `bench run` itself).

use std::process::ExitCode;

use bench::config::RunConfig;
use bench::{peers, runner, scenarios};
use nix::sys::resource::{Resource, getrlimit, setrlimit};

const USAGE: &str = "usage: bench run <scenario…|all> | bench render | bench peer <sse-hub|trivial> …\n\
                     scenarios: send list sse-idle sse-fanout reconnect-storm ingest bot-index metrics";

/// Tens of thousands of SSE connections need as many descriptors: take the hard limit.
fn raise_open_files_limit() {
    if let Ok((_, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    }
}

async fn main_with(args: Vec<String>) -> anyhow::Result<()> {
    match args.first().map(String::as_str) {
        Some("peer") => peers::serve(&args[1..]).await,
        Some("run") => {
            raise_open_files_limit();
            let config = RunConfig::from_env()?;
            let names: Vec<String> = match &args[1..] {
                [] => anyhow::bail!("{USAGE}"),
                [all] if all == "all" => scenarios::ALL.iter().map(|s| (*s).to_owned()).collect(),
                names => names.to_vec(),
            };
            runner::run(&config, &names).await
        }
        Some("render") => {
            let config = RunConfig::from_env()?;
            runner::render(&config.results, &config.doc)
        }
        _ => anyhow::bail!("{USAGE}"),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match main_with(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("bench: {err:#}");
            ExitCode::FAILURE
        }
    }
}
