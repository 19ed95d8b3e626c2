//! Containers and networks this process created and has not removed yet: what a signal handler
//! must remove before the process exits.

use std::collections::BTreeSet;
use std::sync::Mutex;

use once_cell::sync::Lazy;

#[derive(Default)]
pub(crate) struct Live {
    pub(crate) containers: BTreeSet<String>,
    pub(crate) networks: BTreeSet<String>,
}

/// What this process holds: the live objects, what it kept for the user (which nothing of
/// dockside's may remove), and how many container creations are awaiting the daemon's answer
/// (their containers may exist already, untracked).
#[derive(Default)]
struct Registry {
    live: Live,
    kept: BTreeSet<String>,
    creating: usize,
}

static REGISTRY: Lazy<Mutex<Registry>> = Lazy::new(Default::default);

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    // A panic while holding the lock cannot leave the sets half-updated: each update is one insert.
    REGISTRY.lock().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn track_container(id: &str) {
    registry().live.containers.insert(id.to_owned());
}

pub(crate) fn track_network(id: &str) {
    registry().live.networks.insert(id.to_owned());
}

/// Stops tracking a removed container.
pub(crate) fn forget_container(id: &str) {
    registry().live.containers.remove(id);
}

/// Hands a container, and the network it is attached to, over to the user (`DOCKSIDE_KEEP`):
/// from now on not even a signal removes them.
pub(crate) fn keep(container: &str, network: Option<&str>) {
    let mut registry = registry();
    registry.live.containers.remove(container);
    registry.kept.insert(container.to_owned());
    if let Some(network) = network {
        registry.live.networks.remove(network);
        registry.kept.insert(network.to_owned());
    }
}

/// Whether this process kept the container or network `id` for the user.
pub(crate) fn is_kept(id: &str) -> bool {
    registry().kept.contains(id)
}

/// Counts a container creation as in flight until the returned guard is dropped.
pub(crate) fn creating() -> Creating {
    registry().creating += 1;
    Creating
}

/// A container creation in flight; see [`creating`].
pub(crate) struct Creating;

impl Drop for Creating {
    fn drop(&mut self) {
        registry().creating -= 1;
    }
}

/// Whether any container creation awaits the daemon's answer.
pub(crate) fn creations_in_flight() -> bool {
    registry().creating > 0
}

/// Stops tracking a removed network.
pub(crate) fn forget_network(id: &str) {
    registry().live.networks.remove(id);
}

/// Takes everything still tracked, for a last-minute removal.
pub(crate) fn take_all() -> Live {
    std::mem::take(&mut registry().live)
}
