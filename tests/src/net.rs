//! Loopback ports for the servers the tests start themselves (a registry, a TCP relay), and the
//! local daemon reached over TCP.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::proxy::local_daemon_socket;

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

/// `socat` listening on a loopback TCP port in front of the local daemon's socket, stopped on
/// drop: a local daemon reached as `tcp://`, over plain HTTP.
pub struct TcpDaemon {
    process: Child,
    /// The loopback port it listens on.
    pub port: u16,
}

impl TcpDaemon {
    /// `None` when `socat` is not installed and the run does not require it
    /// (`DOCKSIDE_TEST_REQUIRE_REGISTRY`).
    pub fn start() -> Option<TcpDaemon> {
        if !crate::require::program("socat", "DOCKSIDE_TEST_REQUIRE_REGISTRY", "socat") {
            return None;
        }
        let port = free_loopback_port();
        let process = Command::new("socat")
            .arg(format!("TCP-LISTEN:{port},bind=127.0.0.1,fork,reuseaddr"))
            .arg(format!("UNIX-CONNECT:{}", local_daemon_socket().display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_until_listening(port, "socat");
        Some(TcpDaemon { process, port })
    }

    /// `tcp://127.0.0.1:<port>`.
    pub fn docker_host(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }
}

impl Drop for TcpDaemon {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}
