//! Serving HTTP/1.1 connections with the limit `axum::serve` does not offer: a deadline on a
//! request's headers. A client that connects and then trickles its request line and headers (or
//! sends nothing) is disconnected once the deadline passes, so it cannot hold a socket and a task;
//! an idle keep-alive connection is closed after the same time. Streaming responses (SSE, WebSocket
//! after the upgrade) are not affected: the deadline only runs while a request's head is awaited.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::serve::Listener;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting, lets every
/// connection finish its request in flight and waits for them all. Handlers see the peer address
/// as `ConnectInfo<SocketAddr>`.
pub async fn serve<L>(
    mut listener: L,
    router: Router,
    header_read_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) where
    L: Listener<Addr = SocketAddr>,
{
    let connections = TaskTracker::new();
    let closing = CancellationToken::new();
    let mut shutdown = pin!(shutdown);
    loop {
        let (io, peer) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let service = router
            .clone()
            .map_request(move |mut request: http::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            });
        let closing = closing.clone();
        connections.spawn(async move {
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout);
            let connection = builder
                .serve_connection(TokioIo::new(io), TowerToHyperService::new(service))
                .with_upgrades();
            let mut connection = pin!(connection);
            let result = tokio::select! {
                result = connection.as_mut() => result,
                () = closing.cancelled() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(err) = result {
                tracing::trace!(%peer, error = %err, "connection ended with an error");
            }
        });
    }
    drop(listener);
    closing.cancel();
    connections.close();
    connections.wait().await;
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::*;

    const HEADER_TIMEOUT: Duration = Duration::from_millis(500);

    async fn start(router: Router) -> (SocketAddr, CancellationToken) {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|err| panic!("{err}"));
        let addr = listener.local_addr().unwrap_or_else(|err| panic!("{err}"));
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        tokio::spawn(serve(listener, router, HEADER_TIMEOUT, async move {
            stopped.cancelled().await;
        }));
        (addr, stop)
    }

    async fn connect(addr: SocketAddr) -> TcpStream {
        TcpStream::connect(addr)
            .await
            .unwrap_or_else(|err| panic!("{err}"))
    }

    /// Everything the server sends until it closes the connection.
    async fn read_to_close(stream: &mut TcpStream) -> String {
        let mut received = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut received))
            .await
            .unwrap_or_else(|_| panic!("the server kept the connection open"))
            .unwrap_or_default();
        String::from_utf8_lossy(&received).into_owned()
    }

    #[tokio::test]
    async fn a_client_sending_one_header_byte_every_five_seconds_is_cut_off_at_the_deadline() {
        let (addr, _stop) = start(Router::new().route("/", get(|| async { "hi" }))).await;
        let held = test_support::slow_client::held_by_header_trickle(
            &addr.to_string(),
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
            Duration::from_secs(4),
        )
        .await;
        assert!(
            held >= HEADER_TIMEOUT && held < HEADER_TIMEOUT + Duration::from_secs(2),
            "closed after {held:?}"
        );
    }

    #[tokio::test]
    async fn a_streamed_response_outlives_the_header_deadline_and_handlers_see_the_peer() {
        let slow_body = || async {
            let chunks = futures::stream::unfold(0, |n| async move {
                if n == 8 {
                    return None;
                }
                tokio::time::sleep(Duration::from_millis(150)).await;
                Some((Ok::<_, std::io::Error>(format!("chunk{n} ")), n + 1))
            });
            Body::from_stream(chunks)
        };
        let peer =
            |ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.ip().to_string() };
        let (addr, _stop) = start(
            Router::new()
                .route("/stream", get(slow_body))
                .route("/peer", get(peer)),
        )
        .await;
        let mut stream = connect(addr).await;
        stream
            .write_all(b"GET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap_or_else(|err| panic!("{err}"));
        let response = read_to_close(&mut stream).await;
        assert!(response.contains("chunk7"), "{response}");

        let mut stream = connect(addr).await;
        stream
            .write_all(b"GET /peer HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap_or_else(|err| panic!("{err}"));
        assert!(read_to_close(&mut stream).await.ends_with("127.0.0.1"));
    }

    #[tokio::test]
    async fn shutdown_lets_the_request_in_flight_finish() {
        let started = std::sync::Arc::new(tokio::sync::Notify::new());
        let handler_started = started.clone();
        let slow = move || {
            let handler_started = handler_started.clone();
            async move {
                handler_started.notify_one();
                tokio::time::sleep(Duration::from_millis(300)).await;
                "done"
            }
        };
        let (addr, stop) = start(Router::new().route("/", get(slow))).await;
        let mut stream = connect(addr).await;
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap_or_else(|err| panic!("{err}"));
        tokio::time::timeout(Duration::from_secs(5), started.notified())
            .await
            .unwrap_or_else(|_| panic!("the request never reached its handler"));
        stop.cancel();
        assert!(read_to_close(&mut stream).await.ends_with("done"));
    }
}
