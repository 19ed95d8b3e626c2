//! Removing one container or network dockside created, whichever path asks for it (the end of
//! a test, a failed start, the signal handler or the start-up reaper), and forgetting it in the
//! process's registry.

use bollard::query_parameters::RemoveContainerOptionsBuilder;
use bollard::Docker;

use super::registry;
use crate::error::{daemon_words, is_not_found, Error, Result};

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
        Err(source) => {
            return Err(Error::Docker {
                action: format!("removal of container {id}"),
                source,
            })
        }
    }
    registry::forget_container(id);
    Ok(())
}

pub(crate) async fn remove_network(docker: &Docker, id: &str) -> Result<()> {
    match docker.remove_network(id).await {
        Ok(()) => {}
        Err(e) if is_not_found(&e) => {}
        Err(source) => {
            return Err(Error::Docker {
                action: format!("removal of network {id}"),
                source,
            })
        }
    }
    registry::forget_network(id);
    Ok(())
}
