//! analytics_server against real ClickHouse 18.16 and NATS (one test binary, so the shared servers
//! start once).

mod access;
mod cors;
mod faults;
mod health;
mod ingest_http;
mod ingest_nats;
mod reports;
mod sql_compat;
mod support;
