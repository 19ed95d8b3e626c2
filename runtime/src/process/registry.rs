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

/// What this process holds.
#[derive(Default)]
struct Registry {
    live: Live,
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
    if let Some(network) = network {
        registry.live.networks.remove(network);
    }
}

/// Stops tracking a removed network.
pub(crate) fn forget_network(id: &str) {
    registry().live.networks.remove(id);
}

/// Takes everything still tracked, for a last-minute removal.
pub(crate) fn take_all() -> Live {
    std::mem::take(&mut registry().live)
}
