//! Removing what this process created: after each test, on SIGINT/SIGTERM, and (for owners
//! killed outright) at the next start-up.

use std::collections::BTreeSet;
use std::sync::Mutex;

use bollard::query_parameters::RemoveContainerOptionsBuilder;
use bollard::Docker;
use once_cell::sync::Lazy;

use crate::error::{daemon_words, is_not_found, Error, Result};

/// Containers and networks this process created and has not removed yet: what a signal
/// handler must remove before the process exits.
#[derive(Default)]
pub(crate) struct Live {
    pub(crate) containers: BTreeSet<String>,
    pub(crate) networks: BTreeSet<String>,
}

static LIVE: Lazy<Mutex<Live>> = Lazy::new(Default::default);

fn live() -> std::sync::MutexGuard<'static, Live> {
    // A panic while holding the lock cannot leave the sets half-updated: each update is one insert.
    LIVE.lock().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn track_container(id: &str) {
    live().containers.insert(id.to_owned());
}

pub(crate) fn track_network(id: &str) {
    live().networks.insert(id.to_owned());
}

/// Takes everything still tracked, for a last-minute removal.
pub(crate) fn take_all() -> Live {
    std::mem::take(&mut *live())
}

/// Kills and removes a container with its anonymous volumes. No stop grace period: the test is
/// over and nobody waits for a clean shutdown.
pub(crate) async fn remove_container(docker: &Docker, id: &str) -> Result<()> {
    let options = RemoveContainerOptionsBuilder::new().force(true).v(true).build();
    match docker.remove_container(id, Some(options)).await {
        Ok(()) => {}
        Err(e) if is_not_found(&e) => {}
        // A removal already under way (another cleanup path got there first) is fine.
        Err(e) if daemon_words(&e).contains("already in progress") => {}
        Err(e) => {
            return Err(Error::Docker { action: format!("removal of container {id}"), message: daemon_words(&e) })
        }
    }
    live().containers.remove(id);
    Ok(())
}

pub(crate) async fn remove_network(docker: &Docker, id: &str) -> Result<()> {
    match docker.remove_network(id).await {
        Ok(()) => {}
        Err(e) if is_not_found(&e) => {}
        Err(e) => {
            return Err(Error::Docker { action: format!("removal of network {id}"), message: daemon_words(&e) })
        }
    }
    live().networks.remove(id);
    Ok(())
}
