use std::process::ExitCode;

use bot_server::{Application, Config};

// The same allocator as the other services (docs/benchmarks.md, Profiles: the allocator of every
// service).
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> ExitCode {
    service_kit::server::main::<Application>(Config::from_env()).await
}
