//! Many SSE subscribers from one process: each a raw HTTP/1.1 connection read by a [`Scanner`].
//!
//! Connections come from several loopback source addresses (127.0.0.2–9) so tens of thousands of
//! them never run out of ephemeral ports to one destination.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use anyhow::{Context, bail};
use bytes::Bytes;
use http::{Method, header};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use tokio::net::TcpSocket;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::scanner::Scanner;

const SOURCE_ADDRESSES: u8 = 8;

/// One subscription: the path (with its query) and the bearer token, if any.
#[derive(Debug, Clone)]
pub struct Subscriber {
    pub path: String,
    pub token: Option<String>,
    /// Sent as `Last-Event-ID`: where a resuming client left off.
    pub last_event_id: Option<String>,
}

/// What the subscribers report, shared by all connections.
pub trait Listener: Send + Sync + 'static {
    /// The response headers arrived: the stream is open.
    fn opened(&self, connection: usize);
    fn event(&self, connection: usize, event: &[u8], id: Option<u64>);
    /// The stream ended (the server closed it) or failed to open.
    fn ended(&self, connection: usize, error: Option<String>);
}

/// The open subscriptions; dropping this closes them all.
pub struct Subscriptions {
    tasks: JoinSet<()>,
}

impl Subscriptions {
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    pub async fn close(mut self) {
        self.tasks.shutdown().await;
    }
}

/// Opens every subscriber, at most `parallel` connection attempts at a time, subscriber `i` to
/// `servers[i % servers.len()]`. Returns at once; the listener hears of each connection as it opens.
pub fn subscribe<L: Listener>(
    servers: &[SocketAddr],
    subscribers: Vec<Subscriber>,
    parallel: usize,
    listener: Arc<L>,
) -> Subscriptions {
    let gate = Arc::new(Semaphore::new(parallel.max(1)));
    let mut tasks = JoinSet::new();
    for (connection, subscriber) in subscribers.into_iter().enumerate() {
        let addr = servers[connection % servers.len().max(1)];
        let gate = gate.clone();
        let listener = listener.clone();
        tasks.spawn(async move {
            let error = stream(connection, addr, subscriber, gate, listener.as_ref()).await;
            listener.ended(connection, error.err().map(|err| format!("{err:#}")));
        });
    }
    Subscriptions { tasks }
}

async fn stream<L: Listener>(
    connection: usize,
    addr: SocketAddr,
    subscriber: Subscriber,
    gate: Arc<Semaphore>,
    listener: &L,
) -> anyhow::Result<()> {
    let permit = gate.acquire_owned().await?;
    let source = Ipv4Addr::new(
        127,
        0,
        0,
        2 + (connection % SOURCE_ADDRESSES as usize) as u8,
    );
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((source, 0)))?;
    let tcp = socket.connect(addr).await.context("connect")?;
    tcp.set_nodelay(true)?;
    let (mut sender, driver) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
    tokio::spawn(driver);
    let mut request = http::Request::builder()
        .method(Method::GET)
        .uri(&subscriber.path)
        .header(header::HOST, addr.to_string())
        .header(header::ACCEPT, "text/event-stream");
    if let Some(token) = &subscriber.token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    if let Some(cursor) = &subscriber.last_event_id {
        request = request.header("last-event-id", cursor);
    }
    let response = sender
        .send_request(request.body(Empty::<Bytes>::new())?)
        .await
        .context("request")?;
    if !response.status().is_success() {
        bail!("status {}", response.status());
    }
    drop(permit);
    listener.opened(connection);
    let mut body = response.into_body();
    let mut scanner = Scanner::default();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.context("reading the stream")?.into_data() {
            scanner.feed(&data, |dispatched| {
                listener.event(connection, dispatched.event, dispatched.id);
            });
        }
    }
    // Holding the sender to the end keeps hyper from closing an idle-looking connection.
    drop(sender);
    Ok(())
}
