//! Signals: what the handler removes, how a second signal and SIGHUP end the process, and that
//! a test's own handler keeps its signal.

use std::process::Command;
use std::time::{Duration, Instant};

use dockside::{docker_test, Container};
use dockside_tests::docker_cli;
use dockside_tests::isolated::{self, Running};
use dockside_tests::owned::{after_removal, containers_owned_by, exists, Owner};
use dockside_tests::proxy::{local_daemon_socket, DockerProxy, Fault};

fn send(signal: &str, child: &Running) {
    let sent = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill -{signal}");
}

#[docker_test(dockerfile = "fixtures/Dockerfile", cmd = ["sleep"])]
#[ignore = "run by the signal tests"]
fn child_sleeps_until_signalled(sleeper: Container) {
    println!("container-id={}", sleeper.id());
    std::thread::sleep(Duration::from_secs(60));
}

#[test]
fn sighup_removes_the_containers_and_exits_129() {
    let mut child = isolated::spawn(&[], "child_sleeps_until_signalled", &[]);
    let id = child.wait_for("container-id", Duration::from_secs(120));
    send("HUP", &child);
    let status = child.wait_until_ended(Duration::from_secs(10));
    let still_there = exists(&id);
    docker_cli::remove_container(&id);
    assert_eq!(
        status.map(|s| s.code()),
        Some(Some(129)),
        "{}",
        child.output()
    );
    assert!(!still_there, "container {id} left after SIGHUP");
}

#[test]
fn a_container_whose_creation_is_in_flight_is_removed_on_a_signal() {
    let proxy = DockerProxy::start(&local_daemon_socket()).unwrap();
    proxy.inject(Fault::DelayResponse {
        method: "POST".to_owned(),
        path_prefix: "/containers/create".to_owned(),
        delay: Duration::from_secs(2),
    });
    let host = proxy.docker_host();
    let mut child = isolated::spawn(
        &[],
        "child_sleeps_until_signalled",
        &[("DOCKER_HOST", host.as_str())],
    );
    let owner = Owner::of(child.id());
    let deadline = Instant::now() + Duration::from_secs(120);
    while proxy.count("POST", "/containers/create") == 0 {
        assert!(
            Instant::now() < deadline,
            "no container creation\n{}",
            child.output()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The daemon makes the container at once; only its answer is held back.
    std::thread::sleep(Duration::from_millis(500));
    send("TERM", &child);
    let status = child.wait_until_ended(Duration::from_secs(15));
    let left = containers_owned_by(owner);
    for id in &left {
        docker_cli::remove_container(id);
    }
    assert_eq!(
        status.map(|s| s.code()),
        Some(Some(143)),
        "{}",
        child.output()
    );
    assert_eq!(
        left,
        Vec::<String>::new(),
        "left behind\n{}",
        child.output()
    );
}

#[test]
fn a_second_signal_during_the_cleanup_exits_at_once() {
    let proxy = DockerProxy::start(&local_daemon_socket()).unwrap();
    let host = proxy.docker_host();
    let mut child = isolated::spawn(
        &[],
        "child_sleeps_until_signalled",
        &[("DOCKER_HOST", host.as_str())],
    );
    let id = child.wait_for("container-id", Duration::from_secs(120));
    // The removal the cleanup starts answers only after 20 s.
    proxy.inject(Fault::DelayResponse {
        method: "DELETE".to_owned(),
        path_prefix: "/containers/".to_owned(),
        delay: Duration::from_secs(20),
    });
    send("INT", &child);
    let first = child.wait_until_ended(Duration::from_secs(1));
    send("INT", &child);
    let second = child.wait_until_ended(Duration::from_secs(3));
    let output = child.output();
    drop(child);
    docker_cli::remove_container(&id);
    assert_eq!(first, None, "the cleanup was still under way\n{output}");
    assert_eq!(
        second.map(|s| s.code()),
        Some(Some(130)),
        "the second Ctrl-C ends the process at once\n{output}"
    );
}

#[docker_test(dockerfile = "fixtures/Dockerfile", cmd = ["sleep"])]
#[ignore = "run by the own-handler test"]
async fn child_handles_sigterm_itself(sleeper: Container) {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate()).unwrap();
    println!("container-id={}", sleeper.id());
    println!("handler-installed=1");
    let got = tokio::time::timeout(Duration::from_secs(60), terminate.recv()).await;
    assert!(got.is_ok(), "no SIGTERM within 60 s");
    // Shutting down gracefully takes a moment, and may still need the container.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let out = sleeper.exec(["/fixture", "env"]).await.unwrap();
    assert_eq!(out.exit_code, 0, "{out:?}");
    println!("got-sigterm=1");
}

#[test]
fn a_test_with_its_own_sigterm_handler_keeps_the_signal() {
    let mut child = isolated::spawn(&[], "child_handles_sigterm_itself", &[]);
    let id = child.wait_for("container-id", Duration::from_secs(120));
    child.wait_for("handler-installed", Duration::from_secs(10));
    send("TERM", &child);
    let status = child.wait_until_ended(Duration::from_secs(20));
    // Removed by dockside's courier process, which may outlive the test's.
    let still_there = after_removal(|| exists(&id), |there| !*there);
    docker_cli::remove_container(&id);
    let output = child.output();
    assert_eq!(
        status.map(|s| s.success()),
        Some(true),
        "the test handled SIGTERM and passed\n{output}"
    );
    assert!(output.contains("got-sigterm=1"), "{output}");
    assert!(
        !still_there,
        "container {id} left after the test ended\n{output}"
    );
}

#[docker_test(
    dockerfile = "fixtures/Dockerfile",
    cmd = ["sleep"],
    wait = log("a line never printed"),
    startup_timeout = "60s"
)]
#[ignore = "run by the signal-during-set-up test"]
fn child_waits_for_readiness_until_signalled(_sleeper: Container) {}

/// A signal while the set-up still waits for readiness: the cleanup removes the container the
/// set-up polls, which then fails. The process still ends with the signal's status, not the
/// harness's 101, once the cleanup is done.
#[test]
fn a_signal_during_the_set_up_ends_the_process_with_the_signals_status() {
    let proxy = DockerProxy::start(&local_daemon_socket()).unwrap();
    let host = proxy.docker_host();
    let mut child = isolated::spawn(
        &[],
        "child_waits_for_readiness_until_signalled",
        &[("DOCKER_HOST", host.as_str())],
    );
    let owner = Owner::of(child.id());
    let deadline = Instant::now() + Duration::from_secs(120);
    let id = loop {
        if let Some(id) = containers_owned_by(owner).into_iter().next() {
            break id;
        }
        assert!(
            Instant::now() < deadline,
            "no container\n{}",
            child.output()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    // The daemon removes the container at once; the cleanup learns so only 3 s later, while
    // the set-up's next poll finds the container gone.
    proxy.inject(Fault::DelayResponse {
        method: "DELETE".to_owned(),
        path_prefix: "/containers/".to_owned(),
        delay: Duration::from_secs(3),
    });
    send("TERM", &child);
    let status = child.wait_until_ended(Duration::from_secs(15));
    let still_there = exists(&id);
    docker_cli::remove_container(&id);
    assert_eq!(
        status.map(|s| s.code()),
        Some(Some(143)),
        "{}",
        child.output()
    );
    assert!(!still_there, "container {id} left after SIGTERM");
}
