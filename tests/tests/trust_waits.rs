//! The readiness phase is one deadline: a custom probe that never returns is cut off at
//! `startup_timeout` like one that keeps saying "not yet".

use std::time::{Duration, Instant};

use dockside::{docker_test, Container};
use dockside_tests::child;

/// A probe stuck for good, as one waiting on a connection that never answers would be.
async fn never_returns(_container: Container) -> bool {
    std::future::pending::<()>().await;
    false
}

#[docker_test(
    dockerfile = "fixtures/Dockerfile",
    ports = [8080],
    wait = custom(never_returns),
    startup_timeout = "1s"
)]
#[ignore = "run by a custom probe that never returns is bounded by the startup timeout"]
fn child_waits_on_a_probe_that_never_returns(stuck: Container) {
    println!("the body ran with {}", stuck.id());
}

#[test]
fn a_custom_probe_that_never_returns_is_bounded_by_the_startup_timeout() {
    let mut spawned = child::spawn("child_waits_on_a_probe_that_never_returns", &[]);
    let started = Instant::now();
    while spawned.try_wait().expect("poll the child").is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = spawned.kill();
            let run = child::finish(spawned);
            panic!(
                "the child still waited after 60 s; killed it:\n{}",
                run.output()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let run = child::finish(spawned);
    let output = run.output();
    assert!(!run.passed(), "the child passed:\n{output}");
    assert!(!output.contains("the body ran"), "{output}");
    for expected in [
        "container stuck (",
        "was not ready after",
        "the custom readiness probe",
    ] {
        assert!(output.contains(expected), "no `{expected}` in:\n{output}");
    }
}
