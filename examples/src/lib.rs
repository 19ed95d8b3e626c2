//! Example tests of dockside live in `tests/`; this library only holds the tiny HTTP client they
//! share, in plain std so the examples need no other crate.
//!
//! The build script compiles the small static server the examples run (`FROM scratch` images
//! need no registry) into `fixtures/bin/`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

/// GETs `path` from `addr` and returns the body.
pub fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(addr)?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default())
}
