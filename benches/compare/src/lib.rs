//! What the test suites of this crate share: one test body per tool, doing the same work with
//! the same image, so the suites differ only in the tool that gets the container.
//!
//! Every test starts a container of the fixture server (`tests/fixture/fixture.rs`: `serve
//! --port 8080`), waits until it answers, sends one HTTP request, and lets the tool remove the
//! container. The driver (`src/bin/compare.rs`) prepares the images and the `generated/` build
//! contexts, and passes what a round needs in the environment variables below.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bollard::models::{ContainerCreateBody, HostConfig, PortBinding};
use bollard::query_parameters::{BuildImageOptionsBuilder, RemoveContainerOptionsBuilder};
use bollard::Docker;
use futures_util::StreamExt;

/// The fixture image under the tag the testcontainers and bollard suites use; the driver puts it
/// on the image dockside built from `tests/fixtures/Dockerfile`, so all three run the same image.
pub const FIXTURE_IMAGE: (&str, &str) = ("dockside-compare/fixture", "latest");
/// The environment variable naming the tag a round's fresh Dockerfile is built as (suites (b)).
pub const FRESH_TAG: &str = "COMPARE_FRESH_TAG";
/// The port the fixture server listens on in every image.
pub const PORT: u16 = 8080;
/// How long a test waits for its server before failing.
const READY_WITHIN: Duration = Duration::from_secs(60);

/// Tests named `$name…`, each a `#[docker_test(...)]` with the attribute arguments given and one
/// container `web` of the fixture server, checked with [`check`].
#[macro_export]
macro_rules! dockside_suite {
    (#[docker_test $arguments:tt] $($name:ident)*) => {$(
        #[::dockside::docker_test $arguments]
        fn $name(web: ::dockside::Container) {
            $crate::check(web.addr($crate::PORT));
        }
    )*};
}

/// Plain tests named `$name…`, each running `$body` (the other tools' suites).
#[macro_export]
macro_rules! plain_suite {
    ($body:expr; $($name:ident)*) => {$(
        #[test]
        fn $name() {
            $body;
        }
    )*};
}

/// This crate's folder.
pub fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The build contexts the driver writes: `generated/fresh` (suites (b)), `generated/small` and
/// `generated/big` (suite (d)).
pub fn generated(name: &str) -> PathBuf {
    crate_dir().join("generated").join(name)
}

/// The test body every suite shares once it has the server's address: one request, whose
/// answer must be the fixture's.
pub fn check(addr: SocketAddr) {
    let body = dockside_tests::http::get(addr, "/")
        .unwrap_or_else(|e| panic!("GET / from the fixture server at {addr}: {e}"));
    assert_eq!(body, "hello", "the fixture server's answer");
}

/// A whole test with testcontainers-rs: start the fixture image ([`FIXTURE_IMAGE`]) with the
/// port exposed, wait for the server's `listening on` line, check it, and let the container's
/// drop remove it.
pub fn testcontainers_test() {
    let (name, tag) = FIXTURE_IMAGE;
    testcontainers_run(testcontainers::GenericImage::new(name, tag));
}

fn testcontainers_run(image: testcontainers::GenericImage) {
    use testcontainers::core::{IntoContainerPort, WaitFor};
    use testcontainers::runners::SyncRunner;

    let shown = format!(
        "{}:{}",
        testcontainers::Image::name(&image),
        testcontainers::Image::tag(&image)
    );
    let container = image
        .with_exposed_port(PORT.tcp())
        .with_wait_for(WaitFor::message_on_stdout(format!("listening on {PORT}")))
        .start()
        .unwrap_or_else(|e| panic!("testcontainers could not start {shown}: {e}"));
    let port = container
        .get_host_port_ipv4(PORT)
        .unwrap_or_else(|e| panic!("the host port of {}: {e}", container.id()));
    check(SocketAddr::from(([127, 0, 0, 1], port)));
}

/// A fresh Dockerfile with testcontainers-rs: build `generated/fresh` as `name:<FRESH_TAG>`
/// (every process asks; testcontainers-rs sends its build), then run the image it returns as
/// [`testcontainers_test`] runs the fixture image.
pub fn testcontainers_fresh_test(name: &str) {
    use testcontainers::runners::SyncBuilder;
    use testcontainers::GenericBuildableImage;

    let tag = fresh_tag();
    let context = generated("fresh");
    let image = GenericBuildableImage::new(name, &tag)
        .with_dockerfile(context.join("Dockerfile"))
        .with_file(context.join("fixture"), "fixture")
        .build_image()
        .unwrap_or_else(|e| panic!("testcontainers could not build {name}:{tag}: {e}"));
    testcontainers_run(image);
}

/// A whole test with bollard alone, as a user writes it, with the fixture image
/// ([`FIXTURE_IMAGE`]): see [`bollard_run`].
pub fn bollard_test() {
    let (name, tag) = FIXTURE_IMAGE;
    bollard_run(&format!("{name}:{tag}"));
}

/// Creates a container of `image` with the port published on loopback, starts it, polls the
/// server until it answers, checks it, and removes it.
fn bollard_run(image: &str) {
    runtime().block_on(async {
        let docker = connect();
        let id = start(&docker, image).await;
        let port = host_port(&docker, &id).await;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let started = Instant::now();
        // A published port accepts connections before the server inside listens: only an
        // answer says it is ready.
        while dockside_tests::http::get(addr, "/health").is_err() {
            assert!(
                started.elapsed() < READY_WITHIN,
                "container {id} of {image} did not answer within {READY_WITHIN:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        check(addr);
        let options = RemoveContainerOptionsBuilder::new()
            .force(true)
            .v(true)
            .build();
        docker
            .remove_container(&id, Some(options))
            .await
            .unwrap_or_else(|e| panic!("removing container {id}: {e}"));
    });
}

/// A fresh Dockerfile with bollard alone: every process builds `generated/fresh` as
/// `name:<FRESH_TAG>` with the daemon's default builder (what `build_image` does unless asked
/// for BuildKit), then runs it as [`bollard_test`] runs the fixture image.
pub fn bollard_fresh_test(name: &str) {
    let reference = format!("{name}:{}", fresh_tag());
    runtime().block_on(async {
        let docker = connect();
        let context = tar_of(&generated("fresh"));
        let options = BuildImageOptionsBuilder::new()
            .t(&reference)
            .rm(true)
            .forcerm(true)
            .build();
        let mut stream =
            docker.build_image(options, None, Some(bollard::body_full(context.into())));
        while let Some(item) = stream.next().await {
            if let Err(e) = item {
                panic!("building {reference}: {e}");
            }
        }
    });
    bollard_run(&reference);
}

fn fresh_tag() -> String {
    std::env::var(FRESH_TAG).unwrap_or_else(|_| panic!("the driver sets {FRESH_TAG}"))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// The daemon at `DOCKER_HOST` (else the local socket), at bollard's default API version, as
/// testcontainers-rs asks for it too; the driver's proxy serves it to an older daemon.
fn connect() -> Docker {
    let docker = match std::env::var("DOCKER_HOST") {
        Ok(host) => Docker::connect_with_unix(&host, 120, bollard::API_DEFAULT_VERSION),
        Err(_) => Docker::connect_with_local_defaults(),
    };
    docker.unwrap_or_else(|e| panic!("connecting to the docker daemon: {e}"))
}

async fn start(docker: &Docker, image: &str) -> String {
    let port_key = format!("{PORT}/tcp");
    let body = ContainerCreateBody {
        image: Some(image.to_owned()),
        exposed_ports: Some(vec![port_key.clone()]),
        labels: Some([("dockside-compare".to_owned(), "bollard".to_owned())].into()),
        host_config: Some(HostConfig {
            port_bindings: Some(
                [(
                    port_key,
                    Some(vec![PortBinding {
                        host_ip: Some("127.0.0.1".to_owned()),
                        host_port: Some(String::new()),
                    }]),
                )]
                .into(),
            ),
            ..Default::default()
        }),
        ..Default::default()
    };
    let created = docker
        .create_container(None, body)
        .await
        .unwrap_or_else(|e| panic!("creating a container of {image}: {e}"));
    docker
        .start_container(&created.id, None)
        .await
        .unwrap_or_else(|e| panic!("starting container {}: {e}", created.id));
    created.id
}

async fn host_port(docker: &Docker, id: &str) -> u16 {
    let inspected = docker
        .inspect_container(id, None)
        .await
        .unwrap_or_else(|e| panic!("inspecting container {id}: {e}"));
    inspected
        .network_settings
        .and_then(|n| n.ports)
        .and_then(|ports| ports.get(&format!("{PORT}/tcp")).cloned().flatten())
        .and_then(|bindings| bindings.into_iter().find_map(|b| b.host_port))
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("container {id} has no host port for {PORT}"))
}

/// The folder as a tar, the way a user of bollard sends a build context.
fn tar_of(dir: &Path) -> Vec<u8> {
    let mut archive = tar::Builder::new(Vec::new());
    archive
        .append_dir_all(".", dir)
        .unwrap_or_else(|e| panic!("archiving {}: {e}", dir.display()));
    archive
        .into_inner()
        .unwrap_or_else(|e| panic!("archiving {}: {e}", dir.display()))
}
