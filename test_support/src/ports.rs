//! Free TCP ports on 127.0.0.1.

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::sync::{Mutex, PoisonError};

/// Ports handed out by this process: the kernel may offer a just-closed port again, and two servers
/// of one test must never race for the same port.
static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// A port nothing listens on right now. Another process may still take it before the caller binds
/// it; the server launcher retries with new ports when a server exits during start-up.
pub fn free_port() -> u16 {
    for _ in 0..100 {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .unwrap_or_else(|e| panic!("cannot bind 127.0.0.1:0 to find a free port: {e}"));
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
    panic!("the kernel kept offering ports this process already handed out")
}

#[cfg(test)]
mod tests {
    #[test]
    fn ports_are_not_handed_out_twice() {
        let ports: std::collections::BTreeSet<u16> = (0..50).map(|_| super::free_port()).collect();
        assert_eq!(ports.len(), 50);
    }
}
