//! Removal off the test's clock: a detached process carries the removal requests to the daemon,
//! so the test's process does not sit through the kill and removal (about 200 ms a container on
//! Docker 20.10, most of it the kill: the daemon answers a SIGKILL only once the container has
//! exited, so killing with auto-remove set would not answer sooner, and auto-remove would also
//! remove a container the test stopped to start again, or whose command returned).
//!
//! The courier is a helper of [`crate::process::detached`]: out of the test's session and
//! process group, holding none of its files, and ended by the OS after [`COURIER_LIMIT_SECS`].
//! What it fails to remove keeps its labels, owner included, and the start-up sweep of a later
//! process removes it once this process is gone.

use crate::process::detached;

/// The longest a courier works before `SIGALRM` ends it.
const COURIER_LIMIT_SECS: u32 = 60;

/// Hands the removal of `containers` (with their anonymous volumes), and then of `network`, to a
/// detached process. `api_version` is the version the daemon settled on (`1.41`).
///
/// Returns `false`, having done nothing, when it cannot: a daemon reached with TLS or SSH (more
/// than a courier may do; a unix socket or plain `tcp://` is fine), or a failed `fork`; the
/// caller removes them itself.
pub(crate) fn hand_off(api_version: &str, containers: &[String], network: Option<&str>) -> bool {
    if containers.is_empty() && network.is_none() {
        return true;
    }
    let Ok(daemon) = detached::daemon_address() else {
        return false;
    };
    let request = |method: &str, path: String| {
        format!(
            "{method} /v{api_version}{path} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n"
        )
        .into_bytes()
    };
    let mut requests: Vec<Vec<u8>> = containers
        .iter()
        .map(|id| request("DELETE", format!("/containers/{id}?force=true&v=true")))
        .collect();
    // After the containers: a network with endpoints cannot be removed.
    requests.extend(network.map(|id| request("DELETE", format!("/networks/{id}"))));
    detached::spawn(None, || {
        // SAFETY: in the helper, async-signal-safe calls on the requests prepared above.
        unsafe {
            libc::alarm(COURIER_LIMIT_SECS);
            let mut answer = [0u8; 512];
            for request in &requests {
                detached::exchange(&daemon, request, &mut answer);
            }
        }
    })
}
