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

/// Stops tracking a container: it was removed, or the user asked to keep it (then not even a
/// signal removes it).
pub(crate) fn forget_container(id: &str) {
    live().containers.remove(id);
}

/// Stops tracking a removed network.
pub(crate) fn forget_network(id: &str) {
    live().networks.remove(id);
}

/// Takes everything still tracked, for a last-minute removal.
pub(crate) fn take_all() -> Live {
    std::mem::take(&mut *live())
}
