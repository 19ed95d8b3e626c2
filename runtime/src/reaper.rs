//! The start-up reaper: removes what dockside processes killed outright (SIGKILL, the OOM
//! killer) left behind, since they could not clean up themselves.

use std::collections::HashMap;

use bollard::query_parameters::{ListContainersOptionsBuilder, ListNetworksOptionsBuilder};
use bollard::Docker;
use sha2::{Digest, Sha256};

use crate::config;
use crate::error::daemon_words;
use crate::labels;
use crate::process::cleanup::{remove_container, remove_network};
use crate::process::owner::Owner;
use crate::run::watcher::{self, EndedRun};
use crate::state_file;

/// Removes the containers and networks of dockside processes that are gone (killed with
/// SIGKILL, or by the OOM killer, before they could clean up). Runs at most once per process,
/// before its first container starts, and at most once per `DOCKSIDE_SWEEP_INTERVAL` across
/// the user's processes ([`sweep_is_due`]). Objects without dockside's label, and those whose
/// owner is not provably gone ([`Owner::is_gone`]: it may live on another host or in another PID
/// namespace, or this process cannot see), are never touched.
///
/// A shared container belongs to its run rather than to a process ([`labels::RUN`]): it is an
/// orphan once the run's process is gone, by the same rule. A run whose watcher was killed too
/// (everything SIGKILLed) makes the sweep due at once, whatever the interval says.
pub(crate) async fn reap_orphans(docker: &Docker) {
    static DONE: once_cell::sync::OnceCell<()> = once_cell::sync::OnceCell::new();
    if DONE.set(()).is_err() {
        return;
    }
    let unwatched = watcher::ended_unwatched_runs();
    if unwatched.is_empty() && !sweep_is_due() {
        return;
    }
    if sweep(docker).await {
        unwatched.into_iter().for_each(EndedRun::forget);
    }
}

/// One sweep; `false` when the daemon could not list the containers.
async fn sweep(docker: &Docker) -> bool {
    let filters = HashMap::from([("label", vec![format!("{}=true", labels::MANAGED)])]);
    let options = ListContainersOptionsBuilder::new()
        .all(true)
        .filters(&filters)
        .build();
    let listed = crate::engine::list_containers(docker, options).await;
    let orphans: Vec<String> = match listed {
        Ok(containers) => containers
            .into_iter()
            .filter(|c| owner_is_gone(c.labels.as_ref()) && !is_kept(c.labels.as_ref()))
            .filter_map(|c| c.id)
            .collect(),
        Err(e) => {
            eprintln!(
                "dockside: could not list containers to clean up: {}",
                daemon_words(&e)
            );
            return false;
        }
    };
    for id in &orphans {
        eprintln!("dockside: removing container {id} left behind by a process or run that is gone");
        if let Err(e) = remove_container(docker, id).await {
            eprintln!("dockside: {e}");
        }
    }
    let networks = docker
        .list_networks(Some(
            ListNetworksOptionsBuilder::new().filters(&filters).build(),
        ))
        .await
        .unwrap_or_default();
    for network in networks
        .into_iter()
        .filter(|n| owner_is_gone(n.labels.as_ref()))
    {
        if let Some(id) = network.id {
            match remove_network(docker, &id).await {
                // A kept container still uses it; it goes at a start-up after the user removed
                // the container.
                Err(e) if e.to_string().contains("active endpoints") => {}
                Err(e) => eprintln!("dockside: {e}"),
                Ok(()) => {}
            }
        }
    }
    true
}

/// Whether this process should sweep: listing all containers and networks at each start-up
/// costs every test two round trips for what is almost always nothing, so a sweep is due once
/// per `DOCKSIDE_SWEEP_INTERVAL` per daemon (see [`state_file::due`]).
fn sweep_is_due() -> bool {
    let key = hex::encode(Sha256::digest(crate::endpoint::docker_host().as_bytes()));
    state_file::due(&format!("sweep-{}", &key[..16]), config::sweep_interval())
}

/// Whether the container was created under `DOCKSIDE_KEEP`: it is the user's to remove, even
/// when its owner is gone. An `on-failure` container whose owner passed was removed by that
/// owner; one whose owner was killed outright is kept, as a test that never finished has not
/// passed.
fn is_kept(labels: Option<&HashMap<String, String>>) -> bool {
    labels.is_some_and(|l| l.contains_key(labels::KEEP))
}

/// Whether the container's owner is provably gone: its process ([`labels::OWNER`]), or for a
/// shared container its run's process ([`labels::RUN`]).
fn owner_is_gone(labels: Option<&HashMap<String, String>>) -> bool {
    labels
        .and_then(|l| l.get(labels::OWNER).or_else(|| l.get(labels::RUN)))
        .and_then(|owner| Owner::parse(owner))
        .is_some_and(|owner| owner.is_gone())
}
