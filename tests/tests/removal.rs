//! Removal off the test's clock: a test's process ends without waiting for the daemon to kill
//! and remove its containers (a detached courier does that), and nothing leaks when the daemon
//! fails to: the start-up sweep of a later process finds the container by its labels.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use dockside::{docker_test, Container};
use dockside_tests::child;
use dockside_tests::docker_cli;
use dockside_tests::owned::{after_removal, containers_left_by, exists, Owner};
use dockside_tests::proxy::{local_daemon_socket, DockerProxy, Fault};

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

#[docker_test(dockerfile = "fixtures/Dockerfile", ports = [8080])]
#[ignore = "run by the removal tests"]
fn child_serves(web: Container) {
    println!("container-id={}", web.id());
    println!("body-end-ms={}", now_ms());
}

#[docker_test]
#[ignore = "run by the removal tests"]
fn child_two_containers(
    #[container(dockerfile = "fixtures/Dockerfile", ports = [8080])] front: Container,
    #[container(dockerfile = "fixtures/Dockerfile", ports = [8080])] back: Container,
) {
    // By the network's name: Podman gives the name where Docker gives the id (`NetworkID`).
    let name = docker_cli::inspect(
        front.id(),
        "{{range $name, $n := .NetworkSettings.Networks}}{{$name}}{{end}}",
    );
    let network = docker_cli::docker_ok(&["network", "inspect", "--format", "{{.Id}}", &name]);
    println!("network-id={network}");
    println!("container-id={}", front.id());
    println!("container-id={}", back.id());
    println!("body-end-ms={}", now_ms());
}

/// How long after its body the child's process ended, with removals that the daemon (through
/// the proxy) answers only after `DELAY`.
const DELAY: Duration = Duration::from_secs(3);

/// Containers and networks alike.
fn delayed_removals(proxy: &DockerProxy) {
    proxy.inject(Fault::DelayResponse {
        method: "DELETE".to_owned(),
        path_prefix: "/".to_owned(),
        delay: DELAY,
    });
}

/// Runs `name` through `proxy`; returns its run and how long its process lived after its body.
fn run_timed(name: &str, proxy: &DockerProxy) -> (child::ChildRun, Duration) {
    let host = proxy.docker_host();
    let run = child::run(name, &[("DOCKER_HOST", host.as_str())]);
    let ended = now_ms();
    assert!(run.passed(), "{}", run.output());
    let body_end: u128 = run.printed_first("body-end-ms").parse().unwrap();
    let after_body = Duration::from_millis(u64::try_from(ended - body_end).unwrap());
    (run, after_body)
}

#[test]
fn a_test_process_ends_before_its_container_is_removed() {
    let proxy = DockerProxy::start(&local_daemon_socket()).unwrap();
    delayed_removals(&proxy);
    let (run, after_body) = run_timed("child_serves", &proxy);
    let id = run.printed_first("container-id");
    assert!(
        after_body < DELAY / 2,
        "the process waited {after_body:?} for the removal\n{}",
        run.output()
    );
    let started = Instant::now();
    assert!(
        after_removal(|| !exists(&id), |gone| *gone),
        "container {id} was never removed"
    );
    eprintln!("removed {:?} after the process ended", started.elapsed());
    // Another process's start-up sweep may have removed it first (its owner is gone): the
    // courier's request still comes.
    let deletes = || {
        proxy
            .requests()
            .into_iter()
            .filter(|(method, path)| method == "DELETE" && path.contains(id.as_str()))
            .count()
    };
    assert_eq!(after_removal(deletes, |n| *n > 0), 1);
}

#[test]
fn the_network_of_several_containers_goes_after_them_off_the_clock() {
    let proxy = DockerProxy::start(&local_daemon_socket()).unwrap();
    delayed_removals(&proxy);
    let (run, after_body) = run_timed("child_two_containers", &proxy);
    assert!(
        after_body < DELAY / 2,
        "the process waited {after_body:?} for the removal\n{}",
        run.output()
    );
    let network = run.printed_first("network-id");
    let containers = run.printed("container-id");
    assert_eq!(containers.len(), 2);
    for id in containers.iter().chain([&network]) {
        assert!(
            after_removal(|| !exists(id), |gone| *gone),
            "{id} was never removed\n{}",
            run.output()
        );
    }
    // One removal each, the network last (else the daemon refuses it while its containers are
    // there). Another process's start-up sweep may have removed them first (their owner is
    // gone): the courier's requests still come. (The child's own start-up sweep may have sent
    // removals of other tests' orphans through the proxy too: only ours count.)
    let ours = |path: &str| {
        containers
            .iter()
            .chain([&network])
            .any(|id| path.contains(id.as_str()))
    };
    let deletes = || -> Vec<String> {
        proxy
            .requests()
            .into_iter()
            .filter(|(method, path)| method == "DELETE" && ours(path))
            .map(|(_, path)| path.split('/').nth(1).unwrap_or_default().to_owned())
            .collect()
    };
    let deletes = after_removal(deletes, |d| d.len() >= 3);
    assert_eq!(deletes, ["containers", "containers", "networks"]);
}

#[test]
fn a_container_the_daemon_failed_to_remove_is_swept_by_a_later_process() {
    let proxy = DockerProxy::start(&local_daemon_socket()).unwrap();
    proxy.inject(Fault::ErrorStatus {
        method: "DELETE".to_owned(),
        path_prefix: "/containers/".to_owned(),
        status: 500,
        message: "injected: removal failed".to_owned(),
    });
    let host = proxy.docker_host();
    let failed = child::spawn("child_serves", &[("DOCKER_HOST", host.as_str())]);
    let owner = Owner::of(failed.id());
    let failed = child::finish(failed);
    assert!(failed.passed(), "{}", failed.output());
    let id = failed.printed_first("container-id");
    // The courier's request is refused: wait until it has been made.
    let ours = || {
        proxy
            .requests()
            .into_iter()
            .filter(|(method, path)| method == "DELETE" && path.contains(id.as_str()))
            .count()
    };
    assert_eq!(after_removal(ours, |n| *n > 0), 1);
    assert!(exists(&id), "the fault did not keep {id}");

    // Any later start-up sweeps it: its owner is gone.
    let sweeper = child::run("child_serves", &[("DOCKSIDE_SWEEP_INTERVAL", "0")]);
    assert!(sweeper.passed(), "{}", sweeper.output());
    assert_eq!(containers_left_by(owner), Vec::<String>::new());
    assert!(!exists(&id), "container {id} leaked");
}
