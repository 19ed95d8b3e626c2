//! Saying what "ready" means. By default dockside waits until the server inside listens on every
//! port in `ports`; `wait` picks another signal.

use dockside::{docker_test, Container};
use dockside_examples::{http_get, http_get_async};

/// Ready when a log line (stdout or stderr) matches the regular expression.
#[docker_test(
    dockerfile = "fixtures/Dockerfile",
    cmd = ["log", "--line", "database system is ready", "--delay-ms", "500"],
    wait = log("system is ready$"),
    startup_timeout = "10s"
)]
async fn waits_for_a_log_line(db: Container) {
    let logs = db.logs().await.expect("read the container's logs");
    assert!(logs.contains("database system is ready"), "{logs}");
}

/// Ready when `GET /health` answers 2xx.
#[docker_test(dockerfile = "fixtures/Dockerfile", ports = [8080], wait = http(8080, "/health"))]
fn waits_for_http(web: Container) {
    let body = http_get(web.addr(8080), "/health").expect("GET /health answers");
    assert_eq!(body, "ok");
}

/// Ready when Docker reports the container healthy, here with a health check given in the test.
#[docker_test(
    dockerfile = "fixtures/Dockerfile",
    ports = [8080],
    healthcheck = ["/fixture", "health", "--url", "http://127.0.0.1:8080/health"],
    wait = healthy
)]
fn waits_for_docker_health(web: Container) {
    let body = http_get(web.addr(8080), "/").expect("GET / answers");
    assert_eq!(body, "hello");
}

/// Ready when your own probe says so; it is called until it returns `true` (or `Ok(())`).
/// (A TCP connect alone would not do: Docker's host port accepts before the server listens.)
/// A probe runs on the test's async runtime: use async I/O, and bound each attempt with a
/// timeout (`http_get_async` gives up after 5 s) so one silent connection cannot stall it.
async fn answers_on_8080(web: Container) -> bool {
    http_get_async(web.addr(8080), "/health")
        .await
        .is_ok_and(|body| body == "ok")
}

#[docker_test(dockerfile = "fixtures/Dockerfile", ports = [8080], wait = custom(answers_on_8080))]
async fn waits_for_a_custom_probe(web: Container) {
    assert!(answers_on_8080(web).await);
}
