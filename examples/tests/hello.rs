//! The smallest dockside tests: an image built from a Dockerfile, a container that is ready when
//! the test starts, removed when it ends.

use dockside::{docker_test, Container};
use dockside_examples::{http_get, http_get_async};

/// `dockerfile` is relative to this crate's Cargo.toml. The image is built once and tagged by a
/// hash of its content; running the test again builds nothing.
#[docker_test(dockerfile = "fixtures/Dockerfile", ports = [8080])]
fn serves_hello(web: Container) {
    let body = http_get(web.addr(8080), "/").expect("GET / answers");
    assert_eq!(body, "hello");
}

/// The server in this container starts listening only after 2 s. dockside waits until it really
/// accepts, so the first request succeeds.
#[docker_test(
    dockerfile = "fixtures/Dockerfile",
    cmd = ["serve", "--port", "8080", "--delay-ms", "2000", "--body", "finally"],
    ports = [8080]
)]
async fn waits_for_a_slow_server(web: Container) {
    let body = http_get_async(web.addr(8080), "/")
        .await
        .expect("the first request is answered");
    assert_eq!(body, "finally");
}

/// Tests may return `Result`; an `Err` fails the test and prints the container's last log lines.
#[docker_test(dockerfile = "fixtures/Dockerfile", env(GREETING = "hi there"), ports = [8080])]
async fn reads_its_environment(web: Container) -> Result<(), String> {
    let greeting = http_get_async(web.addr(8080), "/env/GREETING")
        .await
        .map_err(|e| e.to_string())?;
    if greeting == "hi there" {
        Ok(())
    } else {
        Err(format!("unexpected greeting {greeting:?}"))
    }
}
