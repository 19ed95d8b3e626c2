//! What a fresh test process asks the daemon, request by request: each request is paid by every
//! test of every run, so the exact list is pinned here. Counted by a proxy on a unix socket that
//! the child processes use as their DOCKER_HOST.

use dockside::{docker_test, Container};
use dockside_tests::child;
use dockside_tests::owned::after_removal;
use dockside_tests::proxy::{local_daemon_socket, DockerProxy};

#[docker_test(dockerfile = "fixtures/Dockerfile", ports = [8080])]
#[ignore = "run by the tests below in child processes"]
fn child_serves(web: Container) {
    assert!(!web.published_ports().is_empty());
    println!("container-id={}", web.id());
}

/// The requests of one fresh process running `child_serves` through `proxy`, with the lock
/// folder `lock_dir` (where the per-user caches live) and the extra variables `envs`. A request
/// naming another container is not this process's: a late removal of the process before came
/// through during the next one under Podman.
fn requests_of_a_fresh_process(
    proxy: &DockerProxy,
    lock_dir: &str,
    envs: &[(&str, &str)],
) -> Vec<String> {
    proxy.reset();
    let host = proxy.docker_host();
    let mut envs = envs.to_vec();
    envs.extend([
        ("DOCKER_HOST", host.as_str()),
        ("DOCKSIDE_LOCK_DIR", lock_dir),
    ]);
    let run = child::run("child_serves", &envs);
    assert!(run.passed(), "{}", run.output());
    let own = run.printed_first("container-id");
    // The removal is sent by a courier process that may outlive the test's own.
    after_removal(|| proxy.count("DELETE", "/containers/"), |n| *n > 0);
    proxy
        .requests()
        .into_iter()
        .filter(|(_, path)| {
            path.split(['/', '?'])
                .all(|part| part.len() != 64 || part == own)
        })
        .map(|(method, path)| {
            // Ids and image tags differ per run: keep the endpoint only.
            let path = path.split('?').next().unwrap_or_default();
            let path = match path.strip_prefix("/images/") {
                Some(rest) => format!("/images/NAME/{}", rest.rsplit('/').next().unwrap()),
                None => path
                    .split('/')
                    .map(|part| if part.len() == 64 { "ID" } else { part })
                    .collect::<Vec<_>>()
                    .join("/"),
            };
            format!("{method} {path}")
        })
        .collect()
}

#[test]
fn a_fresh_process_sends_only_the_requests_it_needs() {
    let proxy = DockerProxy::start(&local_daemon_socket()).unwrap();
    let lock_dir = tempfile::tempdir().unwrap();
    let lock_dir = lock_dir.path().display().to_string();
    // The first process of a user (or after a while) also asks for the API version and sweeps
    // for orphans; the image may be resolved or built there too.
    let first = requests_of_a_fresh_process(&proxy, &lock_dir, &[]);
    let sweep = ["GET /containers/json", "GET /networks"].map(str::to_owned);
    assert!(first.contains(&"GET /version".to_owned()), "{first:#?}");
    assert!(sweep.iter().all(|r| first.contains(r)), "{first:#?}");

    let mut next = requests_of_a_fresh_process(&proxy, &lock_dir, &[]);
    // A server not listening yet at the first look is polled again (an inspect per poll, for
    // the exit code): that depends on the machine's load, not on dockside's requests.
    next.dedup_by(|a, b| a == b && a == "GET /containers/ID/json");
    let expected = [
        // The image, by its content tag.
        "GET /images/NAME/json",
        "POST /containers/create",
        "POST /containers/ID/start",
        // The published ports and the process whose sockets tell readiness; also the first
        // readiness poll.
        "GET /containers/ID/json",
        "DELETE /containers/ID",
    ];
    assert_eq!(next, expected, "requests of a fresh process");
}

#[test]
fn the_orphan_sweep_runs_again_once_its_interval_has_passed() {
    let proxy = DockerProxy::start(&local_daemon_socket()).unwrap();
    let lock_dir = tempfile::tempdir().unwrap();
    let lock_dir = lock_dir.path().display().to_string();
    let swept = |requests: &[String]| requests.iter().any(|r| r == "GET /containers/json");
    let interval = [("DOCKSIDE_SWEEP_INTERVAL", "2s")];
    assert!(swept(&requests_of_a_fresh_process(
        &proxy, &lock_dir, &interval
    )));
    assert!(!swept(&requests_of_a_fresh_process(
        &proxy, &lock_dir, &interval
    )));
    let every_time = [("DOCKSIDE_SWEEP_INTERVAL", "0")];
    assert!(swept(&requests_of_a_fresh_process(
        &proxy,
        &lock_dir,
        &every_time
    )));
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert!(swept(&requests_of_a_fresh_process(
        &proxy, &lock_dir, &interval
    )));
}
