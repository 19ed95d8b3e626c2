//! 16 tests on one shared container against one container each, side by side in one run,
//! alternating rounds: the wall time of the 16 tests and the containers they create (counted by
//! a proxy in front of the daemon). A round is a run: a process of its own (this binary again,
//! standing in for nextest, with a fresh `NEXTEST_RUN_ID`) that starts each test as a fresh
//! process, two at a time, as nextest runs them on two cores, and exits; its shared container
//! is removed then, by its watcher, while the proxy still serves. The server takes `DELAY_MS` to listen, as a database takes seconds to
//! start; a second pair of rounds uses a server that listens at once. Prints figures; asserts
//! nothing.
//!
//! Run: `cargo bench -p dockside-tests --bench shared --profile dev` (a Docker daemon must be
//! running). See BENCHMARKS.md.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dockside::__private::{run_sync, ContainerSpec, TestSpec};
use dockside::{BuildSpec, Container, Image};
use dockside_tests::figures::{median, ratio, row};
use dockside_tests::proxy::{local_daemon_socket, DockerProxy};

const TESTS: usize = 16;
/// Test processes at a time: nextest's default on this two-core machine.
const PARALLEL: usize = 2;
const ROUNDS: usize = 3;
const ONE_TEST: &str = "--one-test";
const ONE_RUN: &str = "--one-run";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, sharing, delay] = args.as_slice() {
        if flag == ONE_TEST {
            return one_test(sharing == "shared", delay);
        }
        if flag == ONE_RUN {
            return one_run(sharing, delay);
        }
    }
    let dockerfile = format!("{}/fixtures/Dockerfile", env!("CARGO_MANIFEST_DIR"));
    // Every figure below is about a present image.
    Image::Build(BuildSpec::new(&dockerfile))
        .resolve()
        .expect("fixture image");
    let proxy = DockerProxy::start(&local_daemon_socket()).expect("proxy");
    println!("dockside: {TESTS} tests, {PARALLEL} processes at a time, {ROUNDS} rounds, medians:");
    for delay_ms in ["2000", "0"] {
        let mut shared = Vec::new();
        let mut own = Vec::new();
        for _ in 0..ROUNDS {
            shared.push(round(&proxy, true, delay_ms));
            own.push(round(&proxy, false, delay_ms));
        }
        let created = |rounds: &[(Duration, usize)]| rounds.iter().map(|r| r.1).max();
        let (shared_created, own_created) = (created(&shared), created(&own));
        let shared = median(shared.into_iter().map(|r| r.0).collect());
        let own = median(own.into_iter().map(|r| r.0).collect());
        println!("server listening after {delay_ms} ms:");
        row(
            "16 tests, one shared container: wall time",
            format!("{shared:.2?}"),
        );
        row(
            "  containers created per round (most)",
            format!("{shared_created:?}"),
        );
        row(
            "16 tests, one container each: wall time",
            format!("{own:.2?}"),
        );
        row(
            "  containers created per round (most)",
            format!("{own_created:?}"),
        );
        row(
            "  ratio shared / each",
            format!("{:.2}", ratio(shared, own)),
        );
    }
    // The runs' shared containers go once their runs have ended; leave nothing behind.
    let deadline = Instant::now() + Duration::from_secs(30);
    while proxy.count("DELETE", "/containers/") < proxy.count("POST", "/containers/create")
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One round, a run of [`TESTS`] test processes; its wall time and how many containers it
/// created.
fn round(proxy: &DockerProxy, shared: bool, delay_ms: &str) -> (Duration, usize) {
    let before = proxy.count("POST", "/containers/create");
    let run_id = format!("bench-shared-{}", dockside_tests::child::nonce());
    let sharing = if shared { "shared" } else { "own" };
    let exe = std::env::current_exe().expect("the benchmark knows its path");
    let started = Instant::now();
    let status = Command::new(exe)
        .args([ONE_RUN, sharing, delay_ms])
        .env("DOCKER_HOST", proxy.docker_host())
        .env("NEXTEST_RUN_ID", &run_id)
        .status()
        .expect("run a round");
    assert!(status.success(), "a round failed: {status}");
    let elapsed = started.elapsed();
    (elapsed, proxy.count("POST", "/containers/create") - before)
}

/// The run's process: [`TESTS`] test processes, [`PARALLEL`] at a time.
fn one_run(sharing: &str, delay_ms: &str) {
    let exe = std::env::current_exe().expect("the benchmark knows its path");
    let mut running: Vec<Child> = Vec::new();
    let mut left = TESTS;
    while left > 0 || !running.is_empty() {
        while left > 0 && running.len() < PARALLEL {
            let child = Command::new(&exe)
                .args([ONE_TEST, sharing, delay_ms])
                .stdout(Stdio::null())
                .spawn()
                .expect("spawn a test process");
            running.push(child);
            left -= 1;
        }
        std::thread::sleep(Duration::from_millis(5));
        running.retain_mut(|child| match child.try_wait().expect("poll a test") {
            Some(status) => {
                assert!(status.success(), "a test process failed: {status}");
                false
            }
            None => true,
        });
    }
}

/// One test in this process: a server that listens after `delay_ms`, shared or not, and one
/// request to it.
fn one_test(shared: bool, delay_ms: &str) {
    let mut spec = ContainerSpec::new("web")
        .dockerfile("fixtures/Dockerfile")
        .cmd(["serve", "--port", "8080", "--delay-ms", delay_ms])
        .port(8080);
    if shared {
        spec = spec.shared();
    }
    let test = TestSpec::new("bench::shared", env!("CARGO_MANIFEST_DIR")).container(spec);
    run_sync(test, |mut args| {
        let web: Container = args.take();
        let body = dockside_tests::http::get(web.addr(8080), "/").expect("the server answers");
        assert_eq!(body, "hello");
    });
}
