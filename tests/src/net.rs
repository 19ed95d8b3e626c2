//! Loopback ports for the servers the tests start themselves (a registry, a TCP relay).

use std::net::TcpListener;
use std::time::{Duration, Instant};

/// A loopback TCP port free right now, for a server the test is about to start.
pub fn free_loopback_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something accepts connections on 127.0.0.1:`port`; panics naming `what` after
/// 20 s.
pub fn wait_until_listening(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not listen on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
