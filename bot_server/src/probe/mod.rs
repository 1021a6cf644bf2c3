//! The synthetic send-receive probe (like Zulip's): two canary users of a canary workspace, signed
//! up and signed in through fechatter_server's public API like any client; every interval one sends
//! a message and the other's SSE stream on notify_server must receive it within the timeout.
//! `bot_probe_*` records each result and the end-to-end time; `ProbeFailing` and `ProbeSlow` alert.
//!
//! On when `BOT_PROBE_PASSWORD` is set (compose and the native runner set it). The canaries are
//! real users: their workspace and messages stay (two more daily active users in the reports).

mod client;
mod stream;

use std::time::{Duration, Instant};

use secrecy::SecretString;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::config::ProbeSettings;
use crate::observability::metrics::ProbeMetrics;

use client::{Joining, PublicApi, Session};
use stream::LiveStream;

const SENDER: &str = "probe-sender@canary.fechatter.invalid";
const RECEIVER: &str = "probe-receiver@canary.fechatter.invalid";
const WORKSPACE: &str = "Fechatter canary";

/// Where a probe failed, for the log (`step`) and the runbook.
#[derive(Debug, thiserror::Error)]
#[error("{step}: {detail}")]
pub struct ProbeError {
    step: &'static str,
    detail: String,
    /// The canaries' session is no longer accepted: sign in again.
    unauthorized: bool,
}

impl ProbeError {
    fn at(step: &'static str, detail: String) -> Self {
        Self {
            step,
            detail,
            unauthorized: false,
        }
    }
    fn sign_in(detail: String) -> Self {
        Self::at("sign_in", detail)
    }
    fn chat(detail: String) -> Self {
        Self::at("chat", detail)
    }
    fn stream(detail: String) -> Self {
        Self::at("stream", detail)
    }
    fn send(detail: String) -> Self {
        Self::at("send", detail)
    }
    fn receive(detail: String) -> Self {
        Self::at("receive", detail)
    }
    fn unauthorized() -> Self {
        Self {
            unauthorized: true,
            ..Self::send("the canary's token was refused".to_owned())
        }
    }
}

/// The two canaries, their chat and the receiver's open stream.
struct Canaries {
    sender: Session,
    receiver: Session,
    chat: i64,
    stream: Option<LiveStream>,
}

pub struct Probe {
    api: PublicApi,
    http: reqwest::Client,
    notify: Url,
    password: SecretString,
    timeout: Duration,
    canaries: Option<Canaries>,
}

impl Probe {
    pub fn new(http: reqwest::Client, fechatter: &Url, settings: &ProbeSettings) -> Self {
        Self {
            api: PublicApi::new(http.clone(), fechatter),
            http,
            notify: settings.notify_url.clone(),
            password: settings.password.clone(),
            timeout: settings.timeout,
            canaries: None,
        }
    }

    /// One probe: sends a message as one canary and waits for the other to receive it live; how
    /// long that took.
    #[tracing::instrument(skip_all)]
    pub async fn check(&mut self) -> Result<Duration, ProbeError> {
        let outcome = self.try_check().await;
        if let Err(err) = &outcome {
            // Start over next time: a broken stream is reopened, a refused session signed in again.
            match self.canaries.as_mut() {
                Some(_) if err.unauthorized || err.step == "sign_in" => self.canaries = None,
                Some(canaries) => canaries.stream = None,
                None => {}
            }
        }
        outcome
    }

    async fn try_check(&mut self) -> Result<Duration, ProbeError> {
        let renew = self.canaries.as_ref().is_none_or(|c| {
            let now = Instant::now();
            now >= c.sender.renew_at || now >= c.receiver.renew_at
        });
        if renew {
            self.canaries = Some(sign_in(&self.api, &self.password).await?);
        }
        let Some(canaries) = self.canaries.as_ref() else {
            return Err(ProbeError::sign_in("no canaries".to_owned()));
        };
        // Owned copies: nothing borrowed from the canaries is held across an await but the stream.
        let (sender, receiver_token, chat) = (
            canaries.sender.clone(),
            canaries.receiver.access_token.clone(),
            canaries.chat,
        );
        if canaries.stream.is_none() {
            let opened =
                LiveStream::open(&self.http, &self.notify, &receiver_token, self.timeout).await?;
            if let Some(canaries) = self.canaries.as_mut() {
                canaries.stream = Some(opened);
            }
        }
        let started = tokio::time::Instant::now();
        let content = format!("probe {}", uuid::Uuid::now_v7());
        let id = self.api.send(&sender, chat, &content).await?;
        let Some(stream) = self.canaries.as_mut().and_then(|c| c.stream.as_mut()) else {
            return Err(ProbeError::stream("no stream".to_owned()));
        };
        stream.until_message(id, started + self.timeout).await?;
        Ok(started.elapsed())
    }
}

/// Signs both canaries in, signing them up first if they do not exist yet, and finds their chat.
async fn sign_in(api: &PublicApi, password: &SecretString) -> Result<Canaries, ProbeError> {
    let sender = match api.sign_in(SENDER, password).await? {
        Some(session) => session,
        None => {
            tracing::info!("signing up the probe's canary workspace");
            api.sign_up(
                SENDER,
                "Probe sender",
                password,
                Joining::NewWorkspace(WORKSPACE),
            )
            .await?
        }
    };
    let receiver = match api.sign_in(RECEIVER, password).await? {
        Some(session) => session,
        None => {
            let code = api.invite(&sender).await?;
            api.sign_up(RECEIVER, "Probe receiver", password, Joining::Invite(&code))
                .await?
        }
    };
    let chat = api.direct_chat(&sender, &receiver).await?;
    Ok(Canaries {
        sender,
        receiver,
        chat,
        stream: None,
    })
}

/// Probes every `interval` until `shutdown`.
pub async fn run(probe: Probe, interval: Duration, shutdown: CancellationToken) {
    let mut probe = probe;
    ProbeMetrics::started();
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let outcome = tokio::select! {
            _ = shutdown.cancelled() => return,
            outcome = probe.check() => outcome,
        };
        match outcome {
            Ok(took) => {
                tracing::debug!(took_ms = took.as_millis() as u64, "probe received");
                ProbeMetrics::succeeded(took);
            }
            Err(err) => {
                tracing::warn!(step = err.step, error = %err.detail, "probe failed");
                ProbeMetrics::failed();
            }
        }
    }
}
