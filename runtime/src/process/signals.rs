//! The signal handler: on an interrupt, removes what this process created before it exits.

use crate::container::cleanup::{remove_container, remove_network};
use crate::process::registry;

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
    let live = registry::take_all();
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
