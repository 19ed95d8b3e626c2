//! A container's life against the real daemon: every kind of wait, waits that fail, networks,
//! exec and file copies, stop/start/pause, container settings, signals, the start-up sweep, and
//! `DOCKSIDE_KEEP`.

use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use dockside::{docker_test, Container};
use dockside_tests::docker_cli::{self, docker_ok};
use dockside_tests::owned::{after_removal, containers_owned_by, exists, networks_owned_by, Owner};
use dockside_tests::{child, http};

/// Polls `condition` every 100 ms until it holds, panicking with `what` after `limit`.
fn eventually<T>(limit: Duration, what: &str, mut condition: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = condition() {
            return value;
        }
        assert!(Instant::now() < deadline, "{what} within {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The first container of child `child` once it exists (the image may still be building).
fn wait_for_container_of(child: &Child) -> String {
    let owner = Owner::of(child.id());
    eventually(
        Duration::from_secs(120),
        "the child started a container",
        || containers_owned_by(owner).into_iter().next(),
    )
}

// ---- every kind of wait passes ----

#[docker_test(
    dockerfile = "fixtures/Dockerfile",
    cmd = ["log", "--line", "ready to serve", "--delay-ms", "1000"],
    wait = log("ready to serve")
)]
async fn log_wait_hands_over_after_the_line(app: Container) {
    // Printed 1 s after the start: without the wait the log would still be empty here.
    assert!(app.logs().await.unwrap().contains("ready to serve"));
}

#[docker_test(
    dockerfile = "fixtures/Dockerfile",
    cmd = ["serve", "--port", "8080", "--delay-ms", "1000"],
    ports = [8080],
    wait = http(8080, "/health")
)]
fn http_wait_hands_over_a_server_that_answers(web: Container) {
    assert_eq!(http::get(web.addr(8080), "/health").unwrap(), "ok");
}

#[docker_test(
    dockerfile = "fixtures/Dockerfile",
    cmd = ["serve", "--port", "8080", "--delay-ms", "500"],
    healthcheck = ["/fixture", "health", "--url", "http://127.0.0.1:8080/health"],
    wait = healthy
)]
fn healthy_wait_hands_over_a_healthy_container(web: Container) {
    assert_eq!(
        docker_cli::inspect(web.id(), "{{.State.Health.Status}}"),
        "healthy"
    );
}

mod probes {
    use super::*;

    pub static CALLS: AtomicUsize = AtomicUsize::new(0);
    pub static LAST_READY: AtomicBool = AtomicBool::new(false);

    /// Ready when `GET /health` answers.
    pub async fn health(web: Container) -> bool {
        CALLS.fetch_add(1, Ordering::SeqCst);
        let addr = web.addr(8080);
        let ready = tokio::task::spawn_blocking(move || {
            http::get(addr, "/health").is_ok_and(|body| body == "ok")
        })
        .await
        .unwrap_or(false);
        LAST_READY.store(ready, Ordering::SeqCst);
        ready
    }
}

#[docker_test(
    dockerfile = "fixtures/Dockerfile",
    cmd = ["serve", "--port", "8080", "--delay-ms", "500"],
    ports = [8080],
    wait = custom(probes::health)
)]
fn custom_wait_polls_the_probe_until_ready(web: Container) {
    assert!(
        probes::CALLS.load(Ordering::SeqCst) >= 1,
        "the probe was never called"
    );
    assert!(
        probes::LAST_READY.load(Ordering::SeqCst),
        "handed over before the probe said ready"
    );
    assert_eq!(http::get(web.addr(8080), "/health").unwrap(), "ok");
}

// ---- waits that fail ----

#[docker_test(
    dockerfile = "fixtures/Dockerfile",
    cmd = ["log", "--line", "something else"],
    wait = log("never printed"),
    startup_timeout = "1s"
)]
#[ignore = "run by a log wait that never matches times out with a full report"]
fn child_waits_for_a_line_never_printed(quiet: Container) {
    println!("the body ran with {}", quiet.id());
}

#[test]
fn a_log_wait_that_never_matches_times_out_with_a_full_report() {
    let child = child::spawn("child_waits_for_a_line_never_printed", &[]);
    let owner = Owner::of(child.id());
    let run = child::finish(child);
    let output = run.output();
    assert!(!run.passed(), "the child passed:\n{output}");
    assert!(!output.contains("the body ran"), "{output}");
    for expected in [
        "container quiet (",
        "image dockside/fixtures:",
        "a log line matching /never printed/",
        "something else",
    ] {
        assert!(output.contains(expected), "no `{expected}` in:\n{output}");
    }
    let elapsed = output
        .split_once("was not ready after ")
        .and_then(|(_, rest)| rest.split_once("s:"))
        .and_then(|(secs, _)| secs.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no elapsed time in seconds in:\n{output}"));
    assert!(
        (1.0..10.0).contains(&elapsed),
        "elapsed {elapsed}s:\n{output}"
    );
    assert_eq!(
        after_removal(|| containers_owned_by(owner), Vec::is_empty),
        Vec::<String>::new(),
        "the child left its container"
    );
}

#[docker_test(dockerfile = "fixtures/Dockerfile", cmd = ["exit", "--code", "7"], ports = [8080])]
#[ignore = "run by a container that exits while awaited reports its exit code"]
fn child_container_exits_while_awaited(doomed: Container) {
    println!("the body ran with {}", doomed.id());
}

#[test]
fn a_container_that_exits_while_awaited_reports_its_exit_code() {
    let child = child::spawn("child_container_exits_while_awaited", &[]);
    let owner = Owner::of(child.id());
    let run = child::finish(child);
    let output = run.output();
    assert!(!run.passed(), "the child passed:\n{output}");
    assert!(!output.contains("the body ran"), "{output}");
    assert!(output.contains("container doomed ("), "{output}");
    assert!(output.contains("exited with code 7"), "{output}");
    assert_eq!(
        after_removal(|| containers_owned_by(owner), Vec::is_empty),
        Vec::<String>::new(),
        "the child left its container"
    );
}

// ---- two containers on the test's network ----

#[docker_test]
#[ignore = "run by two containers talk by name on a network removed afterwards"]
async fn child_two_containers_talk(
    #[container(dockerfile = "fixtures/Dockerfile", ports = [8080])] front: Container,
    #[container(dockerfile = "fixtures/Dockerfile", env(WHO = "the backend"), ports = [8080])] back: Container,
) {
    let networks = |c: &Container| {
        docker_cli::inspect(
            c.id(),
            "{{range $name, $n := .NetworkSettings.Networks}}{{$n.NetworkID}} {{end}}",
        )
    };
    let network = networks(&front);
    assert_eq!(
        network,
        networks(&back),
        "the containers are on different networks"
    );
    assert_eq!(network.split_whitespace().count(), 1, "networks: {network}");
    println!("network-id={network}");
    let out = front
        .exec(["/fixture", "proxy-get", "--url", "http://back:8080/env/WHO"])
        .await
        .unwrap();
    assert_eq!(
        (out.exit_code, out.stdout.trim()),
        (0, "the backend"),
        "{out:?}"
    );
}

#[test]
fn two_containers_talk_by_name_on_a_network_removed_afterwards() {
    let child = child::spawn("child_two_containers_talk", &[]);
    let owner = Owner::of(child.id());
    let run = child::finish(child);
    let output = run.output();
    assert!(run.passed(), "{output}");
    let network = run.printed_first("network-id");
    assert!(
        after_removal(|| !exists(&network), |gone| *gone),
        "network {network} is still there"
    );
    assert_eq!(networks_owned_by(owner), Vec::<String>::new());
    assert_eq!(containers_owned_by(owner), Vec::<String>::new());
}

// ---- exec, copy, stop/start/pause ----

#[docker_test(dockerfile = "fixtures/Dockerfile", env(GREETING = "hi there"), ports = [8080])]
async fn exec_reports_exit_code_stdout_and_stderr(web: Container) {
    let out = web
        .exec([
            "/fixture", "exit", "--code", "3", "--stdout", "to out", "--stderr", "to err",
        ])
        .await
        .unwrap();
    assert_eq!(out.exit_code, 3, "{out:?}");
    assert_eq!(out.stdout.trim(), "to out", "{out:?}");
    assert_eq!(out.stderr.trim(), "to err", "{out:?}");
    let env = web.exec(["/fixture", "env"]).await.unwrap();
    assert_eq!(env.exit_code, 0, "{env:?}");
    assert!(
        env.stdout.lines().any(|l| l == "GREETING=hi there"),
        "{env:?}"
    );
    let error = web.exec(["/no/such/program"]).await.map(|o| o.exit_code);
    assert!(
        !matches!(error, Ok(0)),
        "a missing program succeeded: {error:?}"
    );
}

/// The mode field of the first header of a tar archive (octal text at bytes 100..108).
fn tar_mode(archive: &[u8]) -> u32 {
    let field = String::from_utf8_lossy(&archive[100..108]);
    u32::from_str_radix(field.trim_matches(|c: char| c == '\0' || c == ' '), 8).unwrap()
}

#[docker_test(dockerfile = "fixtures/Dockerfile", ports = [8080])]
async fn copy_file_in_puts_content_and_mode_in_place(web: Container) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let host = dir.path().join("settings.txt");
    std::fs::write(&host, "answer = 42\n").unwrap();
    std::fs::set_permissions(&host, std::fs::Permissions::from_mode(0o640)).unwrap();

    web.copy_file_in(&host, "/copied.conf").await.unwrap();
    let out = web
        .exec(["/fixture", "cat", "--path", "/copied.conf"])
        .await
        .unwrap();
    assert_eq!(
        (out.exit_code, out.stdout.as_str()),
        (0, "answer = 42\n"),
        "{out:?}"
    );
    let copied = Command::new("docker")
        .args(["cp", &format!("{}:/copied.conf", web.id()), "-"])
        .output()
        .unwrap();
    assert!(
        copied.status.success(),
        "{}",
        String::from_utf8_lossy(&copied.stderr)
    );
    assert_eq!(tar_mode(&copied.stdout) & 0o7777, 0o640);

    let missing = web.copy_file_in(&host, "/no/such/dir/x.conf").await;
    if dockside_tests::podman::daemon_is_podman() {
        // Podman makes the missing folders (the README's engines section says so).
        assert!(missing.is_ok(), "{missing:?}");
    } else {
        let missing = missing.unwrap_err().to_string();
        assert!(missing.contains("container web ("), "{missing}");
        assert!(missing.contains("/no/such/dir"), "{missing}");
    }
}

#[docker_test(dockerfile = "fixtures/Dockerfile", ports = [8080])]
async fn stop_start_pause_unpause_round_trip(web: Container) {
    let running = || docker_cli::inspect(web.id(), "{{.State.Running}} {{.State.Paused}}");
    let get = |web: &Container| {
        let addr = web.addr(8080);
        async move {
            tokio::task::spawn_blocking(move || http::get(addr, "/health"))
                .await
                .unwrap()
        }
    };
    assert_eq!(get(&web).await.unwrap(), "ok");

    web.pause().await.unwrap();
    assert_eq!(running(), "true true");
    assert!(get(&web).await.is_err(), "a paused container answered");
    web.unpause().await.unwrap();
    assert_eq!(running(), "true false");
    assert_eq!(get(&web).await.unwrap(), "ok");

    let started = Instant::now();
    web.stop().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "stop took {:?}",
        started.elapsed()
    );
    assert_eq!(running(), "false false");
    assert!(get(&web).await.is_err(), "a stopped container answered");
    web.stop()
        .await
        .expect("stopping a stopped container is fine");

    web.start().await.unwrap();
    assert_eq!(running(), "true false");
    // Docker publishes a restarted container on new ephemeral ports; the handle follows them.
    let bound = docker_ok(&["port", web.id(), "8080/tcp"]);
    assert!(
        bound
            .lines()
            .any(|l| l.trim() == web.addr(8080).to_string()),
        "{bound} vs {}",
        web.addr(8080)
    );
    assert_eq!(
        get(&web).await.unwrap(),
        "ok",
        "not ready right after start()"
    );
}

// ---- container settings ----

#[docker_test(
    dockerfile = "fixtures/Dockerfile",
    entrypoint = ["/fixture", "serve"],
    cmd = ["--port", "8080"],
    user = "1234:1234",
    workdir = "/work",
    tmpfs = ["/scratch"],
    labels(team = "x"),
    memory = "64m",
    mounts = ["fixtures/mount-data:/data:ro"],
    ports = [8080]
)]
async fn settings_reach_the_container(web: Container) {
    // Only the entrypoint makes `--port 8080` a server.
    assert_eq!(http::get(web.addr(8080), "/health").unwrap(), "ok");
    let inspect = |format: &str| docker_cli::inspect(web.id(), format);
    assert_eq!(
        inspect("{{json .Config.Entrypoint}}"),
        r#"["/fixture","serve"]"#
    );
    assert_eq!(inspect("{{json .Config.Cmd}}"), r#"["--port","8080"]"#);
    assert_eq!(inspect("{{.Config.User}}"), "1234:1234");
    assert_eq!(inspect("{{.Config.WorkingDir}}"), "/work");
    assert!(
        inspect("{{json .HostConfig.Tmpfs}}").contains("\"/scratch\""),
        "{}",
        inspect("{{json .HostConfig.Tmpfs}}")
    );
    assert_eq!(inspect("{{index .Config.Labels \"team\"}}"), "x");
    assert_eq!(inspect("{{.HostConfig.Memory}}"), "67108864");
    // The crate folder's `fixtures/mount-data`, bind-mounted read-only.
    let mounted = web
        .exec(["/fixture", "cat", "--path", "/data/hello.txt"])
        .await
        .unwrap();
    assert_eq!(mounted.stdout, "mounted from the crate\n", "{mounted:?}");
    assert_eq!(
        inspect("{{range .Mounts}}{{.Destination}} {{.RW}}{{end}}"),
        "/data false"
    );
    // A relative path in exec resolves against the working directory.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("here.txt"), "in /work").unwrap();
    web.copy_file_in(dir.path().join("here.txt"), "/work/here.txt")
        .await
        .unwrap();
    let out = web
        .exec(["/fixture", "cat", "--path", "here.txt"])
        .await
        .unwrap();
    assert_eq!(out.stdout, "in /work", "{out:?}");
}

// ---- signals ----

#[docker_test(dockerfile = "fixtures/Dockerfile", cmd = ["sleep"])]
#[ignore = "run by the signal and survival tests"]
fn child_sleeps_until_signalled(sleeper: Container) {
    println!("container-id={}", sleeper.id());
    std::thread::sleep(Duration::from_secs(60));
}

fn signal_removes_containers_and_exits_with(signal: &str, code: i32) {
    let mut child = child::spawn("child_sleeps_until_signalled", &[]);
    let id = wait_for_container_of(&child);
    let sent = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = eventually(
        Duration::from_secs(10),
        "the child ended after the signal",
        || child.try_wait().unwrap(),
    );
    let run = child::finish(child);
    assert_eq!(status.code(), Some(code), "{}", run.output());
    eventually(Duration::from_secs(5), "the container was removed", || {
        (!exists(&id)).then_some(())
    });
}

#[test]
fn sigterm_removes_the_containers_and_exits_143() {
    signal_removes_containers_and_exits_with("TERM", 143);
}

#[test]
fn sigint_removes_the_containers_and_exits_130() {
    signal_removes_containers_and_exits_with("INT", 130);
}

// ---- the start-up sweep spares what is not an orphan ----

#[docker_test(dockerfile = "fixtures/Dockerfile", cmd = ["sleep", "--ms", "10"], wait = exit(0))]
#[ignore = "run by the survival test"]
fn child_starts_up_quickly(_brief: Container) {}

#[test]
fn foreign_and_live_owned_containers_survive_the_start_up_sweep() {
    let mut live = child::spawn("child_sleeps_until_signalled", &[]);
    let owned = wait_for_container_of(&live);
    let image = docker_cli::inspect(&owned, "{{.Config.Image}}");
    let foreign = docker_ok(&["run", "-d", "--label", "other=1", &image, "sleep"]);

    let sweep = child::run(
        "child_starts_up_quickly",
        // Sweeps even if another process swept a moment ago.
        &[("DOCKSIDE_SWEEP_INTERVAL", "0")],
    );
    let still = (exists(&foreign), exists(&owned));

    docker_cli::remove_container(&foreign);
    live.kill().unwrap();
    live.wait().unwrap();
    docker_cli::remove_container(&owned);

    assert!(sweep.passed(), "{}", sweep.output());
    assert_eq!(
        still,
        (true, true),
        "(foreign, owned by a live process) after the sweep"
    );
}

// ---- DOCKSIDE_KEEP ----

#[docker_test(dockerfile = "fixtures/Dockerfile", ports = [8080])]
#[ignore = "run by keep always leaves the container and says how to remove it"]
fn child_kept(kept: Container) {
    println!("container-id={}", kept.id());
}

#[test]
fn keep_always_leaves_the_container_and_says_how_to_remove_it() {
    let child = child::spawn("child_kept", &[("DOCKSIDE_KEEP", "always")]);
    let owner = Owner::of(child.id());
    let run = child::finish(child);
    let kept = containers_owned_by(owner);
    for id in &kept {
        docker_cli::remove_container(id);
    }
    let output = run.output();
    assert!(run.passed(), "{output}");
    assert_eq!(kept.len(), 1, "kept: {kept:?}\n{output}");
    assert!(
        output.contains(&format!("kept container kept ({})", kept[0])),
        "{output}"
    );
    assert!(
        output.contains(&format!("docker rm -f {}", &kept[0][..12])),
        "{output}"
    );
    assert!(output.contains("8080 -> 127.0.0.1:"), "{output}");
}

#[docker_test(dockerfile = "fixtures/Dockerfile", ports = [8080])]
#[ignore = "run by keep on failure keeps only a failing test's containers"]
fn child_kept_if_failing(kept: Container) {
    println!("container-id={}", kept.id());
    assert!(
        std::env::var("DOCKSIDE_TEST_FAIL").is_err(),
        "failing as asked"
    );
}

#[test]
fn keep_on_failure_keeps_only_a_failing_tests_containers() {
    let keep = ("DOCKSIDE_KEEP", "on-failure");
    let passing = child::spawn("child_kept_if_failing", &[keep]);
    let passing_owner = Owner::of(passing.id());
    let passed = child::finish(passing);
    assert!(passed.passed(), "{}", passed.output());
    assert_eq!(
        after_removal(|| containers_owned_by(passing_owner), Vec::is_empty),
        Vec::<String>::new(),
        "a passing test keeps nothing"
    );

    let failing = child::spawn(
        "child_kept_if_failing",
        &[keep, ("DOCKSIDE_TEST_FAIL", "1")],
    );
    let failing_owner = Owner::of(failing.id());
    let failed = child::finish(failing);
    let kept = containers_owned_by(failing_owner);
    for id in &kept {
        docker_cli::remove_container(id);
    }
    assert!(!failed.passed(), "{}", failed.output());
    assert_eq!(kept.len(), 1, "kept: {kept:?}\n{}", failed.output());
    assert!(
        failed.output().contains("kept container kept"),
        "{}",
        failed.output()
    );
}

// ---- nothing to wait for ----

/// A command that returns at once is not a failed start when the test awaits its exit: the test
/// gets the (exited) container and can read what it did. (Without `wait = exit(..)` it is a
/// failed start: see `diagnostics.rs`.)
#[docker_test(
    dockerfile = "fixtures/Dockerfile",
    cmd = ["exit", "--code", "0", "--stdout", "one shot"],
    wait = exit(0)
)]
async fn a_one_shot_container_may_exit_at_once(job: Container) {
    let state = eventually(Duration::from_secs(5), "the job exited", || {
        let state = docker_cli::inspect(job.id(), "{{.State.Status}} {{.State.ExitCode}}");
        (state != "running 0").then_some(state)
    });
    assert_eq!(state, "exited 0");
    assert_eq!(job.logs().await.unwrap().trim(), "one shot");
}
