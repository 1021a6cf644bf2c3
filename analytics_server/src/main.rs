use std::process::ExitCode;

use analytics_server::{Application, Config};

// jemalloc: glibc malloc's free lists were 40 % of an ingest profile; 26 % less CPU per ingested
// event in paired bench runs (docs/benchmarks.md, Profiles: the allocator of every service).
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> ExitCode {
    service_kit::server::main::<Application>(Config::from_env()).await
}
