use std::process::ExitCode;

use notify_server::{Application, Config};
use observability::server::shutdown_on_signal;

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("notify_server: configuration error: {err}");
            return ExitCode::from(2);
        }
    };
    observability::telemetry::init(config.log_format, &config.log_filter);
    let result = match Application::build(config).await {
        Ok(app) => app.run(shutdown_on_signal()).await,
        Err(err) => Err(err),
    };
    if let Err(err) = result {
        tracing::error!(error = %err, "notify_server stopped with an error");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
