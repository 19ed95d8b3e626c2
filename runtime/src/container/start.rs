//! Creating and starting a container from a resolved image.

use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, EndpointSettings, HealthConfig, HostConfig, NetworkingConfig, PortBinding,
};
use bollard::Docker;

use super::{wait, Container, ContainerSpec};
use crate::config::Keep;
use crate::error::{daemon_words, Error, Result};
use crate::image::ResolvedImage;
use crate::labels;
use crate::process::owner::Owner;
use crate::process::registry;
use crate::run::Run;

/// Who is starting a container: recorded in its labels.
pub(crate) struct Origin<'a> {
    pub(crate) test: &'a str,
    pub(crate) holder: Holder<'a>,
    /// A network to join, with the container's name as its alias there.
    pub(crate) network: Option<&'a str>,
    /// Every container created for the test so far, also the ones that failed later, so the
    /// caller can remove them all.
    pub(crate) created: &'a std::sync::Mutex<Vec<String>>,
}

/// What a container belongs to, which decides who removes it.
#[derive(Clone, Copy)]
pub(crate) enum Holder<'a> {
    /// A test's own: its process removes it (also on a signal), or a later start-up once that
    /// process is gone.
    Process(&'a Owner),
    /// A run's shared container, found again by its settings' `key`: the run's watcher removes
    /// it once the run is over, or a later start-up; never a test's process.
    Run { run: &'a Run, key: &'a str },
}

/// Creates, starts and waits for one container. The container is tracked for cleanup from the
/// moment it exists, so a failure anywhere after creation still removes it.
pub(crate) async fn start(
    docker: &Docker,
    spec: &ContainerSpec,
    image: &ResolvedImage,
    origin: &Origin<'_>,
) -> Result<Container> {
    let failed = |e: bollard::errors::Error| Error::Start {
        image: image.reference.clone(),
        message: daemon_words(&e),
        source: Some(e.into()),
    };
    let own = matches!(origin.holder, Holder::Process(_));
    // Counted while in flight, so a signal handler knows to wait for the answer: the daemon may
    // have made the container before this process learns its id. A shared container is not the
    // process's to remove on a signal.
    let creating = own.then(registry::creating);
    let created = docker
        .create_container(None, create_body(spec, image, origin))
        .await
        .map_err(failed)?;
    if own {
        registry::track_container(&created.id);
    }
    drop(creating);
    origin
        .created
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(created.id.clone());
    docker
        .start_container(&created.id, None)
        .await
        .map_err(failed)?;
    let inspected = crate::engine::inspect_container(docker, &created.id)
        .await
        .map_err(failed)?;
    let ports = published_ports(&inspected, &spec.ports);
    let container = Container::new(
        created.id,
        spec.name.clone(),
        image.reference.clone(),
        ports,
    );
    wait::until_ready(docker, &container, spec, inspected).await?;
    Ok(container)
}

fn create_body(
    spec: &ContainerSpec,
    image: &ResolvedImage,
    origin: &Origin<'_>,
) -> ContainerCreateBody {
    let mut labels: HashMap<String, String> = spec.labels.iter().cloned().collect();
    labels.insert(labels::MANAGED.to_owned(), "true".to_owned());
    labels.insert(labels::TEST.to_owned(), origin.test.to_owned());
    labels.insert(labels::NAME.to_owned(), spec.name.clone());
    let keep = crate::config::keep();
    match origin.holder {
        Holder::Process(owner) => {
            labels.insert(labels::OWNER.to_owned(), owner.label());
            match keep {
                Keep::Always => labels.insert(labels::KEEP.to_owned(), "always".to_owned()),
                Keep::OnFailure => labels.insert(labels::KEEP.to_owned(), "on-failure".to_owned()),
                Keep::Never => None,
            };
        }
        Holder::Run { run, key } => {
            labels.insert(labels::SHARED.to_owned(), key.to_owned());
            // A kept shared container has no run to be removed with: it is the user's. Under
            // `on-failure` it goes with its run, like one no test failed with: which tests will
            // fail is known only once the run is over.
            if keep == Keep::Always {
                labels.insert(labels::KEEP.to_owned(), "always".to_owned());
            } else {
                labels.insert(labels::RUN.to_owned(), run.label());
            }
        }
    }
    if let Some(session) = crate::config::session() {
        labels.insert(labels::SESSION.to_owned(), session);
    }
    let port_keys: Vec<String> = spec.ports.iter().map(|p| format!("{p}/tcp")).collect();
    let bind_ip = crate::endpoint::publish(&crate::endpoint::docker_host())
        .bind
        .to_string();
    let port_bindings = port_keys
        .iter()
        .map(|key| {
            let binding = PortBinding {
                host_ip: Some(bind_ip.clone()),
                host_port: Some(String::new()),
            };
            (key.clone(), Some(vec![binding]))
        })
        .collect();
    let networking_config = origin.network.map(|network| NetworkingConfig {
        endpoints_config: Some(HashMap::from([(
            network.to_owned(),
            EndpointSettings {
                aliases: Some(vec![spec.name.clone()]),
                ..Default::default()
            },
        )])),
    });
    ContainerCreateBody {
        image: Some(image.id.clone()),
        cmd: spec.cmd.clone(),
        entrypoint: spec.entrypoint.clone(),
        env: Some(spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        labels: Some(labels),
        exposed_ports: Some(port_keys),
        user: spec.user.clone(),
        working_dir: spec.workdir.clone(),
        healthcheck: spec.healthcheck.as_ref().map(|test| HealthConfig {
            test: Some(
                std::iter::once("CMD".to_owned())
                    .chain(test.iter().cloned())
                    .collect(),
            ),
            // Short intervals: a test waits on this, and the check is cheap.
            interval: Some(200_000_000),
            timeout: Some(2_000_000_000),
            retries: Some(3),
            ..Default::default()
        }),
        host_config: Some(HostConfig {
            port_bindings: Some(port_bindings),
            network_mode: origin.network.map(str::to_owned),
            tmpfs: (!spec.tmpfs.is_empty()).then(|| {
                spec.tmpfs
                    .iter()
                    .map(|p| (p.clone(), String::new()))
                    .collect()
            }),
            memory: spec.memory.map(|m| i64::try_from(m).unwrap_or(i64::MAX)),
            binds: (!spec.mounts.is_empty())
                .then(|| spec.mounts.iter().map(ToString::to_string).collect()),
            ..Default::default()
        }),
        networking_config,
        ..Default::default()
    }
}

/// Container port → host port, for the `wanted` ports the daemon reports bound.
pub(super) fn published_ports(
    inspected: &bollard::models::ContainerInspectResponse,
    wanted: &[u16],
) -> HashMap<u16, u16> {
    let Some(map) = inspected
        .network_settings
        .as_ref()
        .and_then(|n| n.ports.as_ref())
    else {
        return HashMap::new();
    };
    wanted
        .iter()
        .filter_map(|port| {
            let bindings = map.get(&format!("{port}/tcp"))?.as_ref()?;
            let host_port = bindings
                .iter()
                .find_map(|b| b.host_port.as_deref()?.parse().ok())?;
            Some((*port, host_port))
        })
        .collect()
}
