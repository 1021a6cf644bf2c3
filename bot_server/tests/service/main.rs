//! bot_server against real Postgres, NATS and fechatter_server (a child process from its binary);
//! the only stand-in is a local HTTP server for the paid language-model API.

mod support;

mod assistant;
mod delivery;
mod fairness;
mod language_model;
mod outage;
mod provisioning;
mod search;
