//! Where an engine serving the Docker API answers differently from Docker, and how dockside
//! copes. What cannot be coped with is listed in the README's engines section.
//!
//! Podman 4 reports a container whose process has ended, but whose exit Podman has not yet
//! recorded, with the state `stopped`, which the Docker API does not have. bollard refuses the
//! whole answer (`unknown variant `stopped``) in an inspect and in a listing. The state lasts a
//! few milliseconds before it becomes `exited`, so such a request is sent again.
//!
//! Podman runs health checks from systemd timers: without systemd none ever runs, and a
//! `healthy` wait that times out says so.

use std::future::Future;
use std::time::Duration;

use bollard::errors::Error as DaemonError;
use bollard::models::{ContainerInspectResponse, ContainerSummary, SystemVersion};
use bollard::query_parameters::{InspectContainerOptions, ListContainersOptions};
use bollard::Docker;

/// What a timed-out `healthy` wait adds when the daemon is Podman and no check ever finished.
pub(crate) const PODMAN_HEALTH_HINT: &str = "Podman runs health checks from systemd timers, \
     and none has run: without systemd, wait for `http(...)`, `log(...)` or a `custom` probe";

/// Whether the daemon's `GET /version` answer says it is Podman (in its platform's name or a
/// component's, as Podman 4 fills them).
pub(crate) fn is_podman(daemon: &SystemVersion) -> bool {
    let platform = daemon.platform.as_ref().map(|p| p.name.as_str());
    let components = daemon.components.iter().flatten().map(|c| c.name.as_str());
    platform
        .into_iter()
        .chain(components)
        .any(|name| name.to_ascii_lowercase().contains("podman"))
}

/// Asks the daemon whether it is Podman; `false` when it does not answer. One request: for a
/// failure's explanation, not for every test.
pub(crate) async fn daemon_is_podman(docker: &Docker) -> bool {
    docker
        .version()
        .await
        .is_ok_and(|version| is_podman(&version))
}

/// Inspects container `id`, asking again while the answer holds Podman's transient state
/// ([`settled`]): every inspect of a container goes through here.
pub(crate) async fn inspect_container(
    docker: &Docker,
    id: &str,
) -> Result<ContainerInspectResponse, DaemonError> {
    settled(|| docker.inspect_container(id, None::<InspectContainerOptions>)).await
}

/// Lists containers, asking again while the answer holds Podman's transient state
/// ([`settled`]): every listing of containers goes through here.
pub(crate) async fn list_containers(
    docker: &Docker,
    options: ListContainersOptions,
) -> Result<Vec<ContainerSummary>, DaemonError> {
    settled(|| docker.list_containers(Some(options.clone()))).await
}

/// How long a request is retried while the answer holds Podman's `stopped` state: the state
/// lasts milliseconds, so this only bounds a daemon that never leaves it.
const TRANSIENT_STATE_LIMIT: Duration = Duration::from_secs(2);
/// The pause between two tries.
const TRANSIENT_STATE_PAUSE: Duration = Duration::from_millis(20);

/// Sends `request` until its answer no longer holds a transient state the Docker API lacks, at
/// most [`TRANSIENT_STATE_LIMIT`]; then the last answer, error or not.
async fn settled<T, F, Fut>(request: F) -> Result<T, DaemonError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, DaemonError>>,
{
    settled_within(TRANSIENT_STATE_LIMIT, request).await
}

async fn settled_within<T, F, Fut>(limit: Duration, mut request: F) -> Result<T, DaemonError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, DaemonError>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match request().await {
            Err(e) if is_transient_state(&e) && tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(TRANSIENT_STATE_PAUSE).await;
            }
            answer => return answer,
        }
    }
}

/// Whether `error` is bollard refusing an answer for a state only Podman reports.
fn is_transient_state(error: &DaemonError) -> bool {
    matches!(error, DaemonError::JsonDataError { message, .. }
        if message.contains("unknown variant `stopped`"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn podman_stopped() -> DaemonError {
        DaemonError::JsonDataError {
            message: "unknown variant `stopped`, expected one of ``, `created`, `running`"
                .to_owned(),
            column: 190,
        }
    }

    #[tokio::test]
    async fn a_transient_state_is_asked_again_and_other_errors_are_not() {
        let tries = AtomicUsize::new(0);
        let answer = settled(|| async {
            match tries.fetch_add(1, Ordering::SeqCst) {
                0 | 1 => Err(podman_stopped()),
                _ => Ok("exited"),
            }
        })
        .await;
        assert_eq!(
            (answer.unwrap(), tries.load(Ordering::SeqCst)),
            ("exited", 3)
        );

        let tries = AtomicUsize::new(0);
        let other = settled(|| async {
            tries.fetch_add(1, Ordering::SeqCst);
            Err::<(), _>(DaemonError::RequestTimeoutError)
        })
        .await;
        assert!(other.is_err());
        assert_eq!(tries.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_state_that_never_settles_ends_with_the_last_answer() {
        let limit = Duration::from_millis(100);
        let started = tokio::time::Instant::now();
        let answer = settled_within(limit, || async { Err::<(), _>(podman_stopped()) }).await;
        assert!(is_transient_state(&answer.unwrap_err()));
        assert!(started.elapsed() >= limit);
    }
}
