//! Example tests of dockside live in `tests/`; this library only holds the tiny HTTP client they
//! share: [`http_get`] for plain `fn` tests, [`http_get_async`] for `async fn` tests and probes.
//! Both give up after [`TIMEOUT`]: a test that talks to a container must never wait forever,
//! and Docker's published port accepts a connection even when nothing inside answers.
//!
//! The build script compiles the small static server the examples run (`FROM scratch` images
//! need no registry) into `fixtures/bin/`.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long one request may take, connecting included.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// GETs `path` from `addr` and returns the body, blocking the thread: for plain `fn` tests.
pub fn http_get(addr: SocketAddr, path: &str) -> io::Result<String> {
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    stream.write_all(request(path).as_bytes())?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    body(addr, &response)
}

/// GETs `path` from `addr` and returns the body, without blocking the runtime's thread: for
/// `async fn` tests and custom probes.
///
/// # Errors
/// [`io::ErrorKind::TimedOut`] naming the address when the whole exchange takes longer than
/// [`TIMEOUT`]; the I/O error otherwise.
pub async fn http_get_async(addr: SocketAddr, path: &str) -> io::Result<String> {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        stream.write_all(request(path).as_bytes()).await?;
        let mut response = String::new();
        stream.read_to_string(&mut response).await?;
        body(addr, &response)
    };
    tokio::time::timeout(TIMEOUT, exchange)
        .await
        .unwrap_or_else(|_| {
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("GET {path} from {addr}: no answer within {TIMEOUT:?}"),
            ))
        })
}

fn request(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
}

/// The body of an HTTP response; an error when the server closed without one.
fn body(addr: SocketAddr, response: &str) -> io::Result<String> {
    match response.split_once("\r\n\r\n") {
        Some((_, body)) => Ok(body.to_owned()),
        None => Err(io::Error::other(format!(
            "no HTTP response from {addr}: {response:?}"
        ))),
    }
}
