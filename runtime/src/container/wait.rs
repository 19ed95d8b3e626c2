//! Readiness: a container is handed over only when what the test needs really works.
//!
//! Docker's host-side port accepts TCP connections before the server inside listens, so "the
//! port is open" proves nothing. For a local daemon the server's socket is looked up in the
//! container's own /proc network table; for a remote one a connection through the published
//! port must stay open rather than being reset at once.

use std::time::{Duration, Instant};

use bollard::models::{
    ContainerInspectResponse, ContainerStateStatusEnum, Health, HealthStatusEnum,
};
use bollard::Docker;
use regex::Regex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{Container, ContainerSpec, Wait};
use crate::config;
use crate::error::{seconds, Error, Result};

/// One readiness condition not met yet, with the last answer it got (why it is not met).
struct Pending {
    wait: Wait,
    regex: Option<Regex>,
    last: Option<String>,
}

/// Polls every condition of `spec` until all hold, the container dies, or the timeout passes.
/// `inspected` is the caller's inspect of the just-started container: it serves as the first
/// poll, which saves a round trip.
pub(crate) async fn until_ready(
    docker: &Docker,
    container: &Container,
    spec: &ContainerSpec,
    inspected: ContainerInspectResponse,
) -> Result<()> {
    let waits = spec.effective_waits();
    let timeout = spec.startup_timeout.unwrap_or_else(config::startup_timeout);
    let started = Instant::now();
    let mut pending: Vec<Pending> = Vec::with_capacity(waits.len());
    for wait in waits {
        let regex = match &wait {
            Wait::Log { pattern, .. } => Some(Regex::new(pattern).map_err(|e| Error::Start {
                image: container.image().to_owned(),
                message: format!("invalid log pattern /{pattern}/: {e}"),
                source: Some(e.into()),
            })?),
            _ => None,
        };
        pending.push(Pending {
            wait,
            regex,
            last: None,
        });
    }
    if pending.is_empty() {
        return still_running(docker, container, started).await;
    }
    let mut next_delay = Duration::from_millis(20);
    let mut first = Some(State::from(inspected));
    loop {
        let state = match first.take() {
            Some(state) => state,
            None => State::of(docker, container).await?,
        };
        if let Some(exit_code) = state.exited {
            // The one state an exit wait is met in; every other wait fails with it.
            pending.retain(|p| !matches!(p.wait, Wait::Exit(code) if code == exit_code));
            if pending.is_empty() {
                return Ok(());
            }
            // An exit wait's earlier answer ("still running") is stale now: the exit code says
            // how it ended.
            for item in &mut pending {
                if matches!(item.wait, Wait::Exit(_)) {
                    item.last = None;
                }
            }
            let awaited = describe(&pending);
            return Err(not_ready(
                docker,
                container,
                awaited,
                started.elapsed(),
                Some(exit_code),
            )
            .await);
        }
        let mut still = Vec::new();
        let mut checks = pending.into_iter();
        while let Some(mut item) = checks.next() {
            // One deadline for the whole phase: a check that never returns (a custom probe
            // stuck on a connection) is cut off when the time is up, like a failing one.
            let left = timeout.saturating_sub(started.elapsed());
            let checked = tokio::time::timeout(
                left,
                check(docker, container, &state, &item.wait, item.regex.as_ref()),
            )
            .await;
            let Ok(checked) = checked else {
                // A check cut off by the deadline says nothing new: keep the answer before it.
                item.last = item.last.or_else(|| {
                    Some(format!(
                        "the check did not return within {}",
                        seconds(timeout)
                    ))
                });
                still.push(item);
                still.extend(checks);
                return Err(not_ready(
                    docker,
                    container,
                    describe(&still),
                    started.elapsed(),
                    None,
                )
                .await);
            };
            match checked {
                Check::Ready => {}
                Check::NotYet(answer) => {
                    item.last = Some(answer);
                    still.push(item);
                }
                Check::Never(reason) => {
                    return Err(not_ready(
                        docker,
                        container,
                        format!("{} ({reason})", item.wait),
                        started.elapsed(),
                        None,
                    )
                    .await)
                }
            }
        }
        pending = still;
        if pending.is_empty() {
            return Ok(());
        }
        if started.elapsed() >= timeout {
            return Err(not_ready(
                docker,
                container,
                describe(&pending),
                started.elapsed(),
                None,
            )
            .await);
        }
        // Most servers are up within tens of milliseconds of their start: rounds 10 ms apart
        // find them about when they are, where doubling from the first round wasted up to half
        // the time waited. Past that, slow starters are polled less and less often.
        let delay = if started.elapsed() < EAGER {
            EAGER_INTERVAL
        } else {
            let delay = next_delay;
            next_delay = (next_delay * 2).min(POLL_INTERVAL);
            delay
        };
        tokio::time::sleep(delay.min(timeout.saturating_sub(started.elapsed()))).await;
    }
}

/// The longest pause between two rounds of readiness checks: rounds are [`EAGER_INTERVAL`]
/// apart for the first [`EAGER`], then 20 ms, doubling up to this. The README's "When a test
/// fails" section states these figures.
pub(crate) const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// How long after the start of the wait rounds follow each other at [`EAGER_INTERVAL`].
const EAGER: Duration = Duration::from_millis(200);

/// The pause between two rounds during [`EAGER`].
const EAGER_INTERVAL: Duration = Duration::from_millis(10);

/// With nothing to await, "ready" means "still running 100 ms after the start": a command that returned
/// at once (a typo in `cmd`, a missing file) fails here with its exit code and logs instead of
/// reaching the test as a dead container. A container meant to run once and exit awaits
/// `Wait::exit`.
async fn still_running(docker: &Docker, container: &Container, started: Instant) -> Result<()> {
    // The start request returns as the command starts: give a command that fails at once the
    // moment it needs to be seen as exited.
    tokio::time::sleep(EXIT_GRACE).await;
    let state = State::of(docker, container).await?;
    match state.exited {
        None => Ok(()),
        Some(exit_code) => Err(not_ready(
            docker,
            container,
            "nothing (no `ports` and no `wait`): it must keep running".to_owned(),
            started.elapsed(),
            Some(exit_code),
        )
        .await),
    }
}

/// How long after its start a container with nothing to await must still run.
const EXIT_GRACE: Duration = Duration::from_millis(100);

fn describe(pending: &[Pending]) -> String {
    pending
        .iter()
        .map(|p| match &p.last {
            Some(last) => format!("{} (last answer: {last})", p.wait),
            None => p.wait.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" and ")
}

async fn not_ready(
    docker: &Docker,
    container: &Container,
    mut awaited: String,
    elapsed: Duration,
    exit_code: Option<i32>,
) -> Error {
    if awaited.contains(NO_CHECK_FINISHED) && crate::engine::daemon_is_podman(docker).await {
        awaited = format!("{awaited}; {}", crate::engine::PODMAN_HEALTH_HINT);
    }
    let logs = container
        .log_tail(docker, Some(config::log_lines()))
        .await
        .unwrap_or_else(|e| format!("(logs unavailable: {e})"));
    Error::NotReady {
        container: container.describe(),
        image: container.image().to_owned(),
        awaited,
        elapsed,
        exit_code,
        logs,
    }
}

/// What one inspect says about the container.
struct State {
    pid: Option<u32>,
    exited: Option<i32>,
    health: Option<Health>,
}

impl State {
    async fn of(docker: &Docker, container: &Container) -> Result<State> {
        let inspected = crate::engine::inspect_container(docker, container.id())
            .await
            .map_err(|e| container.failed("inspect", e))?;
        Ok(State::from(inspected))
    }
}

impl From<ContainerInspectResponse> for State {
    fn from(inspected: ContainerInspectResponse) -> State {
        let state = inspected.state.unwrap_or_default();
        let exited = matches!(
            state.status,
            Some(ContainerStateStatusEnum::EXITED | ContainerStateStatusEnum::DEAD)
        )
        .then(|| {
            state
                .exit_code
                .and_then(|c| i32::try_from(c).ok())
                .unwrap_or(-1)
        });
        State {
            pid: state
                .pid
                .and_then(|p| u32::try_from(p).ok())
                .filter(|p| *p > 0),
            exited,
            health: state.health,
        }
    }
}

enum Check {
    Ready,
    /// Not yet, with the answer that says why (shown if the time runs out).
    NotYet(String),
    /// Cannot ever succeed; waiting longer would only waste the timeout.
    Never(String),
}

async fn check(
    docker: &Docker,
    container: &Container,
    state: &State,
    wait: &Wait,
    regex: Option<&Regex>,
) -> Check {
    let ready = |answer: std::result::Result<(), String>| match answer {
        Ok(()) => Check::Ready,
        Err(why) => Check::NotYet(why),
    };
    match wait {
        Wait::Port(port) => ready(port_ready(container, state, *port).await),
        Wait::Http(port, path) => ready(http_ok(container, *port, path).await),
        Wait::Log { times, .. } => match (container.log_tail(docker, None).await, regex) {
            (Ok(logs), Some(regex)) => {
                let seen = logs.lines().filter(|line| regex.is_match(line)).count();
                match seen {
                    _ if seen >= *times => Check::Ready,
                    0 => Check::NotYet(last_lines_seen(&logs)),
                    _ => Check::NotYet(format!(
                        "{seen} of {times} seen; {}",
                        last_lines_seen(&logs)
                    )),
                }
            }
            (Ok(logs), None) => Check::NotYet(last_lines_seen(&logs)),
            (Err(e), _) => Check::NotYet(format!("reading the logs failed: {e}")),
        },
        Wait::Healthy => health_check(state.health.as_ref()),
        Wait::Custom(probe) => ready(probe(container.clone()).await),
        Wait::Exit(_) => Check::NotYet("it was still running".to_owned()),
        Wait::Exec(cmd) => match container.exec_on(docker, cmd.clone()).await {
            Ok(output) if output.exit_code == 0 => Check::Ready,
            Ok(output) => Check::NotYet(format!(
                "it exited with code {} and printed {}",
                output.exit_code,
                quoted_or_nothing(&format!("{}{}", output.stdout, output.stderr))
            )),
            Err(e) => Check::NotYet(format!("running it failed: {e}")),
        },
    }
}

/// How many of the last log lines a pending `log` wait shows as its last answer.
const LOG_LINES_SEEN: usize = 3;

fn last_lines_seen(logs: &str) -> String {
    let lines: Vec<&str> = logs.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return "no output yet".to_owned();
    }
    let last = &lines[lines.len().saturating_sub(LOG_LINES_SEEN)..];
    format!("last lines seen: {}", last.join(" | "))
}

/// A `healthy` wait's answer while no health check has finished.
const NO_CHECK_FINISHED: &str = "no check has finished yet";

fn health_check(health: Option<&Health>) -> Check {
    let status = health.and_then(|h| h.status);
    match status {
        Some(HealthStatusEnum::HEALTHY) => Check::Ready,
        None | Some(HealthStatusEnum::NONE | HealthStatusEnum::EMPTY) => Check::Never(
            "the image has no HEALTHCHECK; give one with `healthcheck = [...]`".to_owned(),
        ),
        Some(status) => {
            let last = health
                .and_then(|h| h.log.as_ref())
                .and_then(|log| log.last());
            Check::NotYet(match last {
                None => format!("docker reports {status}, {NO_CHECK_FINISHED}"),
                Some(result) => format!(
                    "docker reports {status}; the last check exited with code {} and printed {}",
                    result.exit_code.unwrap_or(-1),
                    quoted_or_nothing(result.output.as_deref().unwrap_or_default())
                ),
            })
        }
    }
}

/// How many bytes of a body or a check's output an answer quotes.
const QUOTED_BYTES: usize = 120;

fn quoted_or_nothing(text: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        return "nothing".to_owned();
    }
    let mut end = text.len().min(QUOTED_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let more = if end < text.len() { "..." } else { "" };
    format!("{:?}", format!("{}{more}", &text[..end]))
}

async fn port_ready(
    container: &Container,
    state: &State,
    port: u16,
) -> std::result::Result<(), String> {
    let own_pid = state
        .pid
        .filter(|pid| is_container_process(*pid, container.id()));
    match own_pid.and_then(|pid| listens_in_proc(pid, port)) {
        Some(true) => return Ok(()),
        Some(false) => {
            return Err(format!(
                "nothing has listened on port {port} inside the container yet"
            ))
        }
        None => {}
    }
    if !container.published_ports().contains(&port) {
        return Err(format!(
            "port {port} is not published and the container's sockets cannot be seen from here"
        ));
    }
    match survives_connection(container.addr(port)).await {
        true => Ok(()),
        false => Err(format!(
            "connections to {} were refused, reset or closed at once: nothing has listened on port {port} yet",
            container.addr(port)
        )),
    }
}

/// Whether our /proc's process `pid` is the container's: the daemon reports pids of its own pid
/// namespace, which is ours only when the daemon runs beside us (not for a daemon in a VM, or a
/// test running in a container with the daemon's socket). The container's cgroup path names it.
fn is_container_process(pid: u32, container_id: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .is_ok_and(|cgroups| cgroup_names(&cgroups, container_id))
}

fn cgroup_names(cgroups: &str, container_id: &str) -> bool {
    !container_id.is_empty() && cgroups.lines().any(|line| line.contains(container_id))
}

/// Whether the process `pid`'s network namespace has a TCP socket listening on `port`.
/// `None` when its /proc tables cannot be read (a remote daemon, or another pid namespace).
fn listens_in_proc(pid: u32, port: u16) -> Option<bool> {
    let mut readable = false;
    for table in ["tcp", "tcp6"] {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")) else {
            continue;
        };
        readable = true;
        if text.lines().skip(1).any(|line| is_listen_entry(line, port)) {
            return Some(true);
        }
    }
    readable.then_some(false)
}

/// A /proc/net/tcp row: `sl local_address rem_address st ...`, addresses as `HEXIP:HEXPORT`,
/// state `0A` = LISTEN.
fn is_listen_entry(line: &str, port: u16) -> bool {
    let mut fields = line.split_whitespace();
    let local = fields.nth(1);
    let state = fields.nth(1);
    let local_port = local
        .and_then(|l| l.rsplit_once(':'))
        .and_then(|(_, p)| u16::from_str_radix(p, 16).ok());
    local_port == Some(port) && state == Some("0A")
}

/// For a remote daemon: Docker's proxy accepts, then resets or closes at once while nothing
/// listens inside. A connection that stays open (or answers) for a moment is served.
async fn survives_connection(addr: std::net::SocketAddr) -> bool {
    let Ok(Ok(mut stream)) =
        tokio::time::timeout(Duration::from_secs(1), TcpStream::connect(addr)).await
    else {
        return false;
    };
    let mut byte = [0u8; 1];
    match tokio::time::timeout(Duration::from_millis(150), stream.read(&mut byte)).await {
        Err(_elapsed) => true,
        Ok(Ok(n)) => n > 0,
        Ok(Err(_)) => false,
    }
}

async fn http_ok(container: &Container, port: u16, path: &str) -> std::result::Result<(), String> {
    if !container.published_ports().contains(&port) {
        return Err(format!("port {port} is not published; add it to `ports`"));
    }
    let addr = container.addr(port);
    let attempt = async {
        let mut stream = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connecting to {addr}: {e}"))?;
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| format!("sending the request to {addr}: {e}"))?;
        // Enough for the status line and the first bytes of the body, which the answer quotes.
        let mut head = Vec::with_capacity(1024);
        let mut chunk = [0u8; 512];
        while head.len() < 1024 {
            match stream.read(&mut chunk).await {
                Ok(0) => break,
                Ok(n) => head.extend_from_slice(&chunk[..n]),
                Err(e) if head.is_empty() => {
                    return Err(format!("reading the answer from {addr}: {e}"))
                }
                Err(_) => break,
            }
        }
        http_answer(&String::from_utf8_lossy(&head))
    };
    match tokio::time::timeout(HTTP_TIMEOUT, attempt).await {
        Ok(answer) => answer,
        Err(_) => Err(format!(
            "no answer from {addr} within {}",
            seconds(HTTP_TIMEOUT)
        )),
    }
}

/// How long one HTTP readiness request may take.
const HTTP_TIMEOUT: Duration = Duration::from_secs(2);

/// Ready on a 2xx status; otherwise the status line and the first bytes of the body.
fn http_answer(text: &str) -> std::result::Result<(), String> {
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text, ""));
    let status_line = head.lines().next().unwrap_or_default().trim();
    if status_line.is_empty() {
        return Err("the connection closed without an answer".to_owned());
    }
    // "HTTP/1.1 204 No Content": the status code is the second word.
    let status: Option<u16> = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok());
    match status {
        Some(code) if (200..300).contains(&code) => Ok(()),
        Some(_) => Err(format!("{status_line}, body {}", quoted_or_nothing(body))),
        None => Err(format!("not an HTTP answer: {}", quoted_or_nothing(text))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_the_containers_cgroup() {
        let id = "e71f02b50223ed6691c07a6e6447260fd7615dc9619e05a833cf9243f5642372";
        let docker_v1 = format!("9:name=systemd:/docker/{id}\n8:pids:/docker/{id}\n");
        let systemd_v2 = format!("0::/system.slice/docker-{id}.scope\n");
        let podman = format!("0::/machine.slice/libpod-{id}.scope/container\n");
        let someone_else = "0::/user.slice/user-1000.slice/session-2.scope\n";
        for cgroups in [&docker_v1, &systemd_v2, &podman] {
            assert!(cgroup_names(cgroups, id), "{cgroups}");
        }
        assert!(!cgroup_names(someone_else, id));
        assert!(!cgroup_names(&docker_v1, ""));
    }

    /// The probe for daemons whose processes we cannot see: a peer that accepts and then closes
    /// at once (Docker's proxy with nothing listening inside) is not ready; one that keeps the
    /// connection open is.
    #[tokio::test]
    async fn a_connection_closed_at_once_is_not_readiness() {
        let closing = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let closing_addr = closing.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((stream, _)) = closing.accept().await {
                drop(stream);
            }
        });
        let serving = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let serving_addr = serving.local_addr().unwrap();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = serving.accept().await {
                held.push(stream);
            }
        });
        assert!(!survives_connection(closing_addr).await);
        assert!(survives_connection(serving_addr).await);
    }

    #[test]
    fn an_http_answer_that_is_not_2xx_quotes_its_status_line_and_body() {
        assert_eq!(http_answer("HTTP/1.1 204 No Content\r\n\r\n"), Ok(()));
        assert_eq!(
            http_answer("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 9\r\n\r\nmigrating"),
            Err("HTTP/1.1 503 Service Unavailable, body \"migrating\"".to_owned())
        );
        assert_eq!(
            http_answer(""),
            Err("the connection closed without an answer".to_owned())
        );
        let long = format!("HTTP/1.0 500 Oops\r\n\r\n{}", "x".repeat(500));
        let answer = http_answer(&long).unwrap_err();
        assert!(answer.ends_with("...\""), "{answer}");
        assert!(answer.len() < 200, "{answer}");
    }

    #[test]
    fn a_log_wait_shows_the_last_lines_it_saw() {
        assert_eq!(last_lines_seen(""), "no output yet");
        assert_eq!(
            last_lines_seen("a\nb\n\nc\nd\n"),
            "last lines seen: b | c | d"
        );
    }

    #[test]
    fn reads_listen_entries() {
        let listen = "   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 8650 1";
        let established = "   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 8651 1";
        assert!(is_listen_entry(listen, 8080));
        assert!(!is_listen_entry(listen, 8081));
        assert!(!is_listen_entry(established, 8080));
    }
}
