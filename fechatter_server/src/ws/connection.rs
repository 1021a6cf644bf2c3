//! One socket: a writer task draining the socket's bounded queue (acks, errors, events, pings) and
//! a reader loop running the client's commands in order. Either side ending ends both.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, close_code};
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::observability::metrics::{Direction, WebSocketMetrics};
use crate::state::AppState;
use crate::ws::commands;
use crate::ws::hub::{CloseReason, Closer, TOO_SLOW};
use crate::ws::protocol;

const TOKEN_EXPIRED: CloseReason = (close_code::POLICY, "the access token expired");
const SIGNED_OUT: CloseReason = (close_code::POLICY, "the session was signed out");
const SILENT: CloseReason = (
    close_code::AWAY,
    "no frame or pong within the keep-alive window",
);
/// How long a close frame may take to leave before the socket is simply dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// Serves an upgraded socket until the client leaves, is cut off, or its token expires.
pub async fn serve(state: AppState, socket: WebSocket, caller: CurrentUser) {
    let settings = state.config().websocket;
    let (queue, frames) = mpsc::channel(settings.buffer);
    let closer = Closer::default();
    let _registration = state
        .sockets()
        .hub()
        .register(caller.id, queue.clone(), closer.clone());
    let (sink, stream) = socket.split();
    let writer = tokio::spawn(write(
        sink,
        frames,
        closer.clone(),
        settings.ping_interval,
        settings.write_timeout,
    ));
    read(&state, stream, &caller, &queue, &closer).await;
    closer.close((close_code::NORMAL, ""));
    let _ = writer.await;
}

/// Sends queued frames and pings; a frame that cannot be written in time cuts the socket off.
async fn write(
    mut sink: SplitSink<WebSocket, Message>,
    mut frames: mpsc::Receiver<Utf8Bytes>,
    closer: Closer,
    ping_interval: Duration,
    write_timeout: Duration,
) {
    let mut ping = tokio::time::interval_at(Instant::now() + ping_interval, ping_interval);
    loop {
        let (message, is_data) = tokio::select! {
            biased;
            _ = closer.closed() => break,
            frame = frames.recv() => match frame {
                Some(text) => (Message::Text(text), true),
                None => break,
            },
            _ = ping.tick() => (Message::Ping(Default::default()), false),
        };
        let sent = tokio::select! {
            _ = closer.closed() => break,
            sent = tokio::time::timeout(write_timeout, sink.send(message)) => sent,
        };
        match sent {
            Ok(Ok(())) if is_data => WebSocketMetrics::frame(Direction::Out),
            Ok(Ok(())) => {}
            Ok(Err(_)) => break,
            Err(_) => {
                closer.close(TOO_SLOW);
                return;
            }
        }
    }
    // A client that stopped reading would block the close frame too: it gets none.
    let Some((code, reason)) = closer.reason().filter(|reason| *reason != TOO_SLOW) else {
        return;
    };
    let finish = async {
        // Fails harmlessly when the client closed first; `close` then flushes the reply to its
        // close frame, completing the handshake either way.
        let close = Message::Close(Some(CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        }));
        let _ = sink.send(close).await;
        let _ = sink.close().await;
    };
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, finish).await;
}

/// The moment the caller's access token expires.
fn expiry(caller: &CurrentUser) -> Instant {
    let left = caller.expires_at - chrono::Utc::now().timestamp();
    Instant::now() + Duration::from_secs(u64::try_from(left).unwrap_or(0))
}

/// Reads frames and answers commands until the socket ends. Any frame (a pong included) proves the
/// client alive; silence for two ping intervals ends the socket.
async fn read(
    state: &AppState,
    mut stream: SplitStream<WebSocket>,
    caller: &CurrentUser,
    queue: &mpsc::Sender<Utf8Bytes>,
    closer: &Closer,
) {
    let silence = state.config().websocket.ping_interval * 2;
    let expires = expiry(caller);
    loop {
        let next = tokio::select! {
            _ = closer.closed() => return,
            _ = tokio::time::sleep_until(expires) => return closer.close(TOKEN_EXPIRED),
            next = tokio::time::timeout(silence, stream.next()) => next,
        };
        let message = match next {
            Err(_) => return closer.close(SILENT),
            Ok(None | Some(Err(_))) => return,
            Ok(Some(Ok(message))) => message,
        };
        let reply = match message {
            Message::Text(text) => {
                WebSocketMetrics::frame(Direction::In);
                if let Err(AppError::SessionRevoked) = caller.ensure_signed_in(state).await {
                    return closer.close(SIGNED_OUT);
                }
                commands::run(state, caller, text.as_str()).await
            }
            Message::Binary(_) => {
                WebSocketMetrics::frame(Direction::In);
                protocol::error(
                    None,
                    AppError::UnsupportedMediaType {
                        code: "unsupported_frame",
                        message: "frames are JSON text".to_owned(),
                    },
                )
            }
            Message::Close(_) => return,
            Message::Ping(_) | Message::Pong(_) => continue,
        };
        if queue.try_send(reply).is_err() {
            return closer.close(TOO_SLOW);
        }
    }
}
