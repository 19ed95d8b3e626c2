//! A nextest run takes a build context as its first process hashed it: later processes of the
//! same run use the recorded hash without scanning the context; another run scans again and sees
//! a change; a damaged record is ignored. Each child is a fresh process of the run its
//! `NEXTEST_RUN_ID` names; builds are counted by a proxy on a unix socket.

use std::fs;
use std::path::{Path, PathBuf};

use dockside_tests::child;
use dockside_tests::docker_cli::{self, Cleanup};
use dockside_tests::fixture::temp_context;
use dockside_tests::proxy::{local_daemon_socket, DockerProxy};

#[test]
#[ignore = "run by the tests below in child processes"]
fn child_resolve() {
    child::resolve_from_env();
}

/// The context-hash records in the lock folder.
fn records(lock_dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(lock_dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "context"))
        .collect();
    found.sort();
    found
}

#[test]
fn a_run_hashes_a_context_once_and_the_next_run_sees_a_change() {
    let nonce = child::nonce();
    let mut cleanup = Cleanup::default();
    cleanup.labelled.push(format!("test.nonce={nonce}"));
    let context = temp_context(&format!(
        "FROM scratch\nCOPY fixture /fixture\nCOPY used.txt /used.txt\nLABEL test.nonce=\"{nonce}\"\n"
    ));
    let used = context.path().join("used.txt");
    fs::write(&used, "v1").unwrap();
    let dockerfile = context.path().join("Dockerfile");
    let lock_dir = tempfile::tempdir().unwrap();
    let proxy = DockerProxy::start(&local_daemon_socket()).unwrap();
    let host = proxy.docker_host();
    let lock = lock_dir.path().display().to_string();
    let (run_a, run_b) = (format!("run-a-{nonce}"), format!("run-b-{nonce}"));
    let resolve_in = |run: &str| {
        proxy.reset();
        let envs = [
            ("DOCKER_HOST", host.as_str()),
            ("DOCKSIDE_LOCK_DIR", lock.as_str()),
            ("NEXTEST_RUN_ID", run),
        ];
        let id = child::resolve_dockerfile(&dockerfile, &envs).resolved_id();
        (id, proxy.count("POST", "/build"))
    };

    let (first, builds) = resolve_in(&run_a);
    assert_eq!(builds, 1, "a new context");
    let recorded = records(lock_dir.path());
    assert_eq!(recorded.len(), 1, "one record for the run: {recorded:?}");

    // Later processes of the run take the context as the run first hashed it.
    fs::write(&used, "v2").unwrap();
    let (same_run, builds) = resolve_in(&run_a);
    assert_eq!((same_run.as_str(), builds), (first.as_str(), 0));

    // Another run hashes the context again and sees the change.
    let (next_run, builds) = resolve_in(&run_b);
    assert_eq!(builds, 1, "the changed file in a new run");
    assert_ne!(next_run, first);

    // A record cut short is ignored: the first run's next process scans the context, finds it
    // changed, and uses the image the second run built.
    let text = fs::read(&recorded[0]).unwrap();
    fs::write(&recorded[0], &text[..text.len() - 10]).unwrap();
    let (after_damage, builds) = resolve_in(&run_a);
    assert_eq!((after_damage.as_str(), builds), (next_run.as_str(), 0));

    // A recorded hash whose image is gone is not trusted to build from: the context is scanned
    // again and the image built from what is there now.
    fs::write(&used, "v3").unwrap();
    let run_c = format!("run-c-{nonce}");
    let (third, builds) = resolve_in(&run_c);
    assert_eq!(builds, 1);
    docker_cli::remove_image(&third);
    fs::write(&used, "v4").unwrap();
    let (rebuilt, builds) = resolve_in(&run_c);
    assert_eq!(builds, 1, "the image of the recorded hash was removed");
    assert!(rebuilt != third && rebuilt != next_run && rebuilt != first);
}
