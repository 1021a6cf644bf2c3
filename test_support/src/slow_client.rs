//! A client that sends its request's headers one byte at a time (a slowloris), to prove that a
//! server's header-read deadline closes the connection.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The client's pace: far slower than any header deadline under test.
const BYTE_EVERY: Duration = Duration::from_secs(5);

/// How long the server at `addr` (`host:port`) kept open a connection that sends `request` one
/// byte every five seconds. Panics if the connection is still open after `give_up`.
pub async fn held_by_header_trickle(addr: &str, request: &[u8], give_up: Duration) -> Duration {
    let stream = TcpStream::connect(addr)
        .await
        .unwrap_or_else(|err| panic!("{addr}: {err}"));
    let (mut reader, mut writer) = stream.into_split();
    let started = Instant::now();
    let request = request.to_vec();
    let trickle = tokio::spawn(async move {
        for byte in request {
            if writer.write_all(&[byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(BYTE_EVERY).await;
        }
    });
    let mut received = Vec::new();
    tokio::time::timeout(give_up, reader.read_to_end(&mut received))
        .await
        .unwrap_or_else(|_| panic!("{addr} kept the connection open for {give_up:?}"))
        .unwrap_or_default();
    let held = started.elapsed();
    trickle.abort();
    held
}
