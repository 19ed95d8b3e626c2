//! Saying what "ready" means. By default dockside waits until the server inside listens on every
//! port in `ports`; `wait` picks another signal.

use dockside::{docker_test, Container};
use dockside_examples::http_get;

/// Ready when a log line (stdout or stderr) matches the regular expression.
#[docker_test(
    dockerfile = "fixtures/Dockerfile",
    cmd = ["log", "--line", "database system is ready", "--delay-ms", "500"],
    wait = log("system is ready$"),
    startup_timeout = "10s"
)]
async fn waits_for_a_log_line(db: Container) {
    assert!(db
        .logs()
        .await
        .unwrap()
        .contains("database system is ready"));
}

/// Ready when `GET /health` answers 2xx.
#[docker_test(dockerfile = "fixtures/Dockerfile", ports = [8080], wait = http(8080, "/health"))]
fn waits_for_http(web: Container) {
    assert!(web.host_port(8080) > 0);
}

/// Ready when Docker reports the container healthy, here with a health check given in the test.
#[docker_test(
    dockerfile = "fixtures/Dockerfile",
    ports = [8080],
    healthcheck = ["/fixture", "health", "--url", "http://127.0.0.1:8080/health"],
    wait = healthy
)]
fn waits_for_docker_health(web: Container) {
    assert!(web.host_port(8080) > 0);
}

/// Ready when your own probe says so; it is called until it returns `true` (or `Ok(())`).
/// (A TCP connect alone would not do: Docker's host port accepts before the server listens.)
async fn answers_on_8080(web: Container) -> bool {
    http_get(web.addr(8080), "/health").is_ok_and(|body| body == "ok")
}

#[docker_test(dockerfile = "fixtures/Dockerfile", ports = [8080], wait = custom(answers_on_8080))]
async fn waits_for_a_custom_probe(web: Container) {
    assert!(answers_on_8080(web).await);
}
