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
    if endpoint.tls.is_none() {
        if let Some((socket, version)) = api_version::known(&host) {
            let docker =
                Docker::connect_with_unix(&socket, whole_seconds(limit).as_secs(), &version);
            return docker.map_err(no_daemon);
        }
    }
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
        Ok(negotiated) => {
            let docker = negotiated.map_err(no_daemon)?;
            api_version::remember(&host, &docker.client_version());
            Ok(docker)
        }
        Err(_) => Err(Error::Timeout {
            what: format!("connecting to the docker daemon at {host}"),
            limit,
            variable: "DOCKSIDE_DOCKER_TIMEOUT",
        }),
    }
}

/// The API version a local daemon settled on, kept so that only the first connection of a
/// process, and only the first process of a while, asks for it (`GET /version` costs every test
/// a round trip, and each test connects several times).
///
/// Kept for unix sockets only, in memory and in `<lock folder>/api-<key>.version`, keyed by the
/// socket's path and identity (device, inode, ctime: a restarted daemon makes a new socket), and
/// trusted for [`api_version::TRUSTED_FOR`]: a daemon upgraded behind a socket that outlives
/// it (systemd socket activation) is asked again after that.
mod api_version {
    use std::os::unix::fs::MetadataExt;
    use std::sync::Mutex;
    use std::time::{Duration, SystemTime};

    use bollard::ClientVersion;
    use sha2::{Digest, Sha256};

    use crate::state_file;

    pub(super) const TRUSTED_FOR: Duration = Duration::from_secs(10 * 60);

    /// This process's answers, by cache key.
    static KNOWN: Mutex<Vec<(String, ClientVersion)>> = Mutex::new(Vec::new());

    /// The socket path and the version to use with it, when known.
    pub(super) fn known(host: &str) -> Option<(String, ClientVersion)> {
        let key = key(host)?;
        let memory = KNOWN.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, version)) = memory.iter().find(|(k, _)| *k == key) {
            return Some((host.to_owned(), *version));
        }
        drop(memory);
        let file = state_file::path(&file_stem(&key), state_file::Kind::Version)?;
        let age = std::fs::symlink_metadata(&file)
            .and_then(|meta| meta.modified())
            .ok()
            .and_then(|modified| SystemTime::now().duration_since(modified).ok())?;
        if age > TRUSTED_FOR {
            return None;
        }
        let version = parse(&state_file::read(&file)?)?;
        remember_in_memory(key, &version);
        Some((host.to_owned(), version))
    }

    pub(super) fn remember(host: &str, version: &ClientVersion) {
        let Some(key) = key(host) else { return };
        if let Some(file) = state_file::path(&file_stem(&key), state_file::Kind::Version) {
            let _ = state_file::write(&file, version.to_string().as_bytes());
        }
        remember_in_memory(key, version);
    }

    fn remember_in_memory(key: String, version: &ClientVersion) {
        let mut memory = KNOWN.lock().unwrap_or_else(|p| p.into_inner());
        memory.retain(|(k, _)| *k != key);
        memory.push((key, *version));
    }

    /// The host plus its socket's identity; `None` for a host that is not a unix socket, or a
    /// socket that is not there.
    fn key(host: &str) -> Option<String> {
        let socket = host.strip_prefix("unix://")?;
        let meta = std::fs::metadata(socket).ok()?;
        Some(format!(
            "{host}\0{}:{}:{}.{}",
            meta.dev(),
            meta.ino(),
            meta.ctime(),
            meta.ctime_nsec()
        ))
    }

    fn file_stem(key: &str) -> String {
        let digest = hex::encode(Sha256::digest(key.as_bytes()));
        format!("api-{}", &digest[..16])
    }

    fn parse(text: &str) -> Option<ClientVersion> {
        let (major, minor) = text.trim().split_once('.')?;
        Some(ClientVersion {
            major_version: major.parse().ok()?,
            minor_version: minor.parse().ok()?,
        })
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn parses_what_it_writes_and_nothing_else() {
            let version = super::parse("1.41").unwrap();
            assert_eq!(version.to_string(), "1.41");
            assert!(super::parse("1.41.2").is_none());
            assert!(super::parse("").is_none());
            assert!(super::parse("1.x").is_none());
        }
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
