//! Readiness: a container is handed over only when what the test needs really works.
//!
//! Docker's host-side port accepts TCP connections before the server inside listens, so "the
//! port is open" proves nothing. For a local daemon the server's socket is looked up in the
//! container's own /proc network table; for a remote one a connection through the published
//! port must stay open rather than being reset at once.

use std::time::{Duration, Instant};

use bollard::models::{ContainerInspectResponse, ContainerStateStatusEnum, HealthStatusEnum};
use bollard::query_parameters::InspectContainerOptions;
use bollard::Docker;
use regex::Regex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{Container, ContainerSpec, Wait};
use crate::config;
use crate::error::{daemon_words, Error, Result};

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
    let mut pending: Vec<(Wait, Option<Regex>)> = Vec::with_capacity(waits.len());
    for wait in waits {
        let regex = match &wait {
            Wait::Log(pattern) => Some(Regex::new(pattern).map_err(|e| Error::Start {
                image: container.image().to_owned(),
                message: format!("invalid log pattern /{pattern}/: {e}"),
            })?),
            _ => None,
        };
        pending.push((wait, regex));
    }
    // Nothing to wait for: hand the container over as it is, even one whose command already
    // returned (a one-shot container is not an error).
    if pending.is_empty() {
        return Ok(());
    }
    let mut delay = Duration::from_millis(20);
    let mut first = Some(State::from(inspected));
    loop {
        let state = match first.take() {
            Some(state) => state,
            None => State::of(docker, container).await?,
        };
        if let Some(exit_code) = state.exited {
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
        while let Some((wait, regex)) = checks.next() {
            // One deadline for the whole phase: a check that never returns (a custom probe
            // stuck on a connection) is cut off when the time is up, like a failing one.
            let left = timeout.saturating_sub(started.elapsed());
            let checked = tokio::time::timeout(
                left,
                check(docker, container, &state, &wait, regex.as_ref()),
            )
            .await;
            let Ok(checked) = checked else {
                still.push((wait, regex));
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
                Check::NotYet => still.push((wait, regex)),
                Check::Never(reason) => {
                    return Err(not_ready(
                        docker,
                        container,
                        format!("{wait} ({reason})"),
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
        tokio::time::sleep(delay.min(timeout.saturating_sub(started.elapsed()))).await;
        delay = (delay * 2).min(Duration::from_millis(250));
    }
}

fn describe(pending: &[(Wait, Option<Regex>)]) -> String {
    pending
        .iter()
        .map(|(w, _)| w.to_string())
        .collect::<Vec<_>>()
        .join(" and ")
}

async fn not_ready(
    docker: &Docker,
    container: &Container,
    awaited: String,
    elapsed: Duration,
    exit_code: Option<i32>,
) -> Error {
    let logs = container
        .log_tail(docker, Some(config::log_lines()))
        .await
        .unwrap_or_else(|e| format!("(logs unavailable: {e})"));
    Error::NotReady {
        container: format!("{} ({})", container.name(), container.short_id()),
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
    health: Option<HealthStatusEnum>,
}

impl State {
    async fn of(docker: &Docker, container: &Container) -> Result<State> {
        let inspected = docker
            .inspect_container(container.id(), None::<InspectContainerOptions>)
            .await
            .map_err(|e| Error::Container {
                container: format!("{} ({})", container.name(), container.short_id()),
                action: "inspect".to_owned(),
                message: daemon_words(&e),
            })?;
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
            health: state.health.and_then(|h| h.status),
        }
    }
}

enum Check {
    Ready,
    NotYet,
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
    let ready = |ok: bool| if ok { Check::Ready } else { Check::NotYet };
    match wait {
        Wait::Port(port) => ready(port_ready(container, state, *port).await),
        Wait::Http(port, path) => ready(http_ok(container, *port, path).await),
        Wait::Log(_) => match (container.log_tail(docker, None).await, regex) {
            (Ok(logs), Some(regex)) => ready(logs.lines().any(|line| regex.is_match(line))),
            _ => Check::NotYet,
        },
        Wait::Healthy => match state.health {
            Some(HealthStatusEnum::HEALTHY) => Check::Ready,
            None | Some(HealthStatusEnum::NONE | HealthStatusEnum::EMPTY) => Check::Never(
                "the image has no HEALTHCHECK; give one with `healthcheck = [...]`".to_owned(),
            ),
            _ => Check::NotYet,
        },
        Wait::Custom(probe) => ready(probe(container.clone()).await.is_ok()),
    }
}

async fn port_ready(container: &Container, state: &State, port: u16) -> bool {
    let own_pid = state
        .pid
        .filter(|pid| is_container_process(*pid, container.id()));
    if let Some(listening) = own_pid.and_then(|pid| listens_in_proc(pid, port)) {
        return listening;
    }
    match container.published_ports().contains(&port) {
        true => survives_connection(container.addr(port)).await,
        false => false,
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

async fn http_ok(container: &Container, port: u16, path: &str) -> bool {
    if !container.published_ports().contains(&port) {
        return false;
    }
    let attempt = async {
        let mut stream = TcpStream::connect(container.addr(port)).await.ok()?;
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut head = [0u8; 32];
        let mut read = 0;
        while read < 12 {
            let n = stream.read(&mut head[read..]).await.ok()?;
            if n == 0 {
                break;
            }
            read += n;
        }
        // "HTTP/1.1 204 ..." — the status code is the second word.
        let text = String::from_utf8_lossy(&head[..read]).into_owned();
        let status: u16 = text.split_whitespace().nth(1)?.parse().ok()?;
        Some((200..300).contains(&status))
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(2), attempt).await,
        Ok(Some(true))
    )
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
    fn reads_listen_entries() {
        let listen = "   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 8650 1";
        let established = "   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 8651 1";
        assert!(is_listen_entry(listen, 8080));
        assert!(!is_listen_entry(listen, 8081));
        assert!(!is_listen_entry(established, 8080));
    }
}
