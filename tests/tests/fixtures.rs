//! Typed fixtures against the real daemon: a parameter's type names its container and turns it
//! into the test's value; `setup` is retried until the startup timeout, and a set-up that never
//! succeeds or panics fails the test with its reasons and leaves nothing behind.

use std::error::Error;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use dockside::{docker_test, Container, ContainerSpec, Fixture};
use dockside_tests::{child, docker_cli, http};

type SetupResult<T> = Result<T, Box<dyn Error + Send + Sync>>;

/// The small test server, seen through its answer to `GET /`.
struct Web {
    body: String,
    container: Container,
}

impl Fixture for Web {
    fn container() -> ContainerSpec {
        // Relative to this crate's folder, as in the attribute.
        ContainerSpec::new("ignored")
            .dockerfile("fixtures/Dockerfile")
            .port(8080)
            .env("FROM_FIXTURE", "yes")
    }

    async fn setup(container: Container) -> SetupResult<Self> {
        let body = http::get(container.addr(8080), "/")?;
        Ok(Web { body, container })
    }
}

#[docker_test]
async fn async_test_gets_the_fixture(web: Web) {
    assert_eq!(web.body, "hello");
    // The parameter names the container, not the fixture's spec.
    assert_eq!(web.container.name(), "web");
}

#[docker_test]
fn sync_test_gets_the_fixture(site: Web) {
    assert_eq!(site.body, "hello");
    assert_eq!(site.container.name(), "site");
}

/// `#[container(...)]` on a fixture parameter overrides the fixture's keys one by one: `cmd`
/// replaces the image's, `env` adds a variable and keeps the fixture's.
#[docker_test]
async fn container_settings_override_the_fixture(
    #[container(cmd = ["serve", "--port", "8080", "--body", "overridden"], env(MODE = "x"))]
    db: Web,
) {
    assert_eq!(db.body, "overridden");
    let addr = db.container.addr(8080);
    assert_eq!(http::get(addr, "/env/MODE").unwrap(), "x");
    assert_eq!(http::get(addr, "/env/FROM_FIXTURE").unwrap(), "yes");
    assert_eq!(db.container.name(), "db");
}

#[docker_test]
async fn fixture_and_plain_container_in_one_test(
    web: Web,
    #[container(
        dockerfile = "fixtures/Dockerfile",
        cmd = ["serve", "--port", "9090", "--body", "plain"],
        ports = [9090]
    )]
    plain: Container,
) {
    assert_eq!(web.body, "hello");
    assert_eq!(http::get(plain.addr(9090), "/").unwrap(), "plain");
    assert_ne!(web.container.id(), plain.id());
}

static FLAKY_ATTEMPTS: AtomicUsize = AtomicUsize::new(0);

/// Fails its first three set-ups, like a database still starting.
struct Flaky {
    attempts: usize,
}

impl Fixture for Flaky {
    fn container() -> ContainerSpec {
        Web::container()
    }

    async fn setup(_container: Container) -> SetupResult<Self> {
        let attempts = FLAKY_ATTEMPTS.fetch_add(1, Ordering::SeqCst) + 1;
        if attempts <= 3 {
            return Err(format!("not yet (attempt {attempts})").into());
        }
        Ok(Flaky { attempts })
    }
}

#[docker_test]
fn setup_is_retried_until_it_succeeds(flaky: Flaky) {
    assert_eq!(flaky.attempts, 4);
}

/// Talks to the server through a task the set-up spawned, as a database client talks through
/// its connection task: the task must keep running while a plain `fn` body runs.
struct Client {
    requests: tokio::sync::mpsc::UnboundedSender<std::sync::mpsc::Sender<String>>,
}

impl Fixture for Client {
    fn container() -> ContainerSpec {
        Web::container()
    }

    async fn setup(container: Container) -> SetupResult<Self> {
        let (requests, mut incoming) =
            tokio::sync::mpsc::unbounded_channel::<std::sync::mpsc::Sender<String>>();
        let addr = container.addr(8080);
        tokio::spawn(async move {
            while let Some(reply) = incoming.recv().await {
                let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                stream
                    .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    .await
                    .unwrap();
                let mut response = String::new();
                stream.read_to_string(&mut response).await.unwrap();
                let _ = reply.send(response);
            }
        });
        Ok(Client { requests })
    }
}

#[docker_test]
fn tasks_spawned_by_setup_run_during_a_sync_body(client: Client) {
    let (reply, answer) = std::sync::mpsc::channel();
    client.requests.send(reply).unwrap();
    let response = answer
        .recv_timeout(Duration::from_secs(10))
        .expect("the set-up's task answers while the body runs");
    assert!(response.ends_with("hello"), "{response}");
}

// ---- children: set-ups that never succeed ----

/// Always refuses, naming its container on each attempt so the parent can look for it.
struct NeverReady;

impl Fixture for NeverReady {
    fn container() -> ContainerSpec {
        Web::container()
    }

    async fn setup(container: Container) -> SetupResult<Self> {
        println!("container-id={}", container.id());
        Err("the server said no".into())
    }
}

#[docker_test]
#[ignore = "run by failing_setup_times_out_with_its_reasons_and_leaves_nothing"]
// Readiness and set-up share the timeout: long enough that a loaded machine still leaves time
// for several attempts.
fn child_setup_never_succeeds(#[container(startup_timeout = "6s")] _never: NeverReady) {
    unreachable!("setup never succeeds");
}

struct Panics;

impl Fixture for Panics {
    fn container() -> ContainerSpec {
        Web::container()
    }

    async fn setup(container: Container) -> SetupResult<Self> {
        println!("container-id={}", container.id());
        panic!("setup exploded");
    }
}

#[docker_test]
#[ignore = "run by panicking_setup_fails_the_test_and_leaves_nothing"]
async fn child_setup_panics(_boom: Panics) {
    unreachable!("setup panics");
}

fn assert_removed(id: &str, output: &str) {
    // Removal is carried out off the test's clock, by a detached process: give it its time.
    let status = dockside_tests::owned::after_removal(
        || {
            docker_cli::docker(&["container", "inspect", id])
                .status
                .code()
        },
        |code| *code == Some(1),
    );
    assert_eq!(status, Some(1), "container {id} left behind:\n{output}");
}

#[test]
fn failing_setup_times_out_with_its_reasons_and_leaves_nothing() {
    let run = child::run("child_setup_never_succeeds", &[]);
    let output = run.output();
    assert!(!run.passed(), "{output}");
    for expected in [
        "setup of fixture fixtures::NeverReady on container never",
        "within 6s: the server said no",
        // The container's logs.
        "listening on 8080",
    ] {
        assert!(output.contains(expected), "no `{expected}` in:\n{output}");
    }
    let attempts = run.printed("container-id");
    assert!(attempts.len() > 1, "setup was not retried:\n{output}");
    assert_removed(&attempts[0], &output);
}

#[test]
fn panicking_setup_fails_the_test_and_leaves_nothing() {
    let run = child::run("child_setup_panics", &[]);
    let output = run.output();
    assert!(!run.passed(), "{output}");
    for expected in [
        "setup of fixture fixtures::Panics on container boom",
        "setup panicked: setup exploded",
        "listening on 8080",
    ] {
        assert!(output.contains(expected), "no `{expected}` in:\n{output}");
    }
    let attempts = run.printed("container-id");
    assert_eq!(attempts.len(), 1, "a panic is not retried:\n{output}");
    assert_removed(&attempts[0], &output);
}
