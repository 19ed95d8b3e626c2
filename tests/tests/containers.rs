//! `#[docker_test]` end to end against the real daemon: a ready container, labelled, published
//! on loopback, created from the image ID, and removed after success, failure and panic.

use dockside::{docker_test, Container};
use dockside_tests::docker_cli::{self, containers_with_label};
use dockside_tests::owned::{after_removal, exists};
use dockside_tests::{child, http};

/// The server starts listening 3 s after the container starts. Docker's host port accepts (and
/// then resets) connections all that time, so only real readiness makes the first request work.
#[docker_test(
    dockerfile = "fixtures/Dockerfile",
    cmd = ["serve", "--port", "8080", "--delay-ms", "3000", "--body", "late but ready"],
    ports = [8080]
)]
fn slow_server_is_handed_over_ready(web: Container) {
    assert_eq!(http::get(web.addr(8080), "/").unwrap(), "late but ready");
}

#[docker_test(
    dockerfile = "fixtures/Dockerfile",
    cmd = ["serve", "--port", "8080", "--port", "9090"],
    env(FIRST = "one", SECOND = "two words"),
    ports = [8080, 9090]
)]
async fn env_cmd_and_several_ports(web: Container) {
    assert_eq!(http::get(web.addr(8080), "/env/FIRST").unwrap(), "one");
    assert_eq!(
        http::get(web.addr(9090), "/env/SECOND").unwrap(),
        "two words"
    );
    assert_ne!(web.host_port(8080), web.host_port(9090));
    assert_eq!(web.addr(8080).ip(), std::net::Ipv4Addr::LOCALHOST);
}

#[docker_test(dockerfile = "fixtures/Dockerfile", ports = [8080])]
fn labels_owner_and_loopback_ports(web: Container) {
    let label = |key: &str| {
        docker_cli::inspect(web.id(), &format!("{{{{index .Config.Labels \"{key}\"}}}}"))
    };
    assert_eq!(label("dockside.managed"), "true");
    assert_eq!(label("dockside.name"), "web");
    assert!(
        label("dockside.test").ends_with("labels_owner_and_loopback_ports"),
        "{}",
        label("dockside.test")
    );
    let owner = label("dockside.owner");
    let pid = owner.split('/').nth(2).unwrap();
    assert_eq!(pid, std::process::id().to_string(), "owner label {owner}");
    match std::env::var("NEXTEST_RUN_ID") {
        Ok(run) => assert_eq!(label("dockside.session"), run),
        Err(_) => assert!(matches!(
            label("dockside.session").as_str(),
            "" | "<no value>"
        )),
    }
    let bindings = docker_cli::inspect(web.id(), "{{json .HostConfig.PortBindings}}");
    assert!(bindings.contains("\"HostIp\":\"127.0.0.1\""), "{bindings}");
    // Created from the image ID the daemon reported, not from a tag string. Podman shows the
    // image's name there whatever the container was created from: Docker's check only.
    if !dockside_tests::podman::daemon_is_podman() {
        assert!(docker_cli::inspect(web.id(), "{{.Config.Image}}").starts_with("sha256:"));
    }
}

/// Attributes pass through: the panic still satisfies `should_panic`, and the container is
/// removed on the way out (checked by `removed_after_success_failure_and_panic`).
#[docker_test(dockerfile = "fixtures/Dockerfile", ports = [8080])]
#[should_panic(expected = "expected failure")]
fn should_panic_passes_through(_web: Container) {
    panic!("expected failure");
}

#[docker_test(dockerfile = "fixtures/Dockerfile", ports = [8080])]
fn result_return_passes(web: Container) -> Result<(), std::io::Error> {
    http::get(web.addr(8080), "/health").map(drop)
}

#[docker_test(dockerfile = "fixtures/Dockerfile", ports = [8080])]
fn a_leading_underscore_is_not_part_of_the_name(_web: Container) {
    assert_eq!(_web.name(), "web");
}

// ---- children: each prints its container's ID, then ends as its name says ----

#[docker_test(dockerfile = "fixtures/Dockerfile", ports = [8080])]
#[ignore = "run by removed_after_success_failure_and_panic"]
fn child_passes(web: Container) {
    println!("container-id={}", web.id());
}

#[docker_test(dockerfile = "fixtures/Dockerfile", ports = [8080])]
#[ignore = "run by removed_after_success_failure_and_panic"]
async fn child_returns_err(web: Container) -> Result<(), String> {
    println!("container-id={}", web.id());
    Err("the body returned an error".to_owned())
}

#[docker_test(dockerfile = "fixtures/Dockerfile", ports = [8080])]
#[ignore = "run by removed_after_success_failure_and_panic"]
fn child_panics(web: Container) {
    println!("container-id={}", web.id());
    panic!("the body panicked");
}

#[test]
fn removed_after_success_failure_and_panic() {
    for (name, should_pass) in [
        ("child_passes", true),
        ("child_returns_err", false),
        ("child_panics", false),
    ] {
        let run = child::run(name, &[]);
        let output = run.output();
        assert_eq!(run.passed(), should_pass, "{name}:\n{output}");
        let id = run.printed_first("container-id");
        assert!(
            after_removal(|| !exists(&id), |gone| *gone),
            "{name} left its container {id} behind"
        );
        if !should_pass {
            // A failing test's report carries the container's last log lines.
            assert!(
                output.contains("--- logs of container web ("),
                "{name}:\n{output}"
            );
            assert!(output.contains("listening on 8080"), "{name}:\n{output}");
        }
    }
}

/// SIGKILL leaves a container; the next dockside start-up in another process removes it,
/// because its owner is gone.
#[test]
fn orphans_of_killed_processes_are_removed_at_next_start() {
    let mut child = child::spawn("child_sleeps", &[]);
    let nonce_label = "dockside.name=sleeper";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let id = loop {
        let mine: Vec<String> = containers_with_label(nonce_label)
            .into_iter()
            .filter(|id| {
                docker_cli::inspect(id, "{{index .Config.Labels \"dockside.owner\"}}")
                    .contains(&format!("/{}/", child.id()))
            })
            .collect();
        if let Some(id) = mine.first() {
            break id.clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the child never started its container"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        docker_cli::docker(&["container", "inspect", &id])
            .status
            .success(),
        "SIGKILL cannot clean up"
    );
    // A dockside start-up sweeps it: run a short test in a fresh process, which sweeps even if
    // another process swept a moment ago.
    let run = child::run("child_passes", &[("DOCKSIDE_SWEEP_INTERVAL", "0")]);
    assert!(run.passed(), "{}", run.output());
    assert!(
        !docker_cli::docker(&["container", "inspect", &id])
            .status
            .success(),
        "orphan {id} survived"
    );
}

#[docker_test(dockerfile = "fixtures/Dockerfile", cmd = ["sleep"])]
#[ignore = "run by orphans_of_killed_processes_are_removed_at_next_start"]
fn child_sleeps(sleeper: Container) {
    println!("container-id={}", sleeper.id());
    std::thread::sleep(std::time::Duration::from_secs(120));
}
