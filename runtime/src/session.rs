//! One test's containers, from the image to their removal.

use std::collections::HashMap;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bollard::models::NetworkCreateRequest;
use bollard::Docker;
use futures_util::future::join_all;

use crate::config::{self, Keep};
use crate::container::start::{self, Holder, Origin};
use crate::container::Container;
use crate::container::{courier, shared};
use crate::error::{delimited, Error, Result};
use crate::image::ResolvedImage;
use crate::labels;
use crate::process::owner::Owner;
use crate::process::{cleanup, registry, signals};
use crate::reaper;
use crate::test_spec::TestSpec;

pub(crate) struct Session {
    /// The test's name, for the report of a failed test.
    test: &'static str,
    runtime: tokio::runtime::Runtime,
    containers: Vec<Container>,
    /// Per container: whether it is the run's shared one, which this test must leave running.
    shared: Vec<bool>,
    /// Per container: when its startup timeout ends (readiness and set-up share it), and the
    /// timeout itself.
    deadlines: Vec<(Instant, Duration)>,
    network: Option<String>,
}

impl Session {
    /// Resolves the images and starts the containers of `spec`. `Ok(None)` when no daemon is
    /// reachable and the user asked for such tests to be skipped.
    pub(crate) fn start(spec: &TestSpec) -> Result<Option<Session>> {
        let runtime = crate::rt::runtime_of(spec.flavor, spec.worker_threads)?;
        // Made on this runtime and used only on it, for the start-up below.
        let docker = match runtime.block_on(crate::docker::connect()) {
            Err(Error::NoDaemon { host, reason, .. }) if config::skip_without_docker() => {
                eprintln!(
                    "dockside: skipping {}: no docker daemon at {host} ({reason})",
                    spec.name
                );
                return Ok(None);
            }
            Err(e) => return Err(e),
            Ok(docker) => docker,
        };
        runtime.block_on(reaper::reap_orphans(&docker));
        signals::install_signal_handler();
        let images = spec
            .containers
            .iter()
            .map(|c| {
                c.image_source(spec.manifest_dir)
                    .ok_or_else(|| Error::Start {
                        image: "(none given)".to_owned(),
                        message: format!(
                            "container `{}` names neither an image nor a dockerfile",
                            c.name()
                        ),
                        source: None,
                    })?
                    .resolve_with(c.pull_policy())
            })
            .collect::<Result<Vec<ResolvedImage>>>()?;
        let made = Made::default();
        // Taken before the containers start, so the set-up's share can only be shorter.
        let now = Instant::now();
        let deadlines = spec
            .containers
            .iter()
            .map(|c| {
                let limit = c.startup_timeout.unwrap_or_else(config::startup_timeout);
                (now + limit, limit)
            })
            .collect();
        // A panic while starting (a custom probe that panics) must remove what was made so far,
        // exactly like an error does; it then goes on, as the test's failure.
        let started = catch_unwind(AssertUnwindSafe(|| {
            runtime.block_on(start_all(&docker, spec, &images, &made))
        }));
        match started {
            Ok(Ok(containers)) => Ok(Some(Session {
                test: spec.name,
                runtime,
                containers,
                shared: spec.containers.iter().map(|c| c.shared).collect(),
                deadlines,
                network: made.network.into_inner().unwrap_or_else(|p| p.into_inner()),
            })),
            Ok(Err(error)) => {
                runtime.block_on(made.remove());
                Err(error)
            }
            Err(payload) => {
                runtime.block_on(made.remove());
                resume_unwind(payload)
            }
        }
    }

    /// The `index`th container, when its set-up must be done by, and its startup timeout.
    pub(crate) fn container(&self, index: usize) -> Option<(Container, Instant, Duration)> {
        let (deadline, limit) = *self.deadlines.get(index)?;
        Some((self.containers.get(index)?.clone(), deadline, limit))
    }

    pub(crate) fn runtime(&self) -> &tokio::runtime::Runtime {
        &self.runtime
    }

    /// After a failed set-up: removes everything of the test's own, whatever `DOCKSIDE_KEEP`
    /// says, as after a failed start.
    pub(crate) fn abort(self) {
        let ids: Vec<String> = self.own().map(|c| c.id().to_owned()).collect();
        self.runtime.block_on(remove(&ids, self.network.as_deref()));
    }

    /// The test's own containers: not the run's shared ones, which other tests may be using.
    fn own(&self) -> impl Iterator<Item = &Container> {
        self.containers
            .iter()
            .zip(&self.shared)
            .filter(|(_, shared)| !**shared)
            .map(|(container, _)| container)
    }

    pub(crate) fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// After the body: report the logs of a failed test, then remove (or keep, if asked) the
    /// containers and their network.
    pub(crate) fn finish(self, failed: bool) {
        if failed {
            self.runtime
                .block_on(report_logs(self.test, &self.containers, &self.shared));
        }
        let keep = match config::keep() {
            Keep::Always => true,
            Keep::OnFailure => failed,
            Keep::Never => false,
        };
        let ids: Vec<String> = self.own().map(|c| c.id().to_owned()).collect();
        if keep {
            for container in self.own() {
                registry::keep(container.id(), self.network.as_deref());
                let ports: Vec<String> = container
                    .published_ports()
                    .into_iter()
                    .map(|p| format!("{p} -> {}", container.addr(p)))
                    .collect();
                eprintln!(
                    "dockside: kept container {} ({}) of image {}; ports: [{}]; \
                     logs: `docker logs {id}`; remove: `docker rm -f {id}`",
                    container.name(),
                    container.id(),
                    container.image(),
                    ports.join(", "),
                    id = container.short_id(),
                );
            }
            return;
        }
        self.runtime.block_on(remove(&ids, self.network.as_deref()));
    }
}

/// What a test's start-up has created so far, recorded as each thing comes to exist, so a
/// start-up that fails or panics halfway removes all of it.
#[derive(Default)]
struct Made {
    /// Every container created, also the ones that failed later.
    containers: Mutex<Vec<String>>,
    network: Mutex<Option<String>>,
}

impl Made {
    async fn remove(&self) {
        // A panic while a lock was held cannot leave a half-written `Vec` or `Option`.
        let ids = self
            .containers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let network = self
            .network
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        remove(&ids, network.as_deref()).await;
    }
}

async fn start_all(
    docker: &Docker,
    spec: &TestSpec,
    images: &[ResolvedImage],
    made: &Made,
) -> Result<Vec<Container>> {
    let owner = Owner::current();
    // Several containers of one test share a private network on which each is reachable by its
    // parameter name. A shared container stays off it: it is not this test's to attach.
    let own = spec.containers.iter().filter(|c| !c.shared).count();
    let network = if own > 1 {
        let network = create_network(docker, spec, &owner).await?;
        *made.network.lock().unwrap_or_else(|p| p.into_inner()) = Some(network.clone());
        Some(network)
    } else {
        None
    };
    let origin = Origin {
        test: spec.name,
        holder: Holder::Process(&owner),
        network: network.as_deref(),
        created: &made.containers,
    };
    join_all(spec.containers.iter().zip(images).map(|(c, image)| async {
        if c.shared {
            shared::obtain(docker, c, image, spec.name).await
        } else {
            start::start(docker, c, image, &origin).await
        }
    }))
    .await
    .into_iter()
    .collect()
}

async fn create_network(docker: &Docker, spec: &TestSpec, owner: &Owner) -> Result<String> {
    let name = crate::names::unique_name("dockside");
    let request = NetworkCreateRequest {
        name: name.clone(),
        labels: Some(HashMap::from([
            (labels::MANAGED.to_owned(), "true".to_owned()),
            (labels::OWNER.to_owned(), owner.label()),
            (labels::TEST.to_owned(), spec.name.to_owned()),
        ])),
        ..Default::default()
    };
    let created = docker
        .create_network(request)
        .await
        .map_err(|source| Error::Docker {
            action: format!("creation of network {name}"),
            source,
        })?;
    registry::track_network(&created.id);
    Ok(created.id)
}

/// Removes containers (concurrently) and then their network; failures are reported, not fatal:
/// the test's own result matters more, and the next start-up sweeps what is left.
///
/// With a daemon spoken to in plain HTTP the work goes to a detached courier process, off the
/// test's clock ([`courier::hand_off`]); this process then forgets them, as it would after
/// removing them.
async fn remove(ids: &[String], network: Option<&str>) {
    let docker = match crate::docker::connect().await {
        Ok(docker) => docker,
        Err(e) => return eprintln!("dockside: could not remove containers {ids:?}: {e}"),
    };
    let version = docker.client_version().to_string();
    if courier::hand_off(&version, ids, network) {
        ids.iter().for_each(|id| registry::forget_container(id));
        network.into_iter().for_each(registry::forget_network);
        return;
    }
    for result in join_all(ids.iter().map(|id| cleanup::remove_container(&docker, id))).await {
        if let Err(e) = result {
            eprintln!("dockside: {e}");
        }
    }
    if let Some(network) = network {
        if let Err(e) = cleanup::remove_network(&docker, network).await {
            eprintln!("dockside: {e}");
        }
    }
}

/// Prints the containers' last log lines for a failed test, each between a header and a footer,
/// so they cannot be read as part of the harness's own lines (`Error: ...` comes after them).
async fn report_logs(test: &str, containers: &[Container], shared: &[bool]) {
    let docker = match crate::docker::connect().await {
        Ok(docker) => docker,
        Err(e) => return eprintln!("dockside: test {test} failed; no container logs: {e}"),
    };
    let lines = config::log_lines();
    eprintln!(
        "dockside: test {test} failed; the last {lines} log lines of its containers follow \
         (DOCKSIDE_LOG_LINES sets how many)"
    );
    for (container, shared) in containers.iter().zip(shared) {
        // A shared container's log holds every test's traffic, not only this one's.
        let (kind, note) = if *shared {
            ("shared ", "; other tests' output is in it too")
        } else {
            ("", "")
        };
        let title = format!(
            "logs of {kind}container {} ({}, image {}{note})",
            container.name(),
            container.short_id(),
            container.image()
        );
        match container.log_tail(&docker, Some(lines)).await {
            Ok(logs) => eprintln!("{}", delimited(&title, &logs)),
            Err(e) => eprintln!("dockside: no {title}: {e}"),
        }
    }
}
