//! A Docker API proxy on a unix socket, for counting requests and injecting faults.
//!
//! Point dockside (or the `docker` CLI) at [`DockerProxy::docker_host`] and every request goes
//! through here to the real daemon. Some behaviours cannot be produced on demand by a healthy
//! daemon — BuildKit's "already exists" after a concurrent build, a dropped connection, a 500 —
//! so the proxy makes them up at the socket, where dockside cannot tell them from the real thing.
//!
//! Request and response bodies stream through (build contexts and log streams are large or
//! endless), connections stay alive, and HTTP upgrades (`POST /session` for BuildKit, `Upgrade:
//! tcp` for attach and exec) are spliced through as raw byte streams. Each downstream connection
//! gets its own upstream connection and its requests are forwarded in order.
//!
//! ```no_run
//! use dockside_tests::proxy::{local_daemon_socket, DockerProxy};
//!
//! let proxy = DockerProxy::start(&local_daemon_socket())?;
//! std::env::set_var("DOCKER_HOST", proxy.docker_host());
//! // ... run the code under test ...
//! assert_eq!(proxy.count("POST", "/build"), 1);
//! # Ok::<(), std::io::Error>(())
//! ```

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, BodyStream, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::oneshot;

type ProxyBody = UnsyncBoxBody<Bytes, hyper::Error>;

/// A fault the proxy injects into the requests it forwards. Set it with [`DockerProxy::inject`];
/// it applies to every matching request until replaced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Forward everything unchanged.
    #[default]
    None,
    /// Let each `POST /build` run to completion, then append to its response stream the error
    /// line BuildKit sends when a concurrent build created the tag meanwhile:
    /// `{"errorDetail":{"message":"image \"docker.io/library/NAME:TAG\": already exists"},...}`,
    /// naming the build's `t` query parameter (qualified the way the daemon does).
    AlreadyExistsAfterBuild,
    /// Close the connection without answering requests with this method whose unversioned
    /// path starts with `path_prefix`.
    DropConnection { method: String, path_prefix: String },
    /// Answer matching requests with `status` and a Docker-style body `{"message": message}`,
    /// without forwarding them.
    ErrorStatus {
        method: String,
        path_prefix: String,
        status: u16,
        message: String,
    },
    /// Forward matching requests, then hold the daemon's answer for `delay` before relaying
    /// it: a request in flight, that the daemon has carried out while the client still waits.
    DelayResponse {
        method: String,
        path_prefix: String,
        delay: std::time::Duration,
    },
    /// Forward matching requests and relay the daemon's response headers and the first chunk
    /// of its body, then nothing more, keeping the connection open: a stream that stalls
    /// mid-way, as a pull from a registry that stopped answering does. Past the headers, so a
    /// client's request timeout does not end it.
    StallBody { method: String, path_prefix: String },
    /// Forward matching requests and relay the daemon's response body one chunk (one progress
    /// message of a pull, as the daemon flushes them) per `per_chunk`: a slow registry as far
    /// as the client can tell, while the daemon does the work at its own pace.
    ThrottleBody {
        method: String,
        path_prefix: String,
        per_chunk: std::time::Duration,
    },
    /// Answer matching requests with 200 and this JSON body, without forwarding them: a
    /// daemon of another kind (Podman, an old engine) as far as that endpoint is concerned.
    Respond {
        method: String,
        path_prefix: String,
        json: String,
    },
}

/// The daemon socket to proxy to: the path in `DOCKER_HOST` when it is a `unix://` address,
/// else `/var/run/docker.sock`.
pub fn local_daemon_socket() -> PathBuf {
    std::env::var("DOCKER_HOST")
        .ok()
        .and_then(|host| host.strip_prefix("unix://").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("/var/run/docker.sock"))
}

/// A running proxy. Dropping it stops it, cuts its open connections and removes its socket.
pub struct DockerProxy {
    socket_path: PathBuf,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    // Declared last so the directory (and the socket in it) goes after the thread has stopped.
    _dir: tempfile::TempDir,
}

/// What the test thread and the proxy thread share.
struct Shared {
    upstream: PathBuf,
    requests: Mutex<Vec<(String, String)>>,
    fault: Mutex<Fault>,
    /// The highest API version passed on (see [`DockerProxy::cap_api_version`]).
    api_cap: Mutex<Option<(u32, u32)>>,
}

impl DockerProxy {
    /// Starts a proxy to the daemon listening on the unix socket `upstream`, on a fresh socket
    /// in a temporary directory.
    ///
    /// The proxy runs on its own thread with its own tokio runtime, so it works from plain
    /// `#[test]`s and outlives any runtime the code under test creates and drops.
    ///
    /// # Errors
    /// When the socket, the runtime or the thread cannot be created.
    pub fn start(upstream: &Path) -> io::Result<DockerProxy> {
        let dir = tempfile::Builder::new()
            .prefix("dockside-proxy-")
            .tempdir()?;
        let socket_path = dir.path().join("docker.sock");
        let listener = std::os::unix::net::UnixListener::bind(&socket_path)?;
        listener.set_nonblocking(true)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        // Registering the listener needs the runtime's reactor; doing it here reports a failure
        // to the caller rather than on the proxy thread.
        let listener = {
            let _entered = runtime.enter();
            UnixListener::from_std(listener)?
        };
        let shared = Arc::new(Shared {
            upstream: upstream.to_owned(),
            requests: Mutex::new(Vec::new()),
            fault: Mutex::new(Fault::None),
            api_cap: Mutex::new(None),
        });
        let (shutdown, stopped) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("docker-proxy".into())
            .spawn({
                let shared = Arc::clone(&shared);
                move || {
                    runtime.block_on(accept_loop(listener, shared, stopped));
                    // Dropping the runtime cancels the connection tasks still running, such as
                    // a followed log stream.
                    drop(runtime);
                }
            })?;
        Ok(DockerProxy {
            socket_path,
            shared,
            shutdown: Some(shutdown),
            thread: Some(thread),
            _dir: dir,
        })
    }

    /// The proxy's socket.
    pub fn socket_path(&self) -> &Path {
        &self.socket_path
    }

    /// The proxy's address for `DOCKER_HOST` or `docker -H`: `unix:///…/docker.sock`.
    pub fn docker_host(&self) -> String {
        format!("unix://{}", self.socket_path.display())
    }

    /// How many requests with this method (case-insensitive) had an unversioned path and query
    /// (`/v1.41/build?t=x` → `/build?t=x`) starting with `path_prefix`. Note that `/build` also
    /// counts `/build/prune`.
    pub fn count(&self, method: &str, path_prefix: &str) -> usize {
        lock(&self.shared.requests)
            .iter()
            .filter(|(m, path)| m.eq_ignore_ascii_case(method) && path.starts_with(path_prefix))
            .count()
    }

    /// Every request seen so far, in arrival order, as (method, unversioned path and query).
    pub fn requests(&self) -> Vec<(String, String)> {
        lock(&self.shared.requests).clone()
    }

    /// Asserts exactly one build went through and it asked for the classic builder
    /// (`version=1`, no BuildKit session).
    pub fn assert_one_classic_build(&self) {
        let builds: Vec<String> = self
            .requests()
            .into_iter()
            .filter(|(method, path)| method == "POST" && path.starts_with("/build?"))
            .map(|(_, path)| path)
            .collect();
        assert_eq!(builds.len(), 1, "{builds:?}");
        assert!(
            builds[0].contains("version=1") && !builds[0].contains("session="),
            "{}",
            builds[0]
        );
        assert_eq!(self.count("POST", "/session"), 0);
    }

    /// Forgets the requests seen so far. The fault stays.
    pub fn reset(&self) {
        lock(&self.shared.requests).clear();
    }

    /// From now on, passes a request for a newer API version than `major.minor` on as a request
    /// for `major.minor` (`/v1.53/containers/create` → `/v1.41/containers/create`): for clients
    /// that ask for a fixed version without negotiating, such as testcontainers-rs 0.28 (bollard's
    /// default 1.53), which a daemon of an older API otherwise refuses ("client version 1.53 is
    /// too new").
    pub fn cap_api_version(&self, major: u32, minor: u32) {
        *lock(&self.shared.api_cap) = Some((major, minor));
    }

    /// Sets the fault applied to requests from now on; [`Fault::None`] ends injection.
    pub fn inject(&self, fault: Fault) {
        *lock(&self.shared.fault) = fault;
    }
}

impl Drop for DockerProxy {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            // An error means the proxy thread is gone already; there is nothing left to stop.
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            // A panic on the proxy thread has been printed already; re-raising it from drop
            // could abort the process during unwinding.
            let _ = thread.join();
        }
    }
}

/// A poisoned lock only means a test thread panicked while holding it; the data (a request log,
/// a fault setting) is still consistent, so keep going.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn accept_loop(
    listener: UnixListener,
    shared: Arc<Shared>,
    mut stopped: oneshot::Receiver<()>,
) {
    loop {
        tokio::select! {
            // A message or a dropped sender: either way the proxy is done.
            _ = &mut stopped => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(serve_connection(stream, Arc::clone(&shared)));
                }
                Err(e) => {
                    // Out of file descriptors and the like: say so and retry after a breath
                    // rather than spinning or giving up on the whole test.
                    eprintln!("docker proxy: accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            },
        }
    }
}

async fn serve_connection(stream: UnixStream, shared: Arc<Shared>) {
    // hyper calls the service for one request at a time per connection, so the upstream
    // connection is never contended; the mutex only satisfies `Fn` + `'static`.
    let upstream = Arc::new(tokio::sync::Mutex::new(Upstream::new(
        shared.upstream.clone(),
    )));
    let service = service_fn(move |request| {
        let shared = Arc::clone(&shared);
        let upstream = Arc::clone(&upstream);
        async move { handle(request, &shared, &upstream).await }
    });
    // Errors here are the client going away or an injected `DropConnection`: nothing to report.
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades()
        .await;
}

async fn handle(
    mut request: Request<Incoming>,
    shared: &Shared,
    upstream: &tokio::sync::Mutex<Upstream>,
) -> Result<Response<ProxyBody>, io::Error> {
    let method = request.method().as_str().to_owned();
    let path = request
        .uri()
        .path_and_query()
        .map_or_else(|| request.uri().path(), |pq| pq.as_str());
    let path = unversioned(path).to_owned();
    lock(&shared.requests).push((method.clone(), path.clone()));

    let fault = lock(&shared.fault).clone();
    match &fault {
        Fault::DropConnection {
            method: m,
            path_prefix,
        } if matches(m, path_prefix, &method, &path) => {
            // A service error makes hyper close the connection without writing a response.
            return Err(io::Error::other(format!(
                "injected fault: dropped {method} {path}"
            )));
        }
        Fault::Respond {
            method: m,
            path_prefix,
            json,
        } if matches(m, path_prefix, &method, &path) => {
            let mut response = Response::new(full(json.clone()));
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            return Ok(response);
        }
        Fault::ErrorStatus {
            method: m,
            path_prefix,
            status,
            message,
        } if matches(m, path_prefix, &method, &path) => {
            // Read the whole request first, as the daemon would: answering while the client is
            // still streaming a build context makes it fail with a send error instead of
            // reading the answer.
            let _ = request.into_body().collect().await;
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return Ok(error_response(status, message));
        }
        _ => {}
    }

    if let Some(cap) = *lock(&shared.api_cap) {
        cap_version(&mut request, cap);
    }
    // Claim the client side of a possible upgrade before the request is handed on.
    let downstream_upgrade = hyper::upgrade::on(&mut request);
    let mut response = match upstream.lock().await.send(request).await {
        Ok(response) => response,
        Err(e) => {
            let message = format!("docker proxy: upstream {}: {e}", shared.upstream.display());
            return Ok(error_response(StatusCode::BAD_GATEWAY, &message));
        }
    };

    if let Fault::DelayResponse {
        method: m,
        path_prefix,
        delay,
    } = &fault
    {
        if matches(m, path_prefix, &method, &path) {
            tokio::time::sleep(*delay).await;
        }
    }

    if let Fault::StallBody {
        method: m,
        path_prefix,
    } = &fault
    {
        if matches(m, path_prefix, &method, &path) {
            return Ok(stall_after_first_chunk(response));
        }
    }

    if let Fault::ThrottleBody {
        method: m,
        path_prefix,
        per_chunk,
    } = &fault
    {
        if matches(m, path_prefix, &method, &path) {
            return Ok(throttled(response, *per_chunk));
        }
    }

    if response.status() == StatusCode::SWITCHING_PROTOCOLS {
        let upstream_upgrade = hyper::upgrade::on(&mut response);
        tokio::spawn(async move {
            // Both sides complete their upgrade once the 101 has been relayed downstream.
            if let (Ok(down), Ok(up)) = tokio::join!(downstream_upgrade, upstream_upgrade) {
                let _ =
                    tokio::io::copy_bidirectional(&mut TokioIo::new(down), &mut TokioIo::new(up))
                        .await;
            }
        });
        return Ok(response.map(BodyExt::boxed_unsync));
    }

    if fault == Fault::AlreadyExistsAfterBuild
        && method == "POST"
        && path_only(&path) == "/build"
        && response.status().is_success()
    {
        if let Some(tag) = query_param(&path, "t") {
            return Ok(append_already_exists(response, &tag));
        }
    }
    Ok(response.map(BodyExt::boxed_unsync))
}

/// `response` with only the first frame of its body relayed, and then a body that never ends.
fn stall_after_first_chunk(response: Response<Incoming>) -> Response<ProxyBody> {
    response.map(|body| {
        let frames = BodyStream::new(body)
            .take(1)
            .chain(futures_util::stream::pending());
        StreamBody::new(frames).boxed_unsync()
    })
}

/// `response` with each frame of its body held for `per_chunk` before it is relayed.
fn throttled(response: Response<Incoming>, per_chunk: std::time::Duration) -> Response<ProxyBody> {
    response.map(|body| {
        let frames = BodyStream::new(body).then(move |frame| async move {
            tokio::time::sleep(per_chunk).await;
            frame
        });
        StreamBody::new(frames).boxed_unsync()
    })
}

fn matches(fault_method: &str, prefix: &str, method: &str, path: &str) -> bool {
    fault_method.eq_ignore_ascii_case(method) && path.starts_with(prefix)
}

/// One upstream connection, made on first use and remade when the daemon closed it.
struct Upstream {
    socket: PathBuf,
    sender: Option<SendRequest<Incoming>>,
}

impl Upstream {
    fn new(socket: PathBuf) -> Upstream {
        Upstream {
            socket,
            sender: None,
        }
    }

    async fn send(
        &mut self,
        request: Request<Incoming>,
    ) -> Result<Response<Incoming>, Box<dyn std::error::Error + Send + Sync>> {
        // `ready` fails once the daemon has closed the kept-alive connection.
        let reusable = match self.sender.as_mut() {
            Some(sender) => sender.ready().await.is_ok(),
            None => false,
        };
        let mut sender = match self.sender.take() {
            Some(sender) if reusable => sender,
            _ => self.connect().await?,
        };
        let response = sender.send_request(request);
        self.sender = Some(sender);
        Ok(response.await?)
    }

    async fn connect(
        &self,
    ) -> Result<SendRequest<Incoming>, Box<dyn std::error::Error + Send + Sync>> {
        let stream = UnixStream::connect(&self.socket).await?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            // Ends when the daemon or the proxy closes the connection; a failed request has
            // already reported its error through `send_request`.
            let _ = connection.with_upgrades().await;
        });
        Ok(sender)
    }
}

fn error_response(status: StatusCode, message: &str) -> Response<ProxyBody> {
    let body = serde_json::json!({ "message": message }).to_string();
    let mut response = Response::new(full(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn full(text: String) -> ProxyBody {
    Full::new(Bytes::from(text))
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// The build's own stream, then the line BuildKit ends with when the tag appeared meanwhile.
fn append_already_exists(response: Response<Incoming>, tag: &str) -> Response<ProxyBody> {
    let message = format!("image \"{}\": already exists", qualified(tag));
    let line = serde_json::json!({ "errorDetail": { "message": message }, "error": message });
    // Docker ends each JSON message of a stream with CRLF.
    let line = Bytes::from(format!("{line}\r\n"));
    let (mut parts, body) = response.into_parts();
    // The body grows, so a length the daemon announced would be wrong; hyper chunks it instead.
    parts.headers.remove(CONTENT_LENGTH);
    let frames = BodyStream::new(body).chain(futures_util::stream::iter([Ok(Frame::data(line))]));
    Response::from_parts(parts, StreamBody::new(frames).boxed_unsync())
}

/// The reference as the daemon spells it in that message: registry and namespace made
/// explicit (`x:y` → `docker.io/library/x:y`), `latest` when no tag was given.
fn qualified(reference: &str) -> String {
    let (name, suffix) = match reference.find('@') {
        Some(at) => reference.split_at(at),
        None => match reference.rfind(':') {
            Some(colon) if !reference[colon..].contains('/') => reference.split_at(colon),
            _ => (reference, ""),
        },
    };
    let suffix = if suffix.is_empty() { ":latest" } else { suffix };
    let name = match name.split_once('/') {
        None => format!("docker.io/library/{name}"),
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => name.to_owned(),
        Some(_) => format!("docker.io/{name}"),
    };
    format!("{name}{suffix}")
}

/// `/v1.41/containers/json?all=1` → `/containers/json?all=1`; unversioned paths stay as they
/// are (`/version` is not a version prefix).
fn unversioned(path: &str) -> &str {
    let Some(rest) = path.strip_prefix("/v") else {
        return path;
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let version = &rest[..end];
    let is_version = version.starts_with(|c: char| c.is_ascii_digit())
        && version.chars().all(|c| c.is_ascii_digit() || c == '.');
    match &rest[end..] {
        remainder if is_version && remainder.starts_with('/') => remainder,
        _ if is_version => "/",
        _ => path,
    }
}

/// Rewrites the request's `/vX.Y/` prefix to the cap when X.Y is newer.
fn cap_version(request: &mut Request<Incoming>, (major, minor): (u32, u32)) {
    let Some(path_and_query) = request
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str().to_owned())
    else {
        return;
    };
    let rest = unversioned(&path_and_query);
    let Some(version) = path_and_query
        .strip_prefix("/v")
        .and_then(|v| v.strip_suffix(rest))
    else {
        return;
    };
    let asked = version
        .split_once('.')
        .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)));
    if asked.is_some_and(|asked| asked > (major, minor)) {
        if let Ok(uri) = format!("/v{major}.{minor}{rest}").parse() {
            *request.uri_mut() = uri;
        }
    }
}

fn path_only(path_and_query: &str) -> &str {
    path_and_query.split('?').next().unwrap_or(path_and_query)
}

/// The first value of a query parameter, percent-decoded.
fn query_param(path_and_query: &str, key: &str) -> Option<String> {
    let (_, query) = path_and_query.split_once('?')?;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == key).then(|| percent_decode(v))
    })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (escaped, bytes[i]) {
            (Some(byte), _) => {
                out.push(byte);
                i += 3;
            }
            (None, b'+') => {
                out.push(b' ');
                i += 1;
            }
            (None, byte) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_only_a_version_prefix() {
        assert_eq!(unversioned("/v1.41/build?t=x"), "/build?t=x");
        assert_eq!(unversioned("/v1.41"), "/");
        assert_eq!(unversioned("/version"), "/version");
        assert_eq!(unversioned("/v1.41/version"), "/version");
        assert_eq!(unversioned("/_ping"), "/_ping");
        assert_eq!(unversioned("/vx/images"), "/vx/images");
    }

    #[test]
    fn qualifies_references_like_the_daemon() {
        assert_eq!(qualified("x:y"), "docker.io/library/x:y");
        assert_eq!(qualified("x"), "docker.io/library/x:latest");
        assert_eq!(qualified("me/x:1"), "docker.io/me/x:1");
        assert_eq!(qualified("localhost:5000/x"), "localhost:5000/x:latest");
        assert_eq!(qualified("ghcr.io/o/x:pr-1"), "ghcr.io/o/x:pr-1");
    }

    #[test]
    fn reads_percent_encoded_query_parameters() {
        let path = "/build?q=1&t=dockside%2Fweb%3Aabc&t=other";
        assert_eq!(query_param(path, "t").as_deref(), Some("dockside/web:abc"));
        assert_eq!(query_param(path, "missing"), None);
        assert_eq!(query_param("/build", "t"), None);
    }
}
