//! Sharing one server among all test processes of a nextest run (and test binary).

use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::process::{Instance, Launch, Running};
use crate::scope;

/// What a later test process of the run needs to reuse a shared server.
#[derive(Serialize, Deserialize)]
struct SharedState {
    pgid: i32,
    ports: Vec<u16>,
    dir: PathBuf,
}

impl<L: Launch> Instance<L> {
    /// Reuses the server an earlier test process of this run started, or starts it.
    pub(crate) async fn shared(config: &L::Config) -> Self {
        let scope = scope::run();
        let _lock = scope.lock(L::NAME).await;
        let state_file = scope.dir.join(format!("{}.json", L::NAME));
        if let Ok(text) = fs::read_to_string(&state_file) {
            let state: SharedState = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("corrupt {}: {e}", state_file.display()));
            let launch = L::new(state.dir.clone(), &state.ports, config);
            let instance = Self::assemble(scope, launch, state.dir, state.ports, false, None);
            let answering = tokio::time::timeout(Duration::from_secs(5), instance.launch.ready());
            if !matches!(answering.await, Ok(true)) {
                panic!(
                    "the shared {} of this run (pid {}) no longer answers\n{}",
                    L::NAME,
                    state.pgid,
                    instance.log_tail()
                );
            }
            *instance.lock() = Some(Running {
                pgid: state.pgid,
                child: None,
            });
            return instance;
        }
        let instance = Self::boot(
            scope,
            scope.dir.join(format!("{}-shared", L::NAME)),
            false,
            config,
        )
        .await;
        let state = SharedState {
            pgid: instance.lock().as_ref().map_or(0, |r| r.pgid),
            ports: instance.ports.clone(),
            dir: instance.dir.clone(),
        };
        // Written whole then renamed, so a reader never sees half a file.
        let tmp = state_file.with_extension("json.tmp");
        let json = serde_json::to_string(&state).unwrap_or_else(|e| panic!("{e}"));
        fs::write(&tmp, json)
            .and_then(|()| fs::rename(&tmp, &state_file))
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", state_file.display()));
        instance
    }
}
