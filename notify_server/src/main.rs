use std::process::ExitCode;

use notify_server::{Application, Config};

// Most of an idle SSE connection is hyper's buffers, mostly never written: jemalloc leaves those
// pages unresident (0.55 x the bare hub's RSS per connection, glibc malloc 0.85 x) at no extra CPU
// per fan-out delivery (docs/benchmarks.md, Profiles: another allocator).
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> ExitCode {
    service_kit::server::main::<Application>(Config::from_env()).await
}
