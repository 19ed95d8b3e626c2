//! Containers: the handle a test receives, and how they are started, awaited and removed.

mod control;
pub(crate) mod courier;
pub(crate) mod shared;
mod spec;
pub(crate) mod start;
mod wait;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, RwLock};

use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::query_parameters::LogsOptionsBuilder;
use bollard::Docker;
use futures_util::StreamExt;

use crate::docker;
use crate::error::{daemon_words, Error, Result};

pub use spec::{ContainerSpec, Probe, ProbeOutcome, Wait};

/// A running container, handed to a test by `#[docker_test]`.
///
/// Cloning is cheap and every clone names the same container. The container is removed after
/// the test by the code `#[docker_test]` generates, not when a handle is dropped.
#[derive(Clone)]
pub struct Container {
    inner: Arc<Inner>,
}

struct Inner {
    id: String,
    name: String,
    image: String,
    /// Container port → host port on [`Inner::host_ip`]. Behind a lock because a restart
    /// ([`Container::start`] after [`Container::stop`]) gets new ephemeral host ports.
    ports: RwLock<HashMap<u16, u16>>,
    host_ip: IpAddr,
}

/// What a command run with [`Container::exec`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecOutput {
    /// The command's exit code.
    pub exit_code: i64,
    /// What it wrote to stdout, decoded as UTF-8 (invalid bytes replaced).
    pub stdout: String,
    /// What it wrote to stderr, decoded likewise.
    pub stderr: String,
}

impl Container {
    pub(crate) fn new(id: String, name: String, image: String, ports: HashMap<u16, u16>) -> Self {
        let host_ip = daemon_host_ip();
        Container {
            inner: Arc::new(Inner {
                id,
                name,
                image,
                ports: RwLock::new(ports),
                host_ip,
            }),
        }
    }

    /// The container's ID.
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// The parameter name the container was given, also its host name on the test's network.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The image reference the container runs (the tag or reference the test asked for).
    pub fn image(&self) -> &str {
        &self.inner.image
    }

    /// The host port that container port `port` is published on.
    ///
    /// # Panics
    /// When `port` was not listed in `ports`: a test asking for it is wrong, not unlucky. The
    /// panic points at the caller's line.
    #[track_caller]
    pub fn host_port(&self, port: u16) -> u16 {
        let host_port = self.ports().get(&port).copied();
        match host_port {
            Some(host_port) => host_port,
            None => panic!(
                "container {} ({}) does not publish port {port}; add it to `ports` (published: {:?})",
                self.inner.name,
                self.short_id(),
                self.published_ports()
            ),
        }
    }

    /// The host address that reaches container port `port`, ready to connect to.
    ///
    /// # Panics
    /// When `port` was not listed in `ports`, pointing at the caller's line.
    #[track_caller]
    pub fn addr(&self, port: u16) -> SocketAddr {
        SocketAddr::new(self.inner.host_ip, self.host_port(port))
    }

    /// The published container ports, sorted.
    pub fn published_ports(&self) -> Vec<u16> {
        let mut ports: Vec<u16> = self.ports().keys().copied().collect();
        ports.sort_unstable();
        ports
    }

    fn ports(&self) -> std::sync::RwLockReadGuard<'_, HashMap<u16, u16>> {
        // Each write replaces the whole map, so a panic elsewhere cannot leave it half-updated.
        self.inner.ports.read().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn short_id(&self) -> &str {
        &self.inner.id[..self.inner.id.len().min(12)]
    }

    /// Everything the container wrote to stdout and stderr so far, interleaved as written.
    pub async fn logs(&self) -> Result<String> {
        self.log_tail(&docker::connect().await?, None).await
    }

    /// The last `lines` lines of the container's output (all of it with `None`).
    pub(crate) async fn log_tail(&self, docker: &Docker, lines: Option<usize>) -> Result<String> {
        let tail = lines.map_or_else(|| "all".to_owned(), |n| n.to_string());
        let options = LogsOptionsBuilder::new()
            .stdout(true)
            .stderr(true)
            .tail(&tail)
            .build();
        let mut stream = docker.logs(self.id(), Some(options));
        let mut text = String::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| self.failed("reading logs", e))?;
            text.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
        }
        Ok(text)
    }

    /// Runs `cmd` in the container and collects its exit code and output.
    ///
    /// ```no_run
    /// # async fn f(web: dockside::Container) -> dockside::Result<()> {
    /// let out = web.exec(["/fixture", "env"]).await?;
    /// assert_eq!(out.exit_code, 0);
    /// # Ok(()) }
    /// ```
    pub async fn exec(
        &self,
        cmd: impl IntoIterator<Item = impl Into<String>>,
    ) -> Result<ExecOutput> {
        let cmd: Vec<String> = cmd.into_iter().map(Into::into).collect();
        self.exec_on(&docker::connect().await?, cmd).await
    }

    /// [`Container::exec`] through a client the caller already has (the readiness checks').
    pub(crate) async fn exec_on(&self, docker: &Docker, cmd: Vec<String>) -> Result<ExecOutput> {
        let action = format!("exec of {cmd:?}");
        let options = CreateExecOptions {
            cmd: Some(cmd.clone()),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            ..Default::default()
        };
        let exec = docker
            .create_exec(self.id(), options)
            .await
            .map_err(|e| self.failed(&action, e))?;
        let mut output = ExecOutput {
            exit_code: -1,
            stdout: String::new(),
            stderr: String::new(),
        };
        if let StartExecResults::Attached {
            output: mut stream, ..
        } = docker
            .start_exec(&exec.id, None)
            .await
            .map_err(|e| self.failed(&action, e))?
        {
            while let Some(chunk) = stream.next().await {
                match chunk.map_err(|e| self.failed(&action, e))? {
                    bollard::container::LogOutput::StdErr { message } => {
                        output.stderr.push_str(&String::from_utf8_lossy(&message))
                    }
                    other => output
                        .stdout
                        .push_str(&String::from_utf8_lossy(&other.into_bytes())),
                }
            }
        }
        let inspected = docker
            .inspect_exec(&exec.id)
            .await
            .map_err(|e| self.failed(&action, e))?;
        output.exit_code = inspected.exit_code.unwrap_or(-1);
        Ok(output)
    }

    /// How messages name the container: its name and short ID.
    fn describe(&self) -> String {
        format!("{} ({})", self.name(), self.short_id())
    }

    /// The daemon's error `err` answering `action` on this container.
    fn failed(&self, action: &str, err: bollard::errors::Error) -> Error {
        Error::Container {
            container: self.describe(),
            action: action.to_owned(),
            message: daemon_words(&err),
            source: Some(err.into()),
        }
    }
}

impl std::fmt::Debug for Container {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Container")
            .field("name", &self.inner.name)
            .field("id", &self.short_id())
            .field("image", &self.inner.image)
            .field("ports", &*self.ports())
            .finish()
    }
}

/// The address published ports are reached at (see [`crate::endpoint::publish`]).
fn daemon_host_ip() -> IpAddr {
    crate::endpoint::publish(&crate::endpoint::docker_host()).reach
}
