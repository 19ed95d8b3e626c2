//! Shared containers ([`ContainerSpec::shared`]): one container per run for every test that asks
//! for the same settings, found again by a label holding the hash of those settings and of the
//! run, started once under a file lock, and removed after the run by the run's watcher.
//!
//! A shared container that stopped during the run is reported to every test that needs it
//! afterwards, not restarted: its state (a database's rows, a cache's keys) is gone, and tests
//! that set up data in it earlier would then fail for reasons far from the cause.

use std::collections::HashMap;

use bollard::models::ContainerSummaryStateEnum;
use bollard::query_parameters::ListContainersOptionsBuilder;
use bollard::Docker;
use sha2::{Digest, Sha256};

use super::start::{self, Holder, Origin};
use super::{wait, Container, ContainerSpec};
use crate::config::{self, Keep};
use crate::error::{Error, Result};
use crate::image::lock::ImageLock;
use crate::image::ResolvedImage;
use crate::labels;
use crate::run::{watcher, Run};

/// The run's container for `spec` (of `image`), started by this call when the run has none
/// yet, and ready as `spec`'s own waits say. `test` names the test asking.
pub(crate) async fn obtain(
    docker: &Docker,
    spec: &ContainerSpec,
    image: &ResolvedImage,
    test: &str,
) -> Result<Container> {
    let run = Run::current();
    let failed = |message: String| Error::Start {
        image: image.reference.clone(),
        message,
        source: None,
    };
    if spec.waits.iter().any(|w| matches!(w, super::Wait::Exit(_))) {
        return Err(failed(format!(
            "`{}` is shared and awaits its command's exit: a shared container must keep \
             running for the run's other tests (`wait = exit(...)` is for a test's own one-shot \
             container)",
            spec.name
        )));
    }
    // Before anything of the run exists: whatever is created next is removed after the run.
    watcher::ensure(run, &docker.client_version().to_string())
        .map_err(|reason| failed(format!("`{}` is shared, but {reason}", spec.name)))?;
    let key = key(spec, image, run);
    // The holder creates, starts and awaits the container under the lock.
    let limit =
        spec.startup_timeout.unwrap_or_else(config::startup_timeout) + config::docker_timeout();
    let what = format!("shared container {} (image {})", spec.name, image.reference);
    let lock_key = format!("shared {key}");
    let lock = tokio::task::spawn_blocking(move || {
        ImageLock::acquire_for(&what, &lock_key, limit, "DOCKSIDE_STARTUP_TIMEOUT")
    })
    .await
    .map_err(|e| failed(format!("waiting for the lock of a shared container: {e}")))??;
    let (container, inspected) = match find(docker, &key, spec, image).await? {
        Some(found) => found,
        None => {
            let container = start_new(docker, spec, image, test, run, &key).await?;
            drop(lock);
            return Ok(container);
        }
    };
    drop(lock);
    // Ready for the test that started it; each other test awaits its own conditions too.
    if !spec.effective_waits().is_empty() {
        wait::until_ready(docker, &container, spec, inspected).await?;
    }
    Ok(container)
}

/// The hash that names a shared container: the daemon, every setting that makes the container
/// what it is (not the name, the waits nor the startup timeout: those are each test's own), the
/// image ID, and the run.
fn key(spec: &ContainerSpec, image: &ResolvedImage, run: &Run) -> String {
    let settings = serde_json::json!({
        "daemon": crate::endpoint::docker_host(),
        "run": run.key(),
        "image": image.id,
        "cmd": spec.cmd,
        "entrypoint": spec.entrypoint,
        "env": spec.env,
        "labels": spec.labels,
        "ports": spec.ports,
        "healthcheck": spec.healthcheck,
        "user": spec.user,
        "workdir": spec.workdir,
        "tmpfs": spec.tmpfs,
        "mounts": spec.mounts.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "memory": spec.memory,
    });
    hex::encode(&Sha256::digest(settings.to_string().as_bytes())[..16])
}

/// The run's running container of `key`, with its inspect; `None` when there is none (or only
/// one its creator never started: it was killed in between, and that container is removed).
/// One that stopped is an error, with its logs.
async fn find(
    docker: &Docker,
    key: &str,
    spec: &ContainerSpec,
    image: &ResolvedImage,
) -> Result<Option<(Container, bollard::models::ContainerInspectResponse)>> {
    let listed = |source: bollard::errors::Error| Error::Docker {
        action: format!("listing shared containers of image {}", image.reference),
        source,
    };
    let filters = HashMap::from([("label", vec![format!("{}={key}", labels::SHARED)])]);
    let options = ListContainersOptionsBuilder::new()
        .all(true)
        .filters(&filters)
        .build();
    let found = crate::engine::list_containers(docker, options)
        .await
        .map_err(listed)?;
    let mut stopped = None;
    for summary in found {
        let Some(id) = summary.id else { continue };
        match summary.state {
            Some(ContainerSummaryStateEnum::RUNNING) => {
                let inspected = crate::engine::inspect_container(docker, &id)
                    .await
                    .map_err(listed)?;
                let ports = start::published_ports(&inspected, &spec.ports);
                let container =
                    Container::new(id, spec.name.clone(), image.reference.clone(), ports);
                return Ok(Some((container, inspected)));
            }
            Some(ContainerSummaryStateEnum::CREATED) => {
                crate::process::cleanup::remove_container(docker, &id).await?;
            }
            state => stopped = Some((id, state, summary.labels.unwrap_or_default())),
        }
    }
    match stopped {
        None => Ok(None),
        Some((id, state, labels)) => Err(died(docker, spec, image, id, state, &labels).await),
    }
}

/// Creates and starts the run's container, ready as `spec` says; removes it again if it never
/// becomes ready (no other test has it yet: they wait for the lock).
async fn start_new(
    docker: &Docker,
    spec: &ContainerSpec,
    image: &ResolvedImage,
    test: &str,
    run: &Run,
    key: &str,
) -> Result<Container> {
    let created = std::sync::Mutex::new(Vec::new());
    let origin = Origin {
        test,
        holder: Holder::Run { run, key },
        network: None,
        created: &created,
    };
    let started = start::start(docker, spec, image, &origin).await;
    if started.is_err() {
        let made = created.into_inner().unwrap_or_else(|p| p.into_inner());
        for id in made {
            if let Err(e) = crate::process::cleanup::remove_container(docker, &id).await {
                eprintln!("dockside: {e}");
            }
        }
    } else if config::keep() == Keep::Always {
        if let Ok(container) = &started {
            eprintln!(
                "dockside: shared container {} ({}) of image {} is kept after the run \
                 (DOCKSIDE_KEEP=always); remove: `docker rm -f {}`",
                container.name(),
                container.id(),
                container.image(),
                container.short_id(),
            );
        }
    }
    started
}

/// The error for a shared container found stopped: who started it, how it ended, its logs.
async fn died(
    docker: &Docker,
    spec: &ContainerSpec,
    image: &ResolvedImage,
    id: String,
    state: Option<ContainerSummaryStateEnum>,
    labels: &HashMap<String, String>,
) -> Error {
    let inspected = crate::engine::inspect_container(docker, &id).await.ok();
    let exit_code = inspected.as_ref().and_then(|i| i.state.as_ref()?.exit_code);
    let container = Container::new(
        id,
        spec.name.clone(),
        image.reference.clone(),
        HashMap::new(),
    );
    let logs = container
        .log_tail(docker, Some(config::log_lines()))
        .await
        .unwrap_or_else(|e| format!("(no logs: {e})"));
    Error::SharedStopped {
        container: format!(
            "{} ({}, image {})",
            container.name(),
            container.short_id(),
            container.image()
        ),
        started_by: labels.get(labels::TEST).cloned().unwrap_or_default(),
        state: match (state, exit_code) {
            (Some(ContainerSummaryStateEnum::EXITED), Some(code)) => {
                format!("exited (exit code {code})")
            }
            (Some(state), _) => state.to_string(),
            (None, _) => "gone".to_owned(),
        },
        logs,
    }
}
