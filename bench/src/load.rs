//! A closed-loop HTTP/1.1 load generator: `connections` workers, each with one keep-alive
//! connection, sending the next request as soon as the previous answer arrived.
//!
//! Closed loop means the latencies do not include queueing the server caused by refusing to
//! read (coordinated omission); the throughput figure is the service's capacity at that
//! concurrency, and p99 is what a client saw at that load.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::latency;

/// What one request-answer pair amounts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// The service refused the work for now (503 with a full buffer): counted, retried later.
    Backpressure,
    Error,
}

/// The requests a scenario sends and how it judges the answers.
pub trait Workload: Send + Sync + 'static {
    /// Request number `n` of worker `worker`. The URI is the path; the Host header is set here.
    fn request(&self, worker: usize, n: u64) -> Request<Full<Bytes>>;

    fn check(&self, status: StatusCode, body: &Bytes) -> Outcome {
        let _ = body;
        if status.is_success() {
            Outcome::Ok
        } else {
            Outcome::Error
        }
    }

    /// Units of work (events) one successful request carries.
    fn units(&self) -> u64 {
        1
    }
}

#[derive(Debug, Clone)]
pub struct LoadReport {
    pub ok: u64,
    pub units: u64,
    pub errors: u64,
    pub backpressure: u64,
    pub elapsed: Duration,
    pub histogram: Histogram<u64>,
    pub first_error: Option<String>,
}

impl LoadReport {
    pub fn per_second(&self) -> f64 {
        self.units as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }
}

/// How long a worker waits after back-pressure before it sends again, as a polite client would.
const BACKOFF: Duration = Duration::from_millis(20);

/// Runs `workload` against `addr` on `connections` connections for `duration`.
pub async fn run<W: Workload>(
    addr: SocketAddr,
    connections: usize,
    duration: Duration,
    workload: Arc<W>,
) -> LoadReport {
    let started = Instant::now();
    let deadline = started + duration;
    let workers: Vec<_> = (0..connections.max(1))
        .map(|id| tokio::spawn(worker(id, addr, deadline, workload.clone())))
        .collect();
    let mut report = LoadReport {
        ok: 0,
        units: 0,
        errors: 0,
        backpressure: 0,
        elapsed: Duration::ZERO,
        histogram: latency::histogram(),
        first_error: None,
    };
    for worker in workers {
        match worker.await {
            Ok(done) => {
                report.ok += done.ok;
                report.units += done.ok * workload.units();
                report.errors += done.errors;
                report.backpressure += done.backpressure;
                let _ = report.histogram.add(&done.histogram);
                report.first_error = report.first_error.or(done.first_error);
            }
            Err(err) => {
                report.errors += 1;
                report
                    .first_error
                    .get_or_insert(format!("worker panicked: {err}"));
            }
        }
    }
    report.elapsed = started.elapsed();
    report
}

struct WorkerReport {
    ok: u64,
    errors: u64,
    backpressure: u64,
    histogram: Histogram<u64>,
    first_error: Option<String>,
}

async fn connect(addr: SocketAddr) -> anyhow::Result<SendRequest<Full<Bytes>>> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    Ok(sender)
}

async fn exchange(
    sender: &mut SendRequest<Full<Bytes>>,
    request: Request<Full<Bytes>>,
) -> anyhow::Result<(StatusCode, Bytes)> {
    sender.ready().await?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, body))
}

async fn worker<W: Workload>(
    id: usize,
    addr: SocketAddr,
    deadline: Instant,
    workload: Arc<W>,
) -> WorkerReport {
    let mut report = WorkerReport {
        ok: 0,
        errors: 0,
        backpressure: 0,
        histogram: latency::histogram(),
        first_error: None,
    };
    let mut sender: Option<SendRequest<Full<Bytes>>> = None;
    let mut n = 0u64;
    while Instant::now() < deadline {
        let connection = match sender.as_mut() {
            Some(connection) => connection,
            None => match connect(addr).await {
                Ok(connection) => sender.insert(connection),
                Err(err) => {
                    report.errors += 1;
                    report.first_error.get_or_insert(format!("connect: {err}"));
                    tokio::time::sleep(BACKOFF).await;
                    continue;
                }
            },
        };
        let request = workload.request(id, n);
        n += 1;
        let sent = Instant::now();
        match exchange(connection, request).await {
            Ok((status, body)) => match workload.check(status, &body) {
                Outcome::Ok => {
                    report.ok += 1;
                    latency::record(&mut report.histogram, sent.elapsed());
                }
                Outcome::Backpressure => {
                    report.backpressure += 1;
                    tokio::time::sleep(BACKOFF).await;
                }
                Outcome::Error => {
                    report.errors += 1;
                    report.first_error.get_or_insert_with(|| {
                        format!(
                            "{status}: {}",
                            String::from_utf8_lossy(&body[..body.len().min(300)])
                        )
                    });
                }
            },
            Err(err) => {
                report.errors += 1;
                report.first_error.get_or_insert(format!("request: {err}"));
                sender = None;
            }
        }
    }
    report
}
