//! Removing what this process created: after each test, on SIGINT/SIGTERM, and (for owners
//! killed outright) at the next start-up.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, RemoveContainerOptionsBuilder,
};
use bollard::Docker;
use once_cell::sync::Lazy;

use crate::error::{daemon_words, is_not_found, Error, Result};
use crate::labels::{self, Owner};

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

/// Stops tracking a container the user asked to keep: not even a signal removes it then.
pub(crate) fn forget_container(id: &str) {
    live().containers.remove(id);
}

/// Takes everything still tracked, for a last-minute removal.
pub(crate) fn take_all() -> Live {
    std::mem::take(&mut *live())
}

/// Kills and removes a container with its anonymous volumes. No stop grace period: the test is
/// over and nobody waits for a clean shutdown.
pub(crate) async fn remove_container(docker: &Docker, id: &str) -> Result<()> {
    let options = RemoveContainerOptionsBuilder::new()
        .force(true)
        .v(true)
        .build();
    match docker.remove_container(id, Some(options)).await {
        Ok(()) => {}
        Err(e) if is_not_found(&e) => {}
        // A removal already under way (another cleanup path got there first) is fine.
        Err(e) if daemon_words(&e).contains("already in progress") => {}
        Err(e) => {
            return Err(Error::Docker {
                action: format!("removal of container {id}"),
                message: daemon_words(&e),
            })
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
            return Err(Error::Docker {
                action: format!("removal of network {id}"),
                message: daemon_words(&e),
            })
        }
    }
    live().networks.remove(id);
    Ok(())
}

/// Removes the containers and networks of dockside processes that are gone (killed with
/// SIGKILL, or by the OOM killer, before they could clean up). Runs once per process, before its
/// first container starts. Objects without dockside's label, and those whose owner lives or runs
/// on another host, are never touched.
pub(crate) async fn reap_orphans(docker: &Docker) {
    static DONE: once_cell::sync::OnceCell<()> = once_cell::sync::OnceCell::new();
    if DONE.set(()).is_err() {
        return;
    }
    let filters = HashMap::from([("label", vec![format!("{}=true", labels::MANAGED)])]);
    let listed = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::new()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await;
    let orphans: Vec<String> = match listed {
        Ok(containers) => containers
            .into_iter()
            .filter(|c| owner_is_gone(c.labels.as_ref()))
            .filter_map(|c| c.id)
            .collect(),
        Err(e) => {
            return eprintln!(
                "dockside: could not list containers to clean up: {}",
                daemon_words(&e)
            )
        }
    };
    for id in &orphans {
        eprintln!("dockside: removing container {id} left behind by a process that is gone");
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
            if let Err(e) = remove_network(docker, &id).await {
                eprintln!("dockside: {e}");
            }
        }
    }
}

fn owner_is_gone(labels: Option<&HashMap<String, String>>) -> bool {
    labels
        .and_then(|l| l.get(labels::OWNER))
        .and_then(|owner| Owner::parse(owner))
        .is_some_and(|owner| owner.is_gone())
}

/// On SIGINT or SIGTERM (Ctrl-C, a CI or nextest timeout), removes everything this process
/// created and still holds, then exits with the conventional status 128 + signal number.
/// Installed once per process, on a thread of its own so it works whatever the tests do with
/// their runtimes.
pub(crate) fn install_signal_handler() {
    static INSTALLED: once_cell::sync::OnceCell<()> = once_cell::sync::OnceCell::new();
    INSTALLED.get_or_init(|| {
        let spawned = std::thread::Builder::new()
            .name("dockside-signals".to_owned())
            .spawn(|| {
                let Ok(runtime) = crate::docker::runtime() else {
                    return;
                };
                runtime.block_on(async {
                    use tokio::signal::unix::{signal, SignalKind};
                    let (Ok(mut interrupt), Ok(mut terminate)) = (
                        signal(SignalKind::interrupt()),
                        signal(SignalKind::terminate()),
                    ) else {
                        return;
                    };
                    let status = tokio::select! {
                        _ = interrupt.recv() => 130,
                        _ = terminate.recv() => 143,
                    };
                    remove_everything().await;
                    std::process::exit(status);
                });
            });
        if let Err(e) = spawned {
            eprintln!(
                "dockside: no signal handler, containers may outlive an interrupted run: {e}"
            );
        }
    });
}

async fn remove_everything() {
    let live = take_all();
    if live.containers.is_empty() && live.networks.is_empty() {
        return;
    }
    eprintln!(
        "dockside: interrupted; removing {} container(s)",
        live.containers.len()
    );
    let Ok(docker) = crate::docker::connect().await else {
        return;
    };
    let removals = live
        .containers
        .iter()
        .map(|id| remove_container(&docker, id));
    futures_util::future::join_all(removals).await;
    for network in &live.networks {
        let _ = remove_network(&docker, network).await;
    }
}
