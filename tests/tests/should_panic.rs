//! Panics and `#[should_panic]`: only the body's own panic satisfies `#[should_panic]` (a set-up
//! failure fails the test, a skipped test passes), a body that panics as expected is a passing
//! test (no log dump, nothing kept under `DOCKSIDE_KEEP=on-failure`), and a panic during set-up
//! removes what the set-up made so far.
//!
//! Each case is a child test process whose pass or fail is asserted: libtest's verdict is the
//! behaviour under test.

use std::time::Duration;

use dockside::{docker_test, Container};
use dockside_tests::child::{self, ChildRun};
use dockside_tests::docker_cli::{self, docker_ok};
use dockside_tests::owned::{self, Owner};

/// What a child's body does, as the parent asks: `panic` (the expected panic), `other` (a panic
/// with another message), anything else or unset (return).
const BODY: &str = "DOCKSIDE_TEST_BODY";
/// A `DOCKER_HOST` where no daemon answers.
const NO_DAEMON: (&str, &str) = ("DOCKER_HOST", "unix:///nonexistent/dockside-no-daemon.sock");

fn body_as_asked() {
    match std::env::var(BODY).as_deref() {
        Ok("panic") => panic!("the body panicked: as expected"),
        Ok("other") => panic!("the body panicked for another reason"),
        _ => println!("the body returned"),
    }
}

#[docker_test(dockerfile = "fixtures/Dockerfile", ports = [8080])]
#[ignore = "run by the should_panic tests"]
#[should_panic(expected = "panicked: as expected")]
fn child_should_panic(web: Container) {
    println!("container-id={}", web.id());
    body_as_asked();
}

/// A bare `#[should_panic]`: any panic of the body would do, and libtest alone would take
/// dockside's own set-up failure for it.
#[docker_test(dockerfile = "fixtures/Dockerfile", ports = [8080])]
#[ignore = "run by the should_panic tests"]
#[should_panic]
fn child_should_panic_at_all(web: Container) {
    println!("container-id={}", web.id());
    body_as_asked();
}

/// A bare `#[should_panic]` on a test whose set-up times out.
#[docker_test(
    dockerfile = "fixtures/Dockerfile",
    cmd = ["log", "--line", "something else"],
    wait = log("never printed"),
    startup_timeout = "1s"
)]
#[ignore = "run by a readiness timeout does not satisfy should_panic"]
#[should_panic]
async fn child_should_panic_but_never_ready(quiet: Container) {
    println!("container-id={}", quiet.id());
    panic!("the body panicked");
}

fn run(body: &str, envs: &[(&str, &str)]) -> (ChildRun, Owner) {
    run_child("child_should_panic", body, envs)
}

fn run_child(name: &str, body: &str, envs: &[(&str, &str)]) -> (ChildRun, Owner) {
    let mut all = vec![(BODY, body)];
    all.extend_from_slice(envs);
    let spawned = child::spawn(name, &all);
    let owner = Owner::of(spawned.id());
    (child::finish(spawned), owner)
}

fn assert_contains(output: &str, expected: &str) {
    assert!(output.contains(expected), "no `{expected}` in:\n{output}");
}

// ---- set-up ok ----

#[test]
fn a_body_that_panics_as_expected_passes_without_a_log_dump_or_kept_container() {
    for name in ["child_should_panic", "child_should_panic_at_all"] {
        let (run, owner) = run_child(name, "panic", &[("DOCKSIDE_KEEP", "on-failure")]);
        let left = owned::containers_left_by(owner);
        for id in &left {
            docker_cli::remove_container(id);
        }
        let output = run.output();
        assert!(run.passed(), "{name} failed:\n{output}");
        assert_contains(&output, "container-id=");
        assert!(!output.contains("log lines of container"), "{output}");
        assert!(!output.contains("kept container"), "{output}");
        assert_eq!(left, Vec::<String>::new(), "kept:\n{output}");
    }
}

#[test]
fn a_body_that_returns_fails_a_should_panic_test() {
    let (run, owner) = run("return", &[]);
    let output = run.output();
    assert!(!run.passed(), "the child passed:\n{output}");
    assert_contains(&output, "the body returned");
    assert_contains(
        &output,
        "should_panic::child_should_panic: test did not panic as expected",
    );
    assert_eq!(owned::containers_left_by(owner), Vec::<String>::new());
}

#[test]
fn a_panic_with_another_message_fails_showing_both() {
    let (run, _) = run("other", &[]);
    let output = run.output();
    assert!(!run.passed(), "the child passed:\n{output}");
    assert_contains(&output, "panic did not contain expected string");
    assert_contains(
        &output,
        r#"panic message: "the body panicked for another reason""#,
    );
    assert_contains(&output, r#"expected substring: "panicked: as expected""#);
}

// ---- set-up failed ----

#[test]
fn no_daemon_fails_a_should_panic_test_whose_body_would_panic() {
    let (run, _) = run_child("child_should_panic_at_all", "panic", &[NO_DAEMON]);
    let output = run.output();
    assert!(!run.passed(), "the child passed:\n{output}");
    assert!(!output.contains("container-id="), "the body ran:\n{output}");
    assert_contains(&output, "no docker daemon answered at unix:///nonexistent/");
}

#[test]
fn no_daemon_fails_a_should_panic_test_whose_body_would_return() {
    let (run, _) = run_child("child_should_panic_at_all", "return", &[NO_DAEMON]);
    let output = run.output();
    assert!(!run.passed(), "the child passed:\n{output}");
    assert!(!output.contains("container-id="), "the body ran:\n{output}");
    assert_contains(&output, "no docker daemon answered at unix:///nonexistent/");
}

#[test]
fn a_readiness_timeout_does_not_satisfy_should_panic() {
    let spawned = child::spawn("child_should_panic_but_never_ready", &[]);
    let owner = Owner::of(spawned.id());
    let run = child::finish(spawned);
    let output = run.output();
    assert!(!run.passed(), "the child passed:\n{output}");
    assert!(!output.contains("container-id="), "the body ran:\n{output}");
    assert_contains(&output, "was not ready after");
    assert_eq!(owned::containers_left_by(owner), Vec::<String>::new());
}

// ---- skipped ----

#[test]
fn a_skipped_should_panic_test_passes_as_skipped() {
    for name in ["child_should_panic", "child_should_panic_at_all"] {
        let (run, _) = run_child(
            name,
            "panic",
            &[NO_DAEMON, ("DOCKSIDE_SKIP_WITHOUT_DOCKER", "1")],
        );
        let output = run.output();
        assert!(run.passed(), "the child failed:\n{output}");
        assert!(!output.contains("container-id="), "the body ran:\n{output}");
        assert_contains(
            &output,
            &format!("dockside: skipping should_panic::{name}:"),
        );
    }
}

// ---- a panic during set-up ----

/// A probe that panics, after a moment so the other container's create has been answered.
async fn panics(_container: Container) -> bool {
    tokio::time::sleep(Duration::from_millis(500)).await;
    panic!("the probe panicked");
}

#[docker_test]
#[ignore = "run by a panic during set-up removes the containers and network made so far"]
fn child_probe_panics(
    #[container(dockerfile = "fixtures/Dockerfile", cmd = ["sleep"])] calm: Container,
    #[container(dockerfile = "fixtures/Dockerfile", ports = [8080], wait = custom(panics))]
    panicky: Container,
) {
    println!("the body ran with {} and {}", calm.id(), panicky.id());
}

#[test]
fn a_panic_during_set_up_removes_the_containers_and_network_made_so_far() {
    let run = child::run("child_probe_panics", &[]);
    let label = "label=dockside.test=should_panic::child_probe_panics";
    let (containers, networks) = owned::after_removal(
        || {
            (
                docker_ok(&["ps", "--all", "--quiet", "--filter", label]),
                docker_ok(&["network", "ls", "--quiet", "--filter", label]),
            )
        },
        |(containers, networks)| containers.is_empty() && networks.is_empty(),
    );
    for id in containers.lines() {
        docker_cli::remove_container(id);
    }
    for id in networks.lines() {
        docker_ok(&["network", "rm", id]);
    }
    let output = run.output();
    assert!(!run.passed(), "the child passed:\n{output}");
    assert!(!output.contains("the body ran"), "{output}");
    assert_contains(&output, "the probe panicked");
    assert_eq!(containers, "", "containers left:\n{output}");
    assert_eq!(networks, "", "networks left:\n{output}");
}
