use std::process::ExitCode;

use bot_server::{Application, Config};

#[tokio::main]
async fn main() -> ExitCode {
    service_kit::server::main::<Application>(Config::from_env()).await
}
