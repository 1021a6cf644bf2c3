//! One socket: a writer task sending the push core's frames (catch-up, then the caller's live
//! events) and the answers to commands, with pings; and a reader loop running the client's
//! commands in order. Either side ending ends both.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use fechatter_push::LiveConnection;
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::observability::metrics::{Direction, WebSocketMetrics};
use crate::ws::Context;
use crate::ws::close::{self, Closer, NORMAL, SIGNED_OUT, SILENT, TOKEN_EXPIRED, TOO_SLOW};
use crate::ws::{commands, protocol};

/// How long a close frame may take to leave before the socket is simply dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// Counts the socket as open for as long as it lives.
struct Open;

impl Open {
    fn new() -> Self {
        WebSocketMetrics::opened();
        Open
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        WebSocketMetrics::closed();
    }
}

/// Serves an upgraded socket until the client leaves, is cut off, its token expires or its
/// session is revoked.
pub async fn serve(ctx: Context, socket: WebSocket, caller: CurrentUser, live: LiveConnection) {
    let _open = Open::new();
    let settings = ctx.deps.config().websocket;
    let (replies, queued) = mpsc::channel(settings.buffer);
    let closer = Closer::default();
    let (sink, stream) = socket.split();
    let writer = tokio::spawn(write(
        sink,
        Outbound {
            live,
            replies: queued,
        },
        closer.clone(),
        settings.ping_interval,
        settings.write_timeout,
    ));
    read(&ctx, stream, &caller, &replies, &closer).await;
    closer.close(NORMAL);
    let _ = writer.await;
}

/// What the writer sends: pushed frames and the answers to commands.
struct Outbound {
    live: LiveConnection,
    replies: mpsc::Receiver<Utf8Bytes>,
}

/// Sends frames and pings; a frame that cannot be written in time cuts the socket off.
async fn write(
    mut sink: SplitSink<WebSocket, Message>,
    mut outbound: Outbound,
    closer: Closer,
    ping_interval: Duration,
    write_timeout: Duration,
) {
    let mut ping = tokio::time::interval_at(Instant::now() + ping_interval, ping_interval);
    loop {
        let (message, pushed) = tokio::select! {
            biased;
            _ = closer.closed() => break,
            reply = outbound.replies.recv() => match reply {
                Some(text) => (Message::Text(text), None),
                None => break,
            },
            pushed = outbound.live.next() => match pushed {
                Some(pushed) => (Message::Text(protocol::push(&pushed.frame)), Some(pushed)),
                None => {
                    closer.close(close::for_end(outbound.live.end_reason()));
                    break;
                }
            },
            _ = ping.tick() => (Message::Ping(Default::default()), None),
        };
        let is_data = matches!(message, Message::Text(_));
        let sent = tokio::select! {
            _ = closer.closed() => break,
            sent = tokio::time::timeout(write_timeout, sink.send(message)) => sent,
        };
        match sent {
            Ok(Ok(())) => {
                if is_data {
                    WebSocketMetrics::frame(Direction::Out);
                }
                let lag =
                    pushed.and_then(|p| Some((p.frame.name(), p.live_lag(chrono::Utc::now())?)));
                if let Some((event, lag)) = lag {
                    WebSocketMetrics::delivery_lag(event, lag);
                }
            }
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
    ctx: &Context,
    mut stream: SplitStream<WebSocket>,
    caller: &CurrentUser,
    replies: &mpsc::Sender<Utf8Bytes>,
    closer: &Closer,
) {
    let silence = ctx.deps.config().websocket.ping_interval * 2;
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
                if let Err(AppError::SessionRevoked) = caller.ensure_signed_in(&ctx.deps).await {
                    return closer.close(SIGNED_OUT);
                }
                commands::run(ctx, caller, text.as_str()).await
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
        if replies.try_send(reply).is_err() {
            return closer.close(TOO_SLOW);
        }
    }
}
