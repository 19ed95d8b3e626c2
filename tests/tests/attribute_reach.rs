//! What the attribute reaches beyond literals and single waits: a multi-thread runtime for the
//! body, values computed when the test runs, a command that must succeed in the container, a
//! log line seen several times, and several waits at once.
//!
//! Waits that must not be met run as child processes (`#[ignore]`d tests run by name), and the
//! parent reads their not-ready message.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dockside::{docker_test, Container};
use dockside_tests::{child, docker_cli, http};

/// Runs the child test `name`, checks that it failed, and returns what it printed.
fn failing_child(name: &str) -> String {
    let run = child::run(name, &[]);
    let output = run.output();
    assert!(!run.passed(), "the child passed:\n{output}");
    output
}

#[docker_test(
    dockerfile = "fixtures/Dockerfile",
    ports = [8080],
    flavor = "multi_thread",
    worker_threads = 2
)]
async fn multi_thread_runs_two_tasks_in_parallel(_web: Container) {
    // Each task holds its thread until the other has started: only two threads running at
    // once get both through (one thread would hold forever, so each gives up after 10 s).
    let started = Arc::new(AtomicUsize::new(0));
    let task = |started: Arc<AtomicUsize>| {
        tokio::spawn(async move {
            started.fetch_add(1, Ordering::SeqCst);
            let since = Instant::now();
            while started.load(Ordering::SeqCst) < 2 {
                assert!(
                    since.elapsed() < Duration::from_secs(10),
                    "the other task did not run alongside this one"
                );
                std::thread::sleep(Duration::from_millis(1));
            }
            std::thread::current().id()
        })
    };
    let (first, second) = (task(Arc::clone(&started)), task(Arc::clone(&started)));
    let (first, second) = (first.await.unwrap(), second.await.unwrap());
    assert_ne!(first, second, "both tasks ran on one thread");
}

#[docker_test(dockerfile = "fixtures/Dockerfile", ports = [8080], flavor = "multi_thread")]
async fn block_in_place_works_under_multi_thread(web: Container) {
    let body = tokio::task::block_in_place(|| http::get(web.addr(8080), "/health"));
    assert_eq!(body.expect("GET /health answers"), "ok");
}

#[docker_test(dockerfile = "fixtures/Dockerfile", ports = [8080])]
#[should_panic(expected = "can call blocking only when running on the multi-threaded runtime")]
async fn block_in_place_panics_on_the_default_current_thread_runtime(_web: Container) {
    tokio::task::block_in_place(|| ());
}

const GREETING: &str = "hello from a const";

#[docker_test(
    dockerfile = "fixtures/Dockerfile",
    cmd = ["serve", "--port", "8080", "--body", format!("{GREETING}!")],
    ports = [8080],
    env(FROM_CONST = GREETING, FROM_ENV = std::env::var("CARGO_PKG_NAME").unwrap()),
    labels("dockside.test.kind" = String::from("reach"))
)]
fn values_are_expressions_evaluated_when_the_test_runs(web: Container) {
    let get = |path| http::get(web.addr(8080), path).expect("the server answers");
    assert_eq!(get("/"), "hello from a const!");
    assert_eq!(get("/env/FROM_CONST"), GREETING);
    assert_eq!(get("/env/FROM_ENV"), "dockside-tests");
    let label = docker_cli::inspect(web.id(), "{{index .Config.Labels \"dockside.test.kind\"}}");
    assert_eq!(label.trim(), "reach");
}

#[docker_test(
    dockerfile = "fixtures/Dockerfile",
    cmd = ["serve", "--port", "8080", "--delay-ms", "1500"],
    ports = [8080],
    wait = exec(["/fixture", "health", "--url", "http://127.0.0.1:8080/health"])
)]
fn an_exec_wait_hands_over_once_the_command_exits_0(web: Container) {
    // Only the command was awaited, not the port: it answering means the server does.
    assert_eq!(http::get(web.addr(8080), "/health").unwrap(), "ok");
}

#[docker_test(
    dockerfile = "fixtures/Dockerfile",
    cmd = ["sleep"],
    wait = exec(["/fixture", "exit", "--code", "3", "--stdout", "no response"]),
    startup_timeout = "1s"
)]
#[ignore = "run by an_exec_timeout_shows_the_last_exit_code_and_output"]
fn child_exec_says_why(_db: Container) {}

#[test]
fn an_exec_timeout_shows_the_last_exit_code_and_output() {
    let output = failing_child("child_exec_says_why");
    let expected = "`/fixture exit --code 3 --stdout no response` run in the container to exit \
                    with code 0 (last answer: it exited with code 3 and printed \"no response\")";
    assert!(output.contains(expected), "no `{expected}` in:\n{output}");
}

#[docker_test(
    dockerfile = "fixtures/Dockerfile",
    cmd = ["serve", "--port", "8080", "--port", "8081"],
    ports = [8080, 8081],
    wait = log("^listening on", times = 2)
)]
fn a_log_wait_counts_the_lines_it_needs(web: Container) {
    let logs = futures_block_on(web.logs());
    assert_eq!(logs.matches("listening on").count(), 2, "{logs}");
}

#[docker_test(
    dockerfile = "fixtures/Dockerfile",
    cmd = ["serve", "--port", "8080", "--port", "8081"],
    wait = log("^listening on", times = 3),
    startup_timeout = "1s"
)]
#[ignore = "run by a_log_wait_short_of_its_count_says_how_many_it_saw"]
fn child_log_times_says_why(_web: Container) {}

#[test]
fn a_log_wait_short_of_its_count_says_how_many_it_saw() {
    let output = failing_child("child_log_times_says_why");
    let expected = "3 log lines matching /^listening on/ (last answer: 2 of 3 seen; last lines \
                    seen: listening on 8080 | listening on 8081)";
    assert!(output.contains(expected), "no `{expected}` in:\n{output}");
}

#[docker_test(
    dockerfile = "fixtures/Dockerfile",
    cmd = ["serve", "--port", "8080", "--port", "8081", "--delay-ms", "500"],
    ports = [8080, 8081],
    wait = all(port(8080), http(8081, "/health"), log("listening on 8081"))
)]
fn all_waits_are_met_before_the_hand_over(web: Container) {
    assert_eq!(http::get(web.addr(8080), "/health").unwrap(), "ok");
    assert_eq!(http::get(web.addr(8081), "/health").unwrap(), "ok");
}

#[docker_test(
    dockerfile = "fixtures/Dockerfile",
    cmd = ["serve", "--port", "8080"],
    ports = [8080],
    wait = all(port(8080), log("never printed")),
    startup_timeout = "1s"
)]
#[ignore = "run by all_waits_must_hold_not_only_the_first"]
fn child_all_says_why(_web: Container) {}

#[test]
fn all_waits_must_hold_not_only_the_first() {
    let output = failing_child("child_all_says_why");
    let expected = "a log line matching /never printed/ (last answer: last lines seen: \
                    listening on 8080)";
    assert!(output.contains(expected), "no `{expected}` in:\n{output}");
}

/// `Container::logs` from a sync test: a runtime of its own, as a sync test would make.
fn futures_block_on<T>(future: impl std::future::Future<Output = dockside::Result<T>>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(future)
        .expect("the logs")
}
