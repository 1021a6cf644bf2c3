//! Closing connections whose writes stop making progress.
//!
//! A client that stops reading fills the socket buffers; hyper then waits for the socket forever
//! and never polls the response body again, so a streaming response (SSE) cannot end itself. This
//! wrapper fails a write that has been pending for longer than the timeout, and hyper closes the
//! connection.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::serve::Listener;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// A listener whose connections fail writes that stall for longer than `timeout` (`None`: never).
pub struct WriteStallGuard<L> {
    inner: L,
    timeout: Option<Duration>,
}

impl<L> WriteStallGuard<L> {
    pub fn new(inner: L, timeout: Option<Duration>) -> Self {
        Self { inner, timeout }
    }
}

impl<L: Listener> Listener for WriteStallGuard<L> {
    type Io = StallGuarded<L::Io>;
    type Addr = L::Addr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (io, addr) = self.inner.accept().await;
        (StallGuarded::new(io, self.timeout), addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// An I/O stream whose writes fail with `TimedOut` after stalling for longer than its timeout.
pub struct StallGuarded<T> {
    inner: T,
    timeout: Option<Duration>,
    /// Running while a write is pending; reset by any progress.
    stalled_since: Option<Pin<Box<Sleep>>>,
}

impl<T> StallGuarded<T> {
    pub fn new(inner: T, timeout: Option<Duration>) -> Self {
        Self {
            inner,
            timeout,
            stalled_since: None,
        }
    }

    fn progress<R>(
        &mut self,
        outcome: Poll<io::Result<R>>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<R>> {
        if outcome.is_ready() {
            self.stalled_since = None;
            return outcome;
        }
        let Some(timeout) = self.timeout else {
            return Poll::Pending;
        };
        let deadline = self
            .stalled_since
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the peer has not read for {timeout:?}"),
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for StallGuarded<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for StallGuarded<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let outcome = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.progress(outcome, cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let outcome = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.progress(outcome, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let outcome = Pin::new(&mut this.inner).poll_flush(cx);
        this.progress(outcome, cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn a_write_the_peer_never_reads_fails_after_the_timeout() {
        let (ours, _theirs) = tokio::io::duplex(16);
        let mut guarded = StallGuarded::new(ours, Some(Duration::from_millis(50)));
        let outcome =
            tokio::time::timeout(Duration::from_secs(5), guarded.write_all(&[0; 64])).await;
        let err = outcome
            .unwrap_or_else(|_| panic!("the write was not cut off"))
            .err()
            .map(|err| err.kind());
        assert_eq!(err, Some(io::ErrorKind::TimedOut));
    }

    #[tokio::test]
    async fn a_write_the_peer_reads_slowly_but_steadily_succeeds() {
        let (ours, mut theirs) = tokio::io::duplex(16);
        let mut guarded = StallGuarded::new(ours, Some(Duration::from_millis(200)));
        let reader = tokio::spawn(async move {
            let mut received = Vec::new();
            let mut chunk = [0; 16];
            while received.len() < 256 {
                tokio::time::sleep(Duration::from_millis(5)).await;
                let n = tokio::io::AsyncReadExt::read(&mut theirs, &mut chunk)
                    .await
                    .unwrap_or(0);
                received.extend_from_slice(&chunk[..n]);
            }
            received.len()
        });
        let written = guarded.write_all(&[1; 256]).await;
        assert!(written.is_ok(), "{written:?}");
        assert_eq!(reader.await.unwrap_or_default(), 256);
    }

    #[tokio::test]
    async fn without_a_timeout_a_stalled_write_just_waits() {
        let (ours, _theirs) = tokio::io::duplex(16);
        let mut guarded = StallGuarded::new(ours, None);
        let outcome =
            tokio::time::timeout(Duration::from_millis(100), guarded.write_all(&[0; 64])).await;
        assert!(outcome.is_err(), "still pending");
    }
}
