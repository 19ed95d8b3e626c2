//! Panics and `#[docker_test]`: a panic during set-up removes what the set-up made so far.
//!
//! Each case is a child test process whose pass or fail is asserted: libtest's verdict is the
//! behaviour under test.

use std::time::Duration;

use dockside::{docker_test, Container};
use dockside_tests::child;
use dockside_tests::docker_cli::{self, docker_ok};

fn assert_contains(output: &str, expected: &str) {
    assert!(output.contains(expected), "no `{expected}` in:\n{output}");
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
    let containers = docker_ok(&["ps", "--all", "--quiet", "--filter", label]);
    let networks = docker_ok(&["network", "ls", "--quiet", "--filter", label]);
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
