//! Starts a shared Postgres and a dedicated NATS, writes where they are to the file named by its
//! first argument, then aborts: no unwinding, no destructors, so only the watchdog can clean up.
//! Used by the cleanup test.

use std::process::ExitCode;

use test_support::{Nats, Postgres};

#[tokio::main]
async fn main() -> ExitCode {
    let Some(report) = std::env::args().nth(1) else {
        eprintln!("usage: aborting_owner REPORT_FILE");
        return ExitCode::from(2);
    };
    let postgres = Postgres::shared().await;
    let nats = Nats::dedicated().await;
    let lines = format!(
        "{}\n{}\n{}\n",
        test_support::run_dir().display(),
        postgres.port(),
        nats.port()
    );
    if let Err(err) = std::fs::write(&report, lines) {
        eprintln!("cannot write {report}: {err}");
        return ExitCode::FAILURE;
    }
    std::process::abort();
}
