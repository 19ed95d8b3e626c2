//! The connection to the Docker daemon.
//!
//! A client is made per test on that test's tokio runtime and never cached across tests:
//! a bollard client outlives the runtime it was made on only as a broken handle
//! ("runtime dropped the dispatch task").

use bollard::Docker;

use crate::error::{Error, Result};
use crate::{config, endpoint};

/// Connects to the daemon [`endpoint::find`] names and settles on an API version both sides
/// speak: bollard asks for a newer one than older engines accept.
pub(crate) async fn connect() -> Result<Docker> {
    let endpoint = match endpoint::find() {
        Ok(endpoint) => endpoint,
        Err(bad) => {
            let host = bad.tried.last().cloned().unwrap_or_default();
            let source = bollard::errors::Error::from(bad.error);
            return Err(Error::no_daemon(host, bad.tried, source));
        }
    };
    let host = endpoint.host.clone();
    let no_daemon = |e| Error::no_daemon(host.clone(), endpoint.tried.clone(), e);
    let limit = config::docker_timeout();
    let client = match &endpoint.tls {
        Some(tls) => Docker::connect_with_ssl(
            &host,
            &tls.join("key.pem"),
            &tls.join("cert.pem"),
            &tls.join("ca.pem"),
            whole_seconds(limit).as_secs(),
            bollard::API_DEFAULT_VERSION,
        ),
        None => Docker::connect_with_host(&host),
    };
    let docker = client
        .map_err(no_daemon)?
        .with_timeout(whole_seconds(limit));
    match tokio::time::timeout(limit, docker.negotiate_version()).await {
        Ok(negotiated) => negotiated.map_err(no_daemon),
        Err(_) => Err(Error::Timeout {
            what: format!("connecting to the docker daemon at {host}"),
            limit,
            variable: "DOCKSIDE_DOCKER_TIMEOUT",
        }),
    }
}

/// bollard keeps its request timeout in whole seconds, and a 0 s timeout fails every request:
/// round up (at least 1 s). The exact limit is applied around requests by [`within`].
fn whole_seconds(limit: std::time::Duration) -> std::time::Duration {
    let secs = limit.as_secs() + u64::from(limit.subsec_nanos() > 0);
    std::time::Duration::from_secs(secs.max(1))
}

/// Runs one request (`what`, for the message) under the per-request limit
/// `DOCKSIDE_DOCKER_TIMEOUT`, to the millisecond.
pub(crate) async fn within<T>(
    what: impl FnOnce() -> String,
    work: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    bounded(
        what,
        config::docker_timeout(),
        "DOCKSIDE_DOCKER_TIMEOUT",
        work,
    )
    .await
}

/// Runs `work` for at most `limit`; on expiry the error names `what`, the limit and the
/// `variable` that changes it.
pub(crate) async fn bounded<T>(
    what: impl FnOnce() -> String,
    limit: std::time::Duration,
    variable: &'static str,
    work: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    tokio::time::timeout(limit, work).await.unwrap_or_else(|_| {
        Err(Error::Timeout {
            what: what(),
            limit,
            variable,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bollard_gets_whole_seconds_rounded_up() {
        assert_eq!(
            whole_seconds(Duration::from_millis(500)),
            Duration::from_secs(1)
        );
        assert_eq!(whole_seconds(Duration::ZERO), Duration::from_secs(1));
        assert_eq!(
            whole_seconds(Duration::from_millis(2001)),
            Duration::from_secs(3)
        );
        assert_eq!(
            whole_seconds(Duration::from_secs(600)),
            Duration::from_secs(600)
        );
    }
}
