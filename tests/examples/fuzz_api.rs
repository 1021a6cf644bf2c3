//! Fuzzes fechatter_server's HTTP API from its own OpenAPI document with schemathesis.
//!
//! Starts Postgres and NATS (`test_support`, deleted on exit) and the service in this process,
//! signs up a user and gives it a chat, a message and a file (so generated ids sometimes exist),
//! then runs schemathesis with a fixed seed and a bounded number of examples per operation, with
//! the user's access token. Every check must pass: no 5xx, every status, content type, header
//! and body as the document says. The service's warnings and errors are logged to stderr.
//!
//! `cargo run -p e2e --example fuzz_api -- PATH_TO_SCHEMATHESIS [EXTRA SCHEMATHESIS ARGUMENTS]`
//! (`scripts/fuzz-api` installs schemathesis and runs this).

use std::process::ExitCode;
use std::time::Duration;

use env_config::Env;
use fechatter_server::{Application, Config};
use serde_json::{Value, json};
use service_kit::telemetry::LogFormat;
use test_support::{Nats, Postgres, unique_name, wait_until};
use tokio_util::sync::CancellationToken;

/// Examples per operation: enough to find the edges, bounded to a few minutes on 2 cores.
const MAX_EXAMPLES: &str = "100";
const SEED: &str = "20250101";

fn config(database_url: &str, nats_url: &str, files_dir: &str) -> Result<Config, String> {
    let bus = fechatter_events::EventBus::isolated(&unique_name("fuzz"));
    // A throw-away key pair: the fuzzer signs nothing, it uses the token sign-up returns.
    let (private_key, _) = fechatter_auth::generate_key_pair().map_err(|err| err.to_string())?;
    let vars: Vec<(String, String)> = [
        ("HOST", "127.0.0.1"),
        ("PORT", "0"),
        ("METRICS_PORT", "0"),
        ("DATABASE_URL", database_url),
        ("NATS_URL", nats_url),
        ("NATS_STREAM", &bus.stream),
        ("NATS_SUBJECT_PREFIX", &bus.subject_prefix),
        ("JWT_PRIVATE_KEY", &private_key),
        ("FILES_DIR", files_dir),
        ("ARGON2_MEMORY_KIB", "64"),
        ("ARGON2_ITERATIONS", "1"),
        // The limits are not what is fuzzed: generous buckets let every operation be reached.
        ("RATE_LIMIT_AUTH_PER_MINUTE", "1000000"),
        ("RATE_LIMIT_SEND_PER_MINUTE", "1000000"),
        ("RATE_LIMIT_UPLOAD_PER_MINUTE", "1000000"),
        ("RATE_LIMIT_SEARCH_PER_MINUTE", "1000000"),
        ("RATE_LIMIT_REACT_PER_MINUTE", "1000000"),
        ("RATE_LIMIT_EDIT_PER_MINUTE", "1000000"),
        ("RATE_LIMIT_DELETE_PER_MINUTE", "1000000"),
        ("RATE_LIMIT_CREATE_CHAT_PER_MINUTE", "1000000"),
        ("RATE_LIMIT_MEMBERS_PER_MINUTE", "1000000"),
        ("RATE_LIMIT_INVITE_PER_MINUTE", "1000000"),
    ]
    .into_iter()
    .map(|(key, value)| (format!("FECHATTER_{key}"), value.to_owned()))
    .collect();
    Config::from(&Env::from_map("FECHATTER", vars)).map_err(|err| err.to_string())
}

async fn post(
    client: &reqwest::Client,
    url: String,
    token: &str,
    body: Value,
) -> Result<Value, String> {
    let response = client
        .post(&url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .map_err(|err| format!("{url}: {err}"))?;
    let status = response.status();
    let body: Value = response
        .json()
        .await
        .map_err(|err| format!("{url}: {err}"))?;
    if !status.is_success() {
        return Err(format!("{url}: {status} {body}"));
    }
    Ok(body)
}

/// A user with a chat, a message and a file; the user's access token.
async fn seed(base: &str) -> Result<String, String> {
    let client = reqwest::Client::new();
    let signed_up = post(
        &client,
        format!("{base}/api/signup"),
        "",
        json!({"fullname": "Fuzz", "email": "fuzz@example.com", "password": "correct horse battery",
               "workspace": "Fuzzing", "handle": "fuzz"}),
    )
    .await?;
    let token = signed_up["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let chat = post(
        &client,
        format!("{base}/api/chats"),
        &token,
        json!({"chat_type": "group", "name": "fuzz"}),
    )
    .await?;
    let boundary = "fuzz-boundary";
    let upload = client
        .post(format!("{base}/api/files"))
        .bearer_auth(&token)
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nhello\r\n--{boundary}--\r\n"
        ))
        .send()
        .await
        .map_err(|err| format!("upload: {err}"))?;
    let file: Value = upload
        .json()
        .await
        .map_err(|err| format!("upload: {err}"))?;
    post(
        &client,
        format!("{base}/api/chats/{}/messages", chat["id"]),
        &token,
        json!({"content": "hello", "files": [file["id"]]}),
    )
    .await?;
    Ok(token)
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(schemathesis) = args.next() else {
        eprintln!("usage: fuzz_api PATH_TO_SCHEMATHESIS [SCHEMATHESIS ARGUMENTS]");
        return ExitCode::from(2);
    };
    let extra: Vec<String> = args.collect();
    service_kit::telemetry::init(LogFormat::Pretty, "warn");

    let (postgres, nats) = tokio::join!(Postgres::dedicated(), Nats::dedicated());
    let database = postgres.create_database().await;
    let files = match tempfile::tempdir() {
        Ok(files) => files,
        Err(err) => {
            eprintln!("fuzz_api: a files directory: {err}");
            return ExitCode::FAILURE;
        }
    };
    let config = match config(
        &database.url,
        &nats.url(),
        &files.path().display().to_string(),
    ) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("fuzz_api: configuration: {err}");
            return ExitCode::FAILURE;
        }
    };
    let app = match Application::build(config).await {
        Ok(app) => app,
        Err(err) => {
            eprintln!("fuzz_api: starting fechatter_server: {err}");
            return ExitCode::FAILURE;
        }
    };
    let base = format!("http://{}", app.api_addr());
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(app.run(shutdown.clone()));
    wait_until(
        "fechatter_server to be ready",
        Duration::from_secs(60),
        || async {
            reqwest::get(format!("{base}/ready"))
                .await
                .is_ok_and(|response| response.status() == 200)
        },
    )
    .await;
    let token = match seed(&base).await {
        Ok(token) => token,
        Err(err) => {
            eprintln!("fuzz_api: seeding: {err}");
            return ExitCode::FAILURE;
        }
    };

    let workdir = files.path().join("schemathesis");
    if let Err(err) = std::fs::create_dir_all(&workdir) {
        eprintln!("fuzz_api: a working directory for schemathesis: {err}");
        return ExitCode::FAILURE;
    }
    let status = tokio::process::Command::new(&schemathesis)
        // Schemathesis keeps caches in its working directory: not in the repository.
        .current_dir(&workdir)
        .arg("run")
        .arg(format!("{base}/api/openapi.json"))
        .args(["--checks", "all"])
        // Schema-valid input may still break a domain rule (a user that exists, a message that is
        // not blank, a file of an accepted type): those 422s are the API working.
        .args(["--exclude-checks", "positive_data_acceptance"])
        .args(["--max-examples", MAX_EXAMPLES, "--seed", SEED])
        .args(["--generation-database", "none", "--no-color"])
        // One worker: hypothesis describing strategies from several threads trips a CPython 3.11
        // bug ("AST constructor recursion depth mismatch") that fails the run from the tool's side.
        .args(["--workers", "1", "--request-timeout", "10"])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        // Signing out would revoke the token every other operation is fuzzed with.
        .args(["--exclude-path", "/api/signout"])
        .args(&extra)
        .status()
        .await;
    shutdown.cancel();
    let _ = server.await;
    match status {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("fuzz_api: schemathesis found problems ({status})");
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("fuzz_api: running {schemathesis}: {err}");
            ExitCode::FAILURE
        }
    }
}
