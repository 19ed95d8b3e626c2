//! The connection to the Docker daemon.
//!
//! A client is made per test on that test's tokio runtime and never cached across tests:
//! a bollard client outlives the runtime it was made on only as a broken handle
//! ("runtime dropped the dispatch task").

use bollard::Docker;

use crate::config;
use crate::error::{Error, Result};
// `container/cleanup.rs` still reaches the runtime through this module.
pub(crate) use crate::rt::runtime;

/// Connects to the daemon named by `DOCKER_HOST` (or the local socket) and settles on an API
/// version both sides speak: bollard asks for a newer one than older engines accept.
pub(crate) async fn connect() -> Result<Docker> {
    let host = config::docker_host();
    let no_daemon = |e| Error::no_daemon(host.clone(), e);
    let docker = Docker::connect_with_defaults()
        .map_err(no_daemon)?
        .with_timeout(config::docker_timeout());
    docker.negotiate_version().await.map_err(no_daemon)
}

/// Whether `DOCKER_HOST` names a unix socket: dockside then takes the daemon for a local one,
/// whose containers' processes are visible in /proc and whose loopback is the test's.
pub(crate) fn is_local() -> bool {
    config::docker_host().starts_with("unix://")
}
