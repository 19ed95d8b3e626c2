//! Whose containers the start-up reaper may remove: never one whose owner may be alive, and
//! never one the user asked to keep.

use std::time::Duration;

use dockside::{docker_test, Container};
use dockside_tests::child;
use dockside_tests::docker_cli;
use dockside_tests::isolated::{self, OTHER_PID_NAMESPACE, WITHOUT_PROC};
use dockside_tests::owned::exists;

#[docker_test(dockerfile = "fixtures/Dockerfile", cmd = ["sleep"])]
#[ignore = "run by the ownership tests"]
fn child_holds_a_container(held: Container) {
    println!("container-id={}", held.id());
    std::thread::sleep(Duration::from_secs(120));
}

#[docker_test(dockerfile = "fixtures/Dockerfile", cmd = ["sleep", "--ms", "10"], wait = exit(0))]
#[ignore = "run by the ownership tests"]
fn child_starts_up_quickly(_brief: Container) {}

/// Starts an owner under `wrapper`, runs a normal dockside process beside it (its start-up
/// reaper sweeps), and tells whether the owner's container survived.
fn survives_a_run_beside_an_owner_under(wrapper: &[&str]) {
    let owner = isolated::spawn(wrapper, "child_holds_a_container", &[]);
    let id = owner.wait_for("container-id", Duration::from_secs(120));
    let sweep = child::run(
        "child_starts_up_quickly",
        // Sweeps even if another process swept a moment ago.
        &[("DOCKSIDE_SWEEP_INTERVAL", "0")],
    );
    let survived = exists(&id);
    let owner_output = owner.output();
    drop(owner);
    docker_cli::remove_container(&id);
    assert!(sweep.passed(), "{}", sweep.output());
    assert!(
        survived,
        "the container {id} of a live owner under {wrapper:?} was removed\n{}\n{owner_output}",
        sweep.output()
    );
}

#[test]
fn a_live_owner_in_another_pid_namespace_keeps_its_container() {
    survives_a_run_beside_an_owner_under(OTHER_PID_NAMESPACE);
}

#[test]
fn a_live_owner_without_a_readable_proc_keeps_its_container() {
    survives_a_run_beside_an_owner_under(WITHOUT_PROC);
}

// ---- DOCKSIDE_KEEP: kept containers outlive later runs ----

#[docker_test(dockerfile = "fixtures/Dockerfile", cmd = ["sleep"])]
#[ignore = "run by the keep tests"]
fn child_keeps_a_container(kept: Container) {
    println!("container-id={}", kept.id());
    assert!(
        std::env::var("DOCKSIDE_TEST_FAIL").is_err(),
        "failing as asked"
    );
}

/// Runs `child_keeps_a_container` with `envs`, then a normal dockside process (whose start-up
/// reaper sweeps), and asserts the kept container is still there.
fn a_kept_container_outlives_the_next_run(envs: &[(&str, &str)]) {
    let keeper = child::run("child_keeps_a_container", envs);
    let id = keeper
        .printed("container-id")
        .pop()
        .unwrap_or_else(|| panic!("no container-id\n{}", keeper.output()));
    let announced = keeper.output().contains("kept container kept");
    let sweep = child::run(
        "child_starts_up_quickly",
        // Sweeps even if another process swept a moment ago.
        &[("DOCKSIDE_SWEEP_INTERVAL", "0")],
    );
    let survived = exists(&id);
    docker_cli::remove_container(&id);
    assert!(announced, "{}", keeper.output());
    assert!(sweep.passed(), "{}", sweep.output());
    assert!(
        survived,
        "kept container {id} was removed by the next run\n{}",
        sweep.output()
    );
}

#[test]
fn a_container_kept_always_outlives_the_next_run() {
    a_kept_container_outlives_the_next_run(&[("DOCKSIDE_KEEP", "always")]);
}

#[test]
fn a_container_kept_on_failure_outlives_the_next_run() {
    a_kept_container_outlives_the_next_run(&[
        ("DOCKSIDE_KEEP", "on-failure"),
        ("DOCKSIDE_TEST_FAIL", "1"),
    ]);
}
