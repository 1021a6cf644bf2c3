use std::process::ExitCode;

use fechatter_server::{Application, Config};

// jemalloc: 21 % less CPU per send than glibc malloc in paired bench runs (docs/benchmarks.md,
// Profiles: the allocator of every service).
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> ExitCode {
    service_kit::server::main::<Application>(Config::from_env()).await
}
