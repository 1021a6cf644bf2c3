//! Server-Sent Events from the subscriber's side.

pub mod client;
pub mod ramp;
pub mod scanner;
pub mod tally;
