//! Continuous sending, as people keep chatting while something fails.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api::{Api, User};

/// What one sender did.
#[derive(Debug, Default)]
pub struct Sent {
    /// Ids of the messages stored (201), in the order they were sent.
    pub ids: Vec<i64>,
    /// Sends that did not end in a 201: status (0 when no answer came) and body.
    pub failures: Vec<(u16, String)>,
}

/// One person sending a message into one chat every `every`, until stopped.
pub struct Sender {
    stop: watch::Sender<bool>,
    task: JoinHandle<Sent>,
    stored: Arc<AtomicUsize>,
}

impl Sender {
    pub fn start(api: Api, user: User, chat: i64, every: Duration) -> Sender {
        let (stop, mut stopped) = watch::channel(false);
        let stored = Arc::new(AtomicUsize::new(0));
        let counter = stored.clone();
        let task = tokio::spawn(async move {
            let mut sent = Sent::default();
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = stopped.changed() => return sent,
                    _ = tick.tick() => {}
                }
                let n = sent.ids.len() + sent.failures.len();
                let content = json!({"content": format!("{} says #{n}", user.handle)});
                let path = format!("/api/chats/{chat}/messages");
                match api
                    .try_call(
                        Method::POST,
                        Some(&user.access_token),
                        &path,
                        Some(&content),
                        &[],
                    )
                    .await
                {
                    Ok(reply) if reply.status == 201 => {
                        sent.ids.push(reply.id());
                        counter.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(reply) => sent.failures.push((reply.status, reply.body.to_string())),
                    Err(err) => sent.failures.push((0, err.to_string())),
                }
            }
        });
        Sender { stop, task, stored }
    }

    /// Messages stored so far.
    pub fn stored(&self) -> usize {
        self.stored.load(Ordering::SeqCst)
    }

    /// Stops after the send in progress and returns everything sent.
    pub async fn stop(self) -> Sent {
        let _ = self.stop.send(true);
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .unwrap_or_else(|_| panic!("a sender did not stop"))
            .unwrap_or_else(|err| panic!("a sender failed: {err}"))
    }
}
