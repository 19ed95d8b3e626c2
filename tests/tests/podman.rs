//! A real Podman serving the Docker API (`podman system service`): dockside sees from its
//! `/version` answer that it is Podman and builds with the classic builder, without any setting.
//! The requests go through a recording proxy that changes nothing, so the test sees which
//! builder dockside asked for (Podman 4.3 accepts `version=2` and builds anyway).
//! Each test starts its own Podman ([`dockside_tests::podman::Podman`]).

use std::path::Path;

use dockside_tests::child::{self, ChildRun};
use dockside_tests::docker_cli;
use dockside_tests::fixture::temp_context;
use dockside_tests::podman::Podman;
use dockside_tests::proxy::DockerProxy;

#[test]
#[ignore = "run by the tests below in child processes"]
fn child_resolve() {
    child::resolve_from_env();
}

/// Resolves `dockerfile` in a child against the daemon at `docker_host`.
fn resolve_in_child(docker_host: &str, dockerfile: &Path) -> ChildRun {
    child::resolve_dockerfile(dockerfile, &[("DOCKER_HOST", docker_host)])
}

/// A Dockerfile nobody has built before. No `RUN`: a build step's container would need
/// Podman's network set-up, which touches the host's firewall.
fn new_context(nonce: &str) -> tempfile::TempDir {
    temp_context(&format!(
        "FROM scratch\nCOPY fixture /fixture\nLABEL nonce=\"{nonce}\"\n"
    ))
}

/// Podman's default lock table is one per machine (`/dev/shm/libpod_lock`): two services
/// starting at once on a machine that has none yet race to create it, and the loser ends with
/// "failed to create 2048 locks in /libpod_lock: file exists". Each instance keeps its own.
#[test]
fn a_podman_instance_keeps_its_locks_to_itself() {
    let Some(podman) = Podman::start() else {
        return;
    };
    assert!(
        podman.lock_dir().is_dir(),
        "no lock folder at {}: {}",
        podman.lock_dir().display(),
        podman.log()
    );
}

#[test]
fn podman_is_detected_and_builds_with_the_classic_builder() {
    let Some(podman) = Podman::start() else {
        return;
    };
    let nonce = child::nonce();
    let context = new_context(&nonce);
    let proxy = DockerProxy::start(&podman.socket).unwrap();
    let run = resolve_in_child(&proxy.docker_host(), &context.path().join("Dockerfile"));
    let id = run.resolved_id();
    proxy.assert_one_classic_build();
    assert!(
        run.stderr.contains("building with the classic builder") && run.stderr.contains("Podman"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("building image"), "{}", run.stderr);
    // Podman's classic-builder progress ("STEP 1/3: FROM scratch") is shown as it comes.
    assert!(run.stderr.contains(": STEP 1/"), "{}", run.stderr);

    let inspect = podman.docker(&[
        "image",
        "inspect",
        "--format",
        "{{index .Config.Labels \"dockside.managed\"}} {{index .Config.Labels \"nonce\"}}",
        &id,
    ]);
    assert!(
        inspect.status.success(),
        "{id} is not in Podman: {}",
        String::from_utf8_lossy(&inspect.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&inspect.stdout).trim(),
        format!("true {nonce}")
    );
    let listed = podman.podman(&[
        "images",
        "--quiet",
        "--no-trunc",
        "--filter",
        &format!("label=nonce={nonce}"),
        "--filter",
        "label=dockside.managed=true",
    ]);
    assert!(
        listed
            .lines()
            .any(|l| id.ends_with(l.trim_start_matches("sha256:"))),
        "podman images lists {listed:?}, not {id}"
    );
    // Built in Podman's own storage, not in the Docker daemon the other tests use.
    assert!(
        !docker_cli::image_exists(&id),
        "{id} is in the Docker daemon"
    );
}

#[test]
fn a_second_resolve_against_podman_builds_nothing() {
    let Some(podman) = Podman::start() else {
        return;
    };
    let nonce = child::nonce();
    let context = new_context(&nonce);
    let dockerfile = context.path().join("Dockerfile");
    let first = resolve_in_child(&podman.docker_host(), &dockerfile);
    let first_id = first.resolved_id();
    assert!(first.stderr.contains("building image"), "{}", first.stderr);

    let second = resolve_in_child(&podman.docker_host(), &dockerfile);
    assert_eq!(second.resolved_id(), first_id);
    assert!(
        !second.stderr.contains("building image"),
        "the second resolve built again:\n{}",
        second.stderr
    );
}

/// Podman names the images it builds or loads without a registry `localhost/NAME`. A test's
/// `image = "NAME:TAG"` still finds such an image: dockside looks it up by its short name, which
/// Podman matches against its local images, and pulls nothing (`DOCKSIDE_PULL=never` makes a
/// pull an error here).
#[test]
fn a_localhost_image_of_podman_is_found_by_its_short_name() {
    let Some(podman) = Podman::start() else {
        return;
    };
    let nonce = child::nonce();
    let context = new_context(&nonce);
    let local = format!("localhost/dockside-short:{nonce}");
    let built = podman.docker(&[
        "build",
        "--quiet",
        "--tag",
        &local,
        &context.path().display().to_string(),
    ]);
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let id = podman.podman(&["image", "inspect", "--format", "{{.Id}}", &local]);
    let short = format!("dockside-short:{nonce}");
    let run = child::run(
        child::RESOLVE,
        &[
            ("DOCKER_HOST", podman.docker_host().as_str()),
            (child::REFERENCE, short.as_str()),
            ("DOCKSIDE_PULL", "never"),
        ],
    );
    assert!(
        run.resolved_id().ends_with(&id),
        "{} is not {id}",
        run.resolved_id()
    );
}

#[dockside::docker_test(
    dockerfile = "fixtures/Dockerfile",
    ports = [8080],
    healthcheck = ["/fixture", "health", "--url", "http://127.0.0.1:8080/health"],
    wait = healthy,
    startup_timeout = "3s"
)]
#[ignore = "run by the health-check test against Podman"]
fn child_waits_for_health(_web: dockside::Container) {}

/// Podman runs health checks from systemd timers; its service here runs without systemd, so no
/// check ever finishes, and the timed-out wait says why and what to wait for instead.
#[test]
fn a_health_wait_without_systemd_says_why_it_never_ends() {
    if Path::new("/run/systemd/private").exists() {
        eprintln!("skipped: systemd runs here, so Podman runs health checks");
        return;
    }
    let Some(podman) = Podman::start() else {
        return;
    };
    let run = child::run(
        "child_waits_for_health",
        &[("DOCKER_HOST", podman.docker_host().as_str())],
    );
    let output = run.output();
    assert!(!run.passed(), "{output}");
    for expected in [
        "was not ready after 3.0s: waited for docker to report the container healthy",
        "no check has finished yet); Podman runs health checks from systemd timers",
    ] {
        assert!(output.contains(expected), "no `{expected}` in:\n{output}");
    }
}

/// `with_podman` stopped by SIGTERM (a CI timeout) passes the signal on to its command, then
/// stops its Podman service and removes its folder, and says so in its exit status.
#[test]
fn with_podman_stopped_by_a_signal_removes_its_service() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    if Podman::start().is_none() {
        return;
    }
    let mut wrapper = Command::new(env!("CARGO_BIN_EXE_with_podman"))
        .args(["sh", "-c", "echo \"$DOCKER_HOST\"; exec sleep 120"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(wrapper.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let socket = line.trim().strip_prefix("unix://").unwrap().to_owned();
    let folder = Path::new(&socket).parent().unwrap().to_owned();
    assert!(
        folder.is_dir(),
        "{} while the command runs",
        folder.display()
    );

    // SAFETY: a signal to our own child.
    unsafe { libc::kill(wrapper.id() as libc::pid_t, libc::SIGTERM) };
    let status = wrapper.wait().unwrap();

    assert_eq!(status.code(), Some(128 + libc::SIGTERM), "{status}");
    assert!(!folder.exists(), "{} is left", folder.display());
    let serving: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|entry| std::fs::read(entry.path().join("cmdline")).ok())
        .map(|cmdline| String::from_utf8_lossy(&cmdline).replace('\0', " "))
        .filter(|cmdline| cmdline.contains(&socket))
        .collect();
    assert!(serving.is_empty(), "still running: {serving:?}");
}
