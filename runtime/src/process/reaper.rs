//! The start-up reaper: removes what dockside processes killed outright (SIGKILL, the OOM
//! killer) left behind, since they could not clean up themselves.

use std::collections::HashMap;

use bollard::query_parameters::{ListContainersOptionsBuilder, ListNetworksOptionsBuilder};
use bollard::Docker;

use crate::container::cleanup::{remove_container, remove_network};
use crate::error::daemon_words;
use crate::labels;
use crate::process::owner::Owner;

/// Removes the containers and networks of dockside processes that are gone (killed with
/// SIGKILL, or by the OOM killer, before they could clean up). Runs once per process, before its
/// first container starts. Objects without dockside's label, and those whose owner is not
/// provably gone ([`Owner::is_gone`]: it may live on another host or in another PID namespace,
/// or this process cannot see), are never touched.
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
            .filter(|c| owner_is_gone(c.labels.as_ref()) && !is_kept(c.labels.as_ref()))
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
            match remove_network(docker, &id).await {
                // A kept container still uses it; it goes at a start-up after the user removed
                // the container.
                Err(e) if e.to_string().contains("active endpoints") => {}
                Err(e) => eprintln!("dockside: {e}"),
                Ok(()) => {}
            }
        }
    }
}

/// Whether the container was created under `DOCKSIDE_KEEP`: it is the user's to remove, even
/// when its owner is gone. An `on-failure` container whose owner passed was removed by that
/// owner; one whose owner was killed outright is kept, as a test that never finished has not
/// passed.
fn is_kept(labels: Option<&HashMap<String, String>>) -> bool {
    labels.is_some_and(|l| l.contains_key(labels::KEEP))
}

fn owner_is_gone(labels: Option<&HashMap<String, String>>) -> bool {
    labels
        .and_then(|l| l.get(labels::OWNER))
        .and_then(|owner| Owner::parse(owner))
        .is_some_and(|owner| owner.is_gone())
}
