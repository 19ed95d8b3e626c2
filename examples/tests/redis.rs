//! A real Redis server: Debian's redis-server, built from `fixtures/redis/Dockerfile`, spoken to
//! in its own protocol (RESP) over a plain TCP stream, so no client crate is needed.
//!
//! Redis accepts commands as soon as it listens, so the default readiness (the server accepts
//! TCP connections on every port in `ports`) is all it needs.

use std::error::Error;
use std::net::SocketAddr;
use std::time::Duration;

use dockside::{docker_test, Container};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// How long the whole conversation with the server may take: a test fails, it never hangs.
const CONVERSATION: Duration = Duration::from_secs(10);

type BoxError = Box<dyn Error + Send + Sync>;

/// Answers `PING`, stores a value and gives it back.
#[docker_test(dockerfile = "fixtures/redis/Dockerfile", ports = [6379])]
async fn answers_and_stores(cache: Container) -> Result<(), BoxError> {
    let addr = cache.addr(6379);
    timeout(CONVERSATION, conversation(addr))
        .await
        .map_err(|_| format!("redis at {addr} did not finish within {CONVERSATION:?}"))?
}

async fn conversation(addr: SocketAddr) -> Result<(), BoxError> {
    let mut redis = BufReader::new(TcpStream::connect(addr).await?);
    assert_eq!(command(&mut redis, &["PING"]).await?, "+PONG");
    assert_eq!(
        command(&mut redis, &["SET", "greeting", "hello"]).await?,
        "+OK"
    );
    assert_eq!(command(&mut redis, &["GET", "greeting"]).await?, "hello");
    Ok(())
}

/// Sends one command and returns its reply: a status line such as `+OK` as it is, the contents
/// of a bulk string such as `$5\r\nhello`. An error reply (`-ERR ...`) is an `Err`.
async fn command(redis: &mut BufReader<TcpStream>, args: &[&str]) -> Result<String, BoxError> {
    let mut request = format!("*{}\r\n", args.len());
    for arg in args {
        request += &format!("${}\r\n{arg}\r\n", arg.len());
    }
    redis.get_mut().write_all(request.as_bytes()).await?;

    let mut line = String::new();
    if redis.read_line(&mut line).await? == 0 {
        return Err(format!("redis closed the connection after {args:?}").into());
    }
    let line = line.trim_end_matches("\r\n");
    match line.strip_prefix('$') {
        Some(length) => {
            let length: usize = length.parse()?;
            let mut bulk = vec![0; length + 2]; // the contents and their "\r\n"
            redis.read_exact(&mut bulk).await?;
            bulk.truncate(length);
            Ok(String::from_utf8(bulk)?)
        }
        None if line.starts_with('-') => Err(format!("redis answered {args:?} with {line}").into()),
        None => Ok(line.to_owned()),
    }
}
