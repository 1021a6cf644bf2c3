//! Free TCP ports on 127.0.0.1.

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::sync::{Mutex, PoisonError};

/// Ports handed out by this process: the kernel may offer a just-closed port again, and two servers
/// of one test must never race for the same port.
static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// A port nothing listens on right now. Another process may still take it before the caller binds
/// it; the server launcher retries with new ports when a server exits during start-up.
///
/// Ports come from below the kernel's ephemeral range where there is room: a server stopped by a
/// fault test restarts on its own ports, and in the meantime the kernel would hand a port of the
/// ephemeral range to any outgoing connection on the machine.
pub fn free_port() -> u16 {
    let below = ephemeral_floor().filter(|floor| *floor > LOWEST + 1_000);
    for attempt in 0..200 {
        let port = match below {
            Some(floor) if attempt < 150 => LOWEST + (random() % u64::from(floor - LOWEST)) as u16,
            _ => 0,
        };
        let Ok(listener) = TcpListener::bind(("127.0.0.1", port)) else {
            continue;
        };
        let port = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("cannot read the address of a bound socket: {e}"))
            .port();
        drop(listener);
        if HANDED_OUT
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(port)
        {
            return port;
        }
    }
    panic!("no free port after 200 attempts")
}

/// Clear of the well-known and registered services most machines run.
const LOWEST: u16 = 12_000;

/// The first port of the kernel's ephemeral range, when it can be read.
fn ephemeral_floor() -> Option<u16> {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn random() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    // Every `RandomState` is seeded afresh: enough to spread test processes over the range.
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
}

#[cfg(test)]
mod tests {
    #[test]
    fn ports_are_not_handed_out_twice() {
        let ports: std::collections::BTreeSet<u16> = (0..50).map(|_| super::free_port()).collect();
        assert_eq!(ports.len(), 50);
    }

    #[test]
    fn ports_come_from_below_the_ephemeral_range() {
        let Some(floor) = super::ephemeral_floor() else {
            return;
        };
        let port = super::free_port();
        assert!(
            port < floor || floor <= super::LOWEST + 1_000,
            "{port} ≥ {floor}"
        );
    }
}
