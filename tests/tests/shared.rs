//! Shared containers: one container for every test of a run that asks for the same settings,
//! across processes and threads, removed by the run's watcher once the run's process has exited,
//! or by the next start-up when everything (the watcher too) was killed.
//!
//! A run here is a `sh` process standing in for nextest: it starts the members (child tests of
//! this binary) with `NEXTEST_RUN_ID` set, so their parent is the run's process, as nextest is
//! for its tests. Each test uses a lock folder of its own, where the run's watcher keeps its lock
//! file: the watchers found holding one are this test's.

use std::path::Path;
use std::time::{Duration, Instant};

use dockside::__private::{run_sync, ContainerSpec, TestSpec};
use dockside::{docker_test, Container};
use dockside_tests::isolated::{self, Running};
use dockside_tests::net::TcpDaemon;
use dockside_tests::owned::exists;
use dockside_tests::watchers::{run_files, watchers};
use dockside_tests::{child, docker_cli, http};

/// The longest a shared container may outlive its run.
const AFTER_THE_RUN: Duration = Duration::from_secs(30);

// ---- members of the runs below ----

/// What a member does besides printing its container: `stop` stops the shared container, `fail`
/// fails the test; hold it for `DOCKSIDE_TEST_HOLD_MS` first.
#[docker_test(dockerfile = "fixtures/Dockerfile", ports = [8080], shared)]
#[ignore = "run by the shared tests"]
async fn child_uses_shared(web: Container) {
    println!("container-id={}", web.id());
    println!("member-pid={}", std::process::id());
    let body = http::get(web.addr(8080), "/").expect("the shared server answers");
    assert_eq!(body, "hello");
    if let Ok(ms) = std::env::var("DOCKSIDE_TEST_HOLD_MS") {
        tokio::time::sleep(Duration::from_millis(ms.parse().unwrap())).await;
    }
    match std::env::var("DOCKSIDE_TEST_ACT").as_deref() {
        Ok("stop") => web.stop().await.expect("stop the shared container"),
        Ok("fail") => panic!("failing as asked"),
        _ => {}
    }
}

/// Four threads of one process, each a test asking for the same shared container.
#[test]
#[ignore = "run by the shared tests"]
fn child_threads_share() {
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                let spec = ContainerSpec::new("web")
                    .dockerfile("fixtures/Dockerfile")
                    .port(8080)
                    .shared();
                let test = TestSpec::new("shared::thread", env!("CARGO_MANIFEST_DIR"));
                run_sync(test.container(spec), |mut args| {
                    let web: Container = args.take();
                    println!("container-id={}", web.id());
                });
            });
        }
    });
}

#[docker_test(dockerfile = "fixtures/Dockerfile", cmd = ["sleep", "--ms", "10"], wait = exit(0))]
#[ignore = "run by the shared tests"]
fn child_starts_up_quickly(_brief: Container) {}

#[docker_test(
    dockerfile = "fixtures/Dockerfile",
    cmd = ["sleep", "--ms", "10"],
    wait = exit(0),
    shared
)]
#[ignore = "run by the shared tests"]
fn child_shares_a_one_shot_container(_once: Container) {}

// ---- the run's process ----

/// `sh` as the run's process: starts the test binary's command line (`"$@"`) `$MEMBERS` times
/// at once and waits for them all, as nextest starts the tests of a run.
const CONCURRENT_MEMBERS: &[&str] = &[
    "sh",
    "-c",
    "i=0; while [ $i -lt $MEMBERS ]; do \"$@\" & i=$((i+1)); done; wait",
    "sh",
];

/// `sh` as the run's process, with two members one after the other, the first with
/// `DOCKSIDE_TEST_ACT=$FIRST`.
const FIRST_THEN_SECOND: &[&str] = &[
    "sh",
    "-c",
    "DOCKSIDE_TEST_ACT=$FIRST \"$@\"; \"$@\"; true",
    "sh",
];

/// Starts a run of `child_uses_shared` members under `wrapper`, with its own run id and the
/// lock folder `lock_dir`.
fn start_run(wrapper: &[&str], lock_dir: &Path, envs: &[(&str, &str)]) -> Running {
    let run_id = format!("shared-test-{}", child::nonce());
    let lock_dir = lock_dir.display().to_string();
    let mut all = vec![
        ("NEXTEST_RUN_ID", run_id.as_str()),
        ("DOCKSIDE_LOCK_DIR", lock_dir.as_str()),
    ];
    all.extend_from_slice(envs);
    isolated::spawn(wrapper, "child_uses_shared", &all)
}

/// Waits until `probe` holds, at most `limit`; how long it took, `None` if it never held.
fn within(limit: Duration, probe: impl Fn() -> bool) -> Option<Duration> {
    let started = Instant::now();
    loop {
        if probe() {
            return Some(started.elapsed());
        }
        if started.elapsed() >= limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// After the run's process has ended: the container goes within [`AFTER_THE_RUN`], then the
/// watcher exits and leaves no lock file.
fn removed_after_the_run(id: &str, lock_dir: &Path, output: &str) {
    let gone = within(AFTER_THE_RUN, || !exists(id));
    if gone.is_none() {
        docker_cli::remove_container(id);
    }
    let gone = gone.unwrap_or_else(|| {
        panic!("shared container {id} outlived its run by {AFTER_THE_RUN:?}\n{output}")
    });
    eprintln!("shared container removed {gone:?} after the run's process ended");
    let exited = within(Duration::from_secs(5), || watchers(lock_dir).is_empty());
    assert!(
        exited.is_some(),
        "the watcher lingers after its run: {:?}",
        watchers(lock_dir)
    );
    assert_eq!(
        run_files(lock_dir),
        Vec::<String>::new(),
        "the watcher left its lock file\n{output}"
    );
}

fn passed_members(output: &str) -> usize {
    output.matches("test result: ok. 1 passed").count()
}

// ---- the tests ----

#[test]
fn processes_of_a_run_share_one_container_removed_after_the_run() {
    let lock_dir = tempfile::tempdir().unwrap();
    let mut run = start_run(
        CONCURRENT_MEMBERS,
        lock_dir.path(),
        &[("MEMBERS", "4"), ("DOCKSIDE_TEST_HOLD_MS", "2000")],
    );
    let ids: Vec<String> = (0..4)
        .map(|_| run.wait_for("container-id", Duration::from_secs(120)))
        .collect();
    // All four hold it now: the run is under way.
    let running_watchers = watchers(lock_dir.path());
    let run_pid = run_process_of(&ids[0]);
    let ended = run.wait_until_ended(Duration::from_secs(120));
    let output = run.output();
    assert!(ended.is_some(), "the run did not end\n{output}");
    assert_eq!(passed_members(&output), 4, "{output}");
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}\n{output}");
    assert_eq!(
        running_watchers.len(),
        1,
        "one watcher per run: {running_watchers:?}"
    );
    assert_eq!(run_pid, run.id(), "the run's process is nextest's stand-in");
    removed_after_the_run(&ids[0], lock_dir.path(), &output);
}

/// A daemon reached over plain `tcp://`: the watcher speaks HTTP to it as to a unix socket.
#[test]
fn over_a_tcp_daemon_a_run_shares_one_container_removed_after_the_run() {
    let Some(daemon) = TcpDaemon::start() else {
        return;
    };
    let host = daemon.docker_host();
    let lock_dir = tempfile::tempdir().unwrap();
    let mut run = start_run(
        CONCURRENT_MEMBERS,
        lock_dir.path(),
        &[("MEMBERS", "2"), ("DOCKER_HOST", host.as_str())],
    );
    let ids: Vec<String> = (0..2)
        .map(|_| run.wait_for("container-id", Duration::from_secs(120)))
        .collect();
    let ended = run.wait_until_ended(Duration::from_secs(120));
    let output = run.output();
    assert!(ended.is_some(), "the run did not end\n{output}");
    assert_eq!(passed_members(&output), 2, "{output}");
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}\n{output}");
    removed_after_the_run(&ids[0], lock_dir.path(), &output);
}

/// The pid of the run's process a shared container's `dockside.run` label names.
fn run_process_of(id: &str) -> u32 {
    let label = docker_cli::inspect(id, "{{index .Config.Labels \"dockside.run\"}}");
    label
        .split('/')
        .nth(2)
        .and_then(|pid| pid.parse().ok())
        .unwrap_or_else(|| panic!("no run process in the label {label:?} of {id}"))
}

#[test]
fn under_cargo_test_the_cargo_process_is_the_run() {
    let lock_dir = tempfile::tempdir().unwrap();
    // A shell by the name `cargo` stands in for `cargo test`, which starts the test binaries.
    let bin = tempfile::tempdir().unwrap();
    let cargo = bin.path().join("cargo");
    std::os::unix::fs::symlink("/bin/sh", &cargo).unwrap();
    let cargo = cargo.display().to_string();
    let wrapper = [cargo.as_str(), "-c", "\"$@\"; true", "cargo"];
    let mut run = start_run(&wrapper, lock_dir.path(), &[("NEXTEST_RUN_ID", "")]);
    let id = run.wait_for("container-id", Duration::from_secs(120));
    let run_pid = run_process_of(&id);
    let ended = run.wait_until_ended(Duration::from_secs(120));
    let output = run.output();
    assert!(ended.is_some() && passed_members(&output) == 1, "{output}");
    assert_eq!(run_pid, run.id(), "the run's process is cargo's stand-in");
    removed_after_the_run(&id, lock_dir.path(), &output);
}

#[test]
fn threads_of_a_process_share_one_container_removed_after_it() {
    let lock_dir = tempfile::tempdir().unwrap();
    let lock_dir_text = lock_dir.path().display().to_string();
    // No nextest run and no cargo parent: the child process is the run.
    let run = child::run(
        "child_threads_share",
        &[
            ("NEXTEST_RUN_ID", ""),
            ("DOCKSIDE_LOCK_DIR", lock_dir_text.as_str()),
        ],
    );
    let ids = run.printed("container-id");
    assert!(run.passed(), "{}", run.output());
    assert_eq!(ids.len(), 4, "{}", run.output());
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    removed_after_the_run(&ids[0], lock_dir.path(), &run.output());
}

/// Kills a run's members, its watcher and its process with SIGKILL; the id of its shared
/// container, and whether that container survived the kill.
fn kill_a_run(lock_dir: &Path) -> (String, bool) {
    let run = start_run(
        CONCURRENT_MEMBERS,
        lock_dir,
        &[("MEMBERS", "2"), ("DOCKSIDE_TEST_HOLD_MS", "120000")],
    );
    let id = run.wait_for("container-id", Duration::from_secs(120));
    let members = [
        run.wait_for("member-pid", Duration::from_secs(120)),
        run.wait_for("member-pid", Duration::from_secs(120)),
    ];
    let watcher = watchers(lock_dir);
    assert_eq!(watcher.len(), 1, "{}", run.output());
    for pid in watcher.iter().map(u32::to_string).chain(members) {
        docker_cli::run_ok("kill", &["-KILL", &pid]);
    }
    // SIGKILL of the run's process.
    drop(run);
    (id.clone(), exists(&id))
}

#[test]
fn after_everything_was_killed_the_next_start_up_removes_it() {
    let lock_dir = tempfile::tempdir().unwrap();
    let lock_dir_text = lock_dir.path().display().to_string();
    // Any dockside process's sweep may remove the container of a killed run, rightly: then
    // nothing is left for the start-up under test, and the run is killed again.
    let (id, survived_the_kill) = (0..3)
        .map(|_| kill_a_run(lock_dir.path()))
        .find(|(_, survived)| *survived)
        .unwrap_or_else(|| (String::new(), false));
    assert!(
        survived_the_kill,
        "other processes' sweeps removed the container three times: nothing left to test"
    );
    // The members swept a moment ago, and this interval would keep a normal start-up from
    // sweeping: a run that is over with its watcher gone makes the sweep due anyway.
    let next = child::run(
        "child_starts_up_quickly",
        &[
            ("DOCKSIDE_LOCK_DIR", lock_dir_text.as_str()),
            ("DOCKSIDE_SWEEP_INTERVAL", "1h"),
        ],
    );
    let survived_the_start_up = exists(&id);
    docker_cli::remove_container(&id);
    assert!(next.passed(), "{}", next.output());
    assert!(
        !survived_the_start_up,
        "shared container {id} of a killed run survived the next start-up\n{}",
        next.output()
    );
    assert_eq!(run_files(lock_dir.path()), Vec::<String>::new());
}

#[test]
fn a_stopped_shared_container_is_reported_to_the_tests_that_need_it() {
    let lock_dir = tempfile::tempdir().unwrap();
    let mut run = start_run(FIRST_THEN_SECOND, lock_dir.path(), &[("FIRST", "stop")]);
    let id = run.wait_for("container-id", Duration::from_secs(120));
    let ended = run.wait_until_ended(Duration::from_secs(120));
    let output = run.output();
    assert!(ended.is_some(), "{output}");
    assert_eq!(passed_members(&output), 1, "{output}");
    let short = &id[..12];
    for expected in [
        format!("shared container web ({short}, image dockside/fixtures:"),
        "started for this run by test shared::child_uses_shared, is exited (exit code ".to_owned(),
        "it is not restarted within the run".to_owned(),
        format!("--- last log lines of web ({short}, image dockside/fixtures:"),
        "listening on 8080\n".to_owned(),
    ] {
        assert!(output.contains(&expected), "no {expected:?} in:\n{output}");
    }
    removed_after_the_run(&id, lock_dir.path(), &output);
}

#[test]
fn a_failing_test_leaves_the_shared_container_to_the_others() {
    let lock_dir = tempfile::tempdir().unwrap();
    let mut run = start_run(FIRST_THEN_SECOND, lock_dir.path(), &[("FIRST", "fail")]);
    let first = run.wait_for("container-id", Duration::from_secs(120));
    let second = run.wait_for("container-id", Duration::from_secs(120));
    let ended = run.wait_until_ended(Duration::from_secs(120));
    let output = run.output();
    assert!(ended.is_some(), "{output}");
    assert_eq!(first, second, "{output}");
    assert_eq!(passed_members(&output), 1, "{output}");
    let report = format!(
        "--- logs of shared container web ({}, image dockside/fixtures:",
        &first[..12]
    );
    assert!(output.contains(&report), "{output}");
    removed_after_the_run(&first, lock_dir.path(), &output);
}

#[test]
fn a_shared_container_kept_always_outlives_its_run() {
    let lock_dir = tempfile::tempdir().unwrap();
    let lock_dir_text = lock_dir.path().display().to_string();
    let mut run = start_run(
        CONCURRENT_MEMBERS,
        lock_dir.path(),
        &[("MEMBERS", "1"), ("DOCKSIDE_KEEP", "always")],
    );
    let id = run.wait_for("container-id", Duration::from_secs(120));
    let ended = run.wait_until_ended(Duration::from_secs(120));
    let output = run.output();
    let watcher_done = within(Duration::from_secs(10), || {
        watchers(lock_dir.path()).is_empty() && run_files(lock_dir.path()).is_empty()
    });
    let next = child::run(
        "child_starts_up_quickly",
        &[
            ("DOCKSIDE_LOCK_DIR", lock_dir_text.as_str()),
            ("DOCKSIDE_SWEEP_INTERVAL", "0"),
        ],
    );
    let kept = exists(&id);
    docker_cli::remove_container(&id);
    assert!(ended.is_some() && passed_members(&output) == 1, "{output}");
    assert!(
        output.contains("is kept after the run (DOCKSIDE_KEEP=always)"),
        "{output}"
    );
    assert!(watcher_done.is_some(), "the watcher did not finish");
    assert!(next.passed(), "{}", next.output());
    assert!(
        kept,
        "a kept shared container was removed\n{output}\n{}",
        next.output()
    );
}

/// A test's own container beside a shared one: the test's is its own (and needs no network
/// for itself alone), the shared one is the run's.
#[docker_test]
fn a_test_has_its_own_container_beside_a_shared_one(
    #[container(dockerfile = "fixtures/Dockerfile", ports = [8080], shared)] common: Container,
    #[container(dockerfile = "fixtures/Dockerfile", ports = [8080])] mine: Container,
) {
    for web in [&common, &mine] {
        let body = http::get(web.addr(8080), "/").expect("the server answers");
        assert_eq!(body, "hello");
    }
    let label = |id: &str, name: &str| {
        docker_cli::inspect(id, &format!("{{{{index .Config.Labels \"{name}\"}}}}"))
    };
    // A missing label shows as nothing (or `<no value>` on older CLIs).
    let unset = |text: String| text.is_empty() || text == "<no value>";
    assert!(unset(label(common.id(), "dockside.owner")));
    assert!(!unset(label(common.id(), "dockside.shared")));
    assert!(unset(label(mine.id(), "dockside.shared")));
    assert!(!unset(label(mine.id(), "dockside.owner")));
    let networks = "{{range $name, $n := .NetworkSettings.Networks}}{{$name}} {{end}}";
    assert_eq!(docker_cli::inspect(mine.id(), networks), "bridge");
}

/// A test of this run, as users write them: under nextest it is a process of nextest's run,
/// whose watcher must not make nextest flag it as leaky.
#[docker_test(dockerfile = "fixtures/Dockerfile", ports = [8080], shared)]
fn a_test_of_the_run_gets_a_ready_shared_container(web: Container) {
    let body = http::get(web.addr(8080), "/").expect("the shared server answers");
    assert_eq!(body, "hello");
}

#[test]
fn a_shared_container_must_keep_running() {
    let run = child::run("child_shares_a_one_shot_container", &[]);
    assert!(!run.passed(), "{}", run.output());
    assert!(
        run.output().contains(
            "`once` is shared and awaits its command's exit: a shared container must keep running"
        ),
        "{}",
        run.output()
    );
}
