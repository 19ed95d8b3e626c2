//! One build per run across processes and threads: N test processes that need the same new
//! Dockerfile at the same moment cause exactly one build request to reach the daemon; a rerun
//! with nothing changed causes none; a changed Dockerfile causes exactly one. The requests are
//! counted by a proxy on a unix socket that the child processes use as their DOCKER_HOST.

use std::path::Path;

use dockside_tests::child::{self, ChildRun};
use dockside_tests::docker_cli::{self, Cleanup};
use dockside_tests::fixture::temp_context;
use dockside_tests::proxy::{local_daemon_socket, DockerProxy, Fault};

const PROCESSES: usize = 4;
const THREADS_PER_PROCESS: &str = "3";

/// Child: resolves the image described by the environment in several threads at once (the
/// threads of one `cargo test` binary) and prints the image ID each got.
#[test]
#[ignore = "run by the tests below in child processes"]
fn child_resolve() {
    child::resolve_from_env();
}

/// The image IDs the children printed; all of them must have succeeded.
fn resolved_ids(runs: &[ChildRun]) -> Vec<String> {
    runs.iter().flat_map(ChildRun::resolved_ids).collect()
}

/// Runs PROCESSES children through `proxy` and returns the build requests counted and the one
/// image ID every thread of every child got.
fn resolve_everywhere(
    proxy: &DockerProxy,
    dockerfile: &Path,
    tag: Option<&str>,
    lock_dir: &Path,
) -> (usize, String) {
    proxy.reset();
    let host = proxy.docker_host();
    let dockerfile = dockerfile.display().to_string();
    let lock_dir = lock_dir.display().to_string();
    let mut envs = vec![
        ("DOCKER_HOST", host.as_str()),
        (child::DOCKERFILE, dockerfile.as_str()),
        (child::THREADS, THREADS_PER_PROCESS),
        ("DOCKSIDE_LOCK_DIR", lock_dir.as_str()),
    ];
    if let Some(tag) = tag {
        envs.push((child::TAG, tag));
    }
    let runs = child::run_many(child::RESOLVE, PROCESSES, &envs);
    let ids = resolved_ids(&runs);
    assert_eq!(
        ids.len(),
        PROCESSES * THREADS_PER_PROCESS.parse::<usize>().unwrap()
    );
    assert!(
        ids.iter().all(|id| id == &ids[0]),
        "threads and processes got different images: {ids:?}"
    );
    let builds = proxy.count("POST", "/build");
    // Progress on stderr: the build's steps where one ran, silence where the image was there.
    let is_step = |line: &str| {
        line.strip_prefix("dockside: building ")
            .is_some_and(|rest| rest.contains(": "))
    };
    let progress = runs
        .iter()
        .filter(|run| run.stderr.lines().any(is_step))
        .count();
    let announced = runs
        .iter()
        .filter(|run| run.stderr.contains("dockside: building image"))
        .count();
    assert_eq!(
        (progress, announced),
        (builds, builds),
        "progress lines per build"
    );
    (builds, ids[0].clone())
}

fn dockerfile_text(nonce: &str, extra: &str) -> String {
    format!("FROM scratch\nCOPY fixture /fixture\nLABEL test.nonce=\"{nonce}\"\n{extra}ENTRYPOINT [\"/fixture\"]\n")
}

/// The whole sequence for one way of naming the image.
fn builds_once_then_never_then_once_more(tag: Option<&str>) {
    let mut cleanup = Cleanup::default();
    if let Some(tag) = tag {
        cleanup.images.push(tag.to_owned());
    }
    let nonce = child::nonce();
    cleanup.labelled.push(format!("test.nonce={nonce}"));
    let context = temp_context(&dockerfile_text(&nonce, ""));
    let dockerfile = context.path().join("Dockerfile");
    let lock_dir = tempfile::tempdir().unwrap();
    let proxy = DockerProxy::start(&local_daemon_socket()).unwrap();

    let (builds, first) = resolve_everywhere(&proxy, &dockerfile, tag, lock_dir.path());
    assert_eq!(
        builds, 1,
        "a new Dockerfile needed by {PROCESSES} processes at once"
    );

    let (builds, again) = resolve_everywhere(&proxy, &dockerfile, tag, lock_dir.path());
    assert_eq!(builds, 0, "a rerun with nothing changed");
    assert_eq!(again, first);

    std::fs::write(
        &dockerfile,
        dockerfile_text(&nonce, "LABEL test.changed=\"yes\"\n"),
    )
    .unwrap();
    let (builds, changed) = resolve_everywhere(&proxy, &dockerfile, tag, lock_dir.path());
    assert_eq!(builds, 1, "a changed Dockerfile");
    assert_ne!(
        changed, first,
        "the changed Dockerfile must give a new image"
    );
}

#[test]
fn content_hash_tag_is_built_once_per_run_across_processes() {
    builds_once_then_never_then_once_more(None);
}

#[test]
fn user_named_tag_is_built_once_and_rebuilt_when_stale() {
    let tag = format!("dockside-test-named-{}:latest", child::nonce());
    builds_once_then_never_then_once_more(Some(&tag));
}

/// BuildKit's "already exists" at tagging, after a build that did tag the image, is success —
/// once an inspect shows the tag names an image of this content.
#[test]
fn already_exists_at_tagging_counts_as_built() {
    let nonce = child::nonce();
    let tag = format!("dockside-test-exists-{nonce}:latest");
    let mut cleanup = Cleanup::default();
    cleanup.images.push(tag.clone());
    cleanup.labelled.push(format!("test.nonce={nonce}"));
    let context = temp_context(&dockerfile_text(&nonce, ""));
    let lock_dir = tempfile::tempdir().unwrap();
    let proxy = DockerProxy::start(&local_daemon_socket()).unwrap();
    proxy.inject(Fault::AlreadyExistsAfterBuild);
    let host = proxy.docker_host();
    let dockerfile = context.path().join("Dockerfile").display().to_string();
    let lock = lock_dir.path().display().to_string();
    let run = child::run(
        child::RESOLVE,
        &[
            ("DOCKER_HOST", &host),
            (child::DOCKERFILE, &dockerfile),
            (child::TAG, &tag),
            ("DOCKSIDE_LOCK_DIR", &lock),
        ],
    );
    let ids = run.resolved_ids();
    assert_eq!(proxy.count("POST", "/build"), 1);
    assert_eq!(ids, vec![docker_cli::inspect(&tag, "{{.Id}}")]);
}

/// "already exists" that is not the tagging step's answer after a finished build is an error.
#[test]
fn already_exists_for_other_content_is_an_error() {
    let nonce = child::nonce();
    let context = temp_context(&dockerfile_text(&nonce, ""));
    let proxy = DockerProxy::start(&local_daemon_socket()).unwrap();
    // Every build request is refused with those words without reaching the daemon, so the tag
    // never names an image of this content.
    proxy.inject(Fault::ErrorStatus {
        method: "POST".to_owned(),
        path_prefix: "/build".to_owned(),
        status: 500,
        message: "image \"docker.io/library/x:latest\": already exists".to_owned(),
    });
    let tag = format!("dockside-test-exists-other-{nonce}:latest");
    let host = proxy.docker_host();
    let dockerfile = context.path().join("Dockerfile").display().to_string();
    let run = child::run(
        child::RESOLVE,
        &[
            ("DOCKER_HOST", &host),
            (child::DOCKERFILE, &dockerfile),
            (child::TAG, &tag),
        ],
    );
    assert!(!run.passed(), "{}", run.output());
    let output = run.output();
    assert!(
        output.contains("building image from") && output.contains("already exists"),
        "{output}"
    );
    assert!(!docker_cli::image_exists(&tag));
}

/// A process waiting for another's build says so, naming the image and the builder's pid, and
/// builds nothing itself.
#[test]
fn a_waiting_process_names_the_builder() {
    let nonce = child::nonce();
    let mut cleanup = Cleanup::default();
    cleanup.labelled.push(format!("test.nonce={nonce}"));
    let context = temp_context(&dockerfile_text(
        &nonce,
        "RUN [\"/fixture\", \"sleep\", \"--ms\", \"3000\"]\n",
    ));
    let lock_dir = tempfile::tempdir().unwrap();
    let proxy = DockerProxy::start(&local_daemon_socket()).unwrap();
    let host = proxy.docker_host();
    let dockerfile = context.path().join("Dockerfile").display().to_string();
    let lock = lock_dir.path().display().to_string();
    let envs = [
        ("DOCKER_HOST", host.as_str()),
        (child::DOCKERFILE, dockerfile.as_str()),
        ("DOCKSIDE_LOCK_DIR", lock.as_str()),
    ];
    let builder = child::spawn(child::RESOLVE, &envs);
    let builder_pid = builder.id().to_string();
    // The builder writes its pid into the lock file once it holds the lock.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !lock_files_name(lock_dir.path(), &builder_pid) {
        assert!(
            std::time::Instant::now() < deadline,
            "the builder never took the lock"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let waiter = child::run(child::RESOLVE, &envs);
    let builder = child::finish(builder);
    let waiter_stderr = waiter.stderr.clone();
    let ids = resolved_ids(&[builder, waiter]);
    assert_eq!(ids[0], ids[1]);
    assert!(
        waiter_stderr.contains(&format!(
            "waiting for process {builder_pid} to finish preparing image"
        )),
        "{waiter_stderr}"
    );
    assert_eq!(proxy.count("POST", "/build"), 1);
}

fn lock_files_name(dir: &Path, pid: &str) -> bool {
    std::fs::read_dir(dir).unwrap().flatten().any(|entry| {
        // `<pid> <limit in ms>`: the holder's pid comes first.
        std::fs::read_to_string(entry.path())
            .is_ok_and(|text| text.split_whitespace().next() == Some(pid))
    })
}
