//! What a suite must be able to trust of the image side: the lock folder is the user's own, no
//! build, pull or lock wait lasts forever, nothing stale is reused, a step's output is never
//! mistaken for the tagging conflict, and images that merely inherited dockside's labels are not
//! treated as dockside's. Every case runs in a child process, since each sets its own environment
//! and no in-process cell may remember an earlier answer.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dockside::{BuildSpec, Image};
use dockside_tests::child::{self, ChildRun};
use dockside_tests::docker_cli::{self, docker_ok};
use dockside_tests::fixture::temp_context;
use dockside_tests::proxy::{local_daemon_socket, DockerProxy};
use tempfile::TempDir;

/// Child: resolves the image the environment names (`DOCKSIDE_TEST_PULL`, or
/// `DOCKSIDE_TEST_DOCKERFILE` with an optional `DOCKSIDE_TEST_TAG`) and prints its ID and
/// reference; an error fails the child with the error's text.
#[test]
#[ignore = "run by the tests below in child processes"]
fn child_resolve() {
    let image = match std::env::var("DOCKSIDE_TEST_PULL") {
        Ok(reference) => Image::Pull(reference),
        Err(_) => {
            let dockerfile =
                std::env::var("DOCKSIDE_TEST_DOCKERFILE").expect("parent sets the Dockerfile");
            let mut spec = BuildSpec::new(dockerfile);
            spec.tag = std::env::var("DOCKSIDE_TEST_TAG").ok();
            Image::Build(spec)
        }
    };
    // Several tests of one process needing the image, one after another.
    let times: usize = std::env::var("DOCKSIDE_TEST_TIMES").map_or(1, |t| t.parse().unwrap());
    let mut last_error = None;
    for _ in 0..times {
        match image.resolve() {
            Ok(resolved) => {
                println!("resolved-id={}", resolved.id);
                println!("resolved-ref={}", resolved.reference);
            }
            Err(e) => {
                println!(
                    "failed={}",
                    e.to_string().lines().next().unwrap_or_default()
                );
                last_error = Some(e);
            }
        }
    }
    if let Some(e) = last_error {
        panic!("{e}");
    }
}

/// Runs [`child_resolve`] with `envs`, and fails the test (after killing the child) when the
/// child is still running after `limit`: the cases here are about not waiting forever.
fn resolve_within(limit: Duration, envs: &[(&str, &str)]) -> ChildRun {
    let mut child: Child = child::spawn("child_resolve", envs);
    let started = Instant::now();
    while child.try_wait().expect("poll the child").is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let run = child::finish(child);
            panic!(
                "the child was still running after {limit:?}; killed it:\n{}",
                run.output()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child::finish(child)
}

fn resolve(envs: &[(&str, &str)]) -> ChildRun {
    resolve_within(Duration::from_secs(300), envs)
}

/// The ID a passing child printed.
fn resolved_id(run: &ChildRun) -> String {
    assert!(run.passed(), "child failed:\n{}", run.output());
    run.printed("resolved-id")
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("the child printed no image id:\n{}", run.output()))
}

/// The output of a child that must have failed.
fn failure(run: &ChildRun) -> String {
    assert!(!run.passed(), "the child passed:\n{}", run.output());
    run.output()
}

/// A private lock folder for one test.
fn lock_dir() -> TempDir {
    tempfile::Builder::new()
        .prefix("dockside-trust-locks-")
        .tempdir()
        .expect("create a lock folder")
}

/// The lock file dockside uses for an image key (the normalized reference): the first 32 hex
/// digits of its SHA-256, computed with `sha256sum` so this test shares no code with dockside.
fn lock_file(dir: &Path, key: &str) -> PathBuf {
    let out = docker_cli::run_ok("sh", &["-c", "printf %s \"$0\" | sha256sum", key]);
    dir.join(format!("{}.lock", &out[..32]))
}

/// Removes the images a test made, also when it fails half-way.
#[derive(Default)]
struct Images(Vec<String>);

impl Drop for Images {
    fn drop(&mut self) {
        for image in &self.0 {
            docker_cli::remove_image(image);
        }
    }
}

fn path_str(path: &Path) -> String {
    path.display().to_string()
}

// ---------------------------------------------------------------------------------------------
// 7. The lock folder belongs to the user

#[test]
fn a_lock_folder_others_can_write_is_refused() {
    let parent = lock_dir();
    let dir = parent.path().join("shared");
    fs::create_dir(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
    let (dir_s, dockerfile) = (
        path_str(&dir),
        path_str(&dockside_tests::fixture::base_dockerfile()),
    );
    let run = resolve(&[
        ("DOCKSIDE_LOCK_DIR", &dir_s),
        ("DOCKSIDE_TEST_DOCKERFILE", &dockerfile),
    ]);
    let out = failure(&run);
    assert!(out.contains(&format!("lock folder {dir_s}")), "{out}");
    assert!(
        out.contains("can be written by other users (mode 0777)"),
        "{out}"
    );
    assert!(
        out.contains("DOCKSIDE_LOCK_DIR"),
        "the message names the fix:\n{out}"
    );
    assert_eq!(
        fs::read_dir(&dir).unwrap().count(),
        0,
        "nothing was written into it"
    );
}

#[test]
fn a_lock_folder_of_another_user_is_refused() {
    let parent = lock_dir();
    let dir = parent.path().join("theirs");
    fs::create_dir(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
    docker_cli::run_ok("chown", &["nobody", &path_str(&dir)]);
    let (dir_s, dockerfile) = (
        path_str(&dir),
        path_str(&dockside_tests::fixture::base_dockerfile()),
    );
    let run = resolve(&[
        ("DOCKSIDE_LOCK_DIR", &dir_s),
        ("DOCKSIDE_TEST_DOCKERFILE", &dockerfile),
    ]);
    let out = failure(&run);
    assert!(
        out.contains(&format!("lock folder {dir_s} belongs to uid")),
        "{out}"
    );
    assert_eq!(
        fs::read_dir(&dir).unwrap().count(),
        0,
        "nothing was written into it"
    );
}

#[test]
fn a_new_lock_folder_is_private() {
    let parent = lock_dir();
    let dir = parent.path().join("new");
    let (dir_s, dockerfile) = (
        path_str(&dir),
        path_str(&dockside_tests::fixture::base_dockerfile()),
    );
    resolved_id(&resolve(&[
        ("DOCKSIDE_LOCK_DIR", &dir_s),
        ("DOCKSIDE_TEST_DOCKERFILE", &dockerfile),
    ]));
    let mode = fs::metadata(&dir)
        .expect("the folder was made")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o700, "mode {mode:o}");
}

#[test]
fn a_planted_symlink_lock_file_is_not_followed() {
    let dir = lock_dir();
    let victim = dir.path().join("victim-bashrc");
    fs::write(&victim, "precious\n").unwrap();
    let reference = format!("dockside-trust-absent-{}:1", child::nonce());
    let link = lock_file(dir.path(), &format!("docker.io/library/{reference}"));
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let dir_s = path_str(dir.path());
    let run = resolve(&[
        ("DOCKSIDE_LOCK_DIR", &dir_s),
        ("DOCKSIDE_TEST_PULL", &reference),
    ]);
    let out = failure(&run);
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious\n", "{out}");
    assert!(
        out.contains(&format!("lock file {} is a symbolic link", link.display())),
        "{out}"
    );
}

// ---------------------------------------------------------------------------------------------
// 3. Nothing waits forever

#[test]
fn a_sub_second_docker_timeout_works() {
    let dir = lock_dir();
    let (dir_s, dockerfile) = (
        path_str(dir.path()),
        path_str(&dockside_tests::fixture::base_dockerfile()),
    );
    // Built (or found) with the default limits first, so the case below is about requests.
    resolved_id(&resolve(&[
        ("DOCKSIDE_LOCK_DIR", &dir_s),
        ("DOCKSIDE_TEST_DOCKERFILE", &dockerfile),
    ]));
    let run = resolve(&[
        ("DOCKSIDE_LOCK_DIR", &dir_s),
        ("DOCKSIDE_TEST_DOCKERFILE", &dockerfile),
        ("DOCKSIDE_DOCKER_TIMEOUT", "500ms"),
    ]);
    resolved_id(&run);
}

#[test]
fn a_stalled_build_ends_at_the_image_timeout() {
    let context = temp_context(&format!(
        "FROM scratch\nCOPY fixture /fixture\nRUN [\"/fixture\", \"sleep\", \"--ms\", \"900000\"]\n\
         LABEL nonce={}\n",
        child::nonce()
    ));
    let dir = lock_dir();
    let dockerfile = path_str(&context.path().join("Dockerfile"));
    let dir_s = path_str(dir.path());
    let started = Instant::now();
    let run = resolve_within(
        Duration::from_secs(60),
        &[
            ("DOCKSIDE_LOCK_DIR", &dir_s),
            ("DOCKSIDE_TEST_DOCKERFILE", &dockerfile),
            ("DOCKSIDE_IMAGE_TIMEOUT", "3s"),
        ],
    );
    let out = failure(&run);
    assert!(out.contains("building image dockside/"), "{out}");
    assert!(
        out.contains("did not finish within 3s; DOCKSIDE_IMAGE_TIMEOUT sets this limit"),
        "{out}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(40),
        "{:?}",
        started.elapsed()
    );
}

/// A `flock` holding a lock file while its `sleep` runs, in a process group of its own: dropped,
/// both go. (Killing `flock` alone left the `sleep` running, holding the test's output open, so
/// nextest flagged the test as leaky.)
struct LockHolder(Child);

impl LockHolder {
    fn id(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for LockHolder {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.0.wait();
    }
}

/// Holds the lock file `path` with `flock` for `secs`, after writing `<pid> <limit ms>` into it
/// as a dockside holder would: a holder that hangs past its own limit.
fn hold_lock(path: &Path, limit_ms: u64, secs: u64) -> LockHolder {
    let holder = Command::new("flock")
        .args(["--exclusive", &path_str(path), "sleep", &secs.to_string()])
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run flock");
    let holder = LockHolder(holder);
    fs::write(path, format!("{} {limit_ms}", holder.id())).unwrap();
    // Until flock holds it, a waiter would simply get the lock.
    let deadline = Instant::now() + Duration::from_secs(5);
    while Command::new("flock")
        .args(["--exclusive", "--nonblock", &path_str(path), "true"])
        .status()
        .expect("probe with flock")
        .success()
    {
        assert!(
            Instant::now() < deadline,
            "flock never took {}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    holder
}

#[test]
fn a_lock_waiter_gives_up_after_the_holders_limit_and_names_it() {
    let dir = lock_dir();
    let reference = format!("dockside-trust-held-{}:1", child::nonce());
    let lock = lock_file(dir.path(), &format!("docker.io/library/{reference}"));
    let holder = hold_lock(&lock, 1000, 120);
    let dir_s = path_str(dir.path());
    let started = Instant::now();
    let run = resolve_within(
        Duration::from_secs(60),
        &[
            ("DOCKSIDE_LOCK_DIR", &dir_s),
            ("DOCKSIDE_TEST_PULL", &reference),
        ],
    );
    let waited = started.elapsed();
    let pid = holder.id();
    drop(holder);
    let out = failure(&run);
    assert!(
        out.contains(&format!(
            "waiting for process {pid} to finish preparing image"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("process {pid} preparing image")),
        "{out}"
    );
    assert!(
        out.contains("DOCKSIDE_IMAGE_TIMEOUT sets this limit"),
        "{out}"
    );
    // The holder's limit (1 s) plus a margin as long again, and some slack for a busy machine.
    assert!(waited < Duration::from_secs(20), "waited {waited:?}");
}

/// A pull of `x:1` and a build tagged `docker.io/library/x:1` change the same tag: the build
/// waits for the pull's lock.
#[test]
fn a_tagged_build_takes_the_lock_of_a_pull_of_the_same_reference() {
    let dir = lock_dir();
    let name = format!("dockside-trust-samekey-{}", child::nonce());
    let lock = lock_file(dir.path(), &format!("docker.io/library/{name}:1"));
    let holder = hold_lock(&lock, 500, 120);
    let context = temp_context("FROM scratch\nCOPY fixture /fixture\n");
    let dockerfile = path_str(&context.path().join("Dockerfile"));
    let dir_s = path_str(dir.path());
    let tag = format!("docker.io/library/{name}:1");
    let _images = Images(vec![format!("{name}:1")]);
    let run = resolve_within(
        Duration::from_secs(120),
        &[
            ("DOCKSIDE_LOCK_DIR", &dir_s),
            ("DOCKSIDE_TEST_DOCKERFILE", &dockerfile),
            ("DOCKSIDE_TEST_TAG", &tag),
        ],
    );
    let pid = holder.id();
    drop(holder);
    let out = run.output();
    assert!(
        out.contains(&format!("waiting for process {pid}")),
        "the build did not wait for the pull's lock:\n{out}"
    );
}

// ---------------------------------------------------------------------------------------------
// 5. Nothing stale

#[test]
fn a_base_tag_moved_to_another_image_rebuilds_the_derived_image() {
    let nonce = child::nonce();
    let base = format!("dockside-trust-base-{nonce}:1");
    // Both versions of the base, by id, removed after the derived images (locals drop in
    // reverse order): the retag leaves version 1 untagged, and a parent with a child stays.
    let mut bases = Images(Vec::new());
    let mut images = Images(vec![base.clone()]);
    let base_context = temp_context("FROM scratch\nCOPY fixture /fixture\nLABEL version=1\n");
    // `docker build -q` prints the image's id.
    let build_base = || docker_ok(&["build", "-q", "-t", &base, &path_str(base_context.path())]);
    bases.0.push(build_base());
    let derived = temp_context(&format!(
        "FROM {base}\nENTRYPOINT [\"/fixture\"]\nCMD [\"serve\", \"--port\", \"8080\"]\n"
    ));
    let dir = lock_dir();
    let (dir_s, dockerfile) = (
        path_str(dir.path()),
        path_str(&derived.path().join("Dockerfile")),
    );
    let envs = [
        ("DOCKSIDE_LOCK_DIR", dir_s.as_str()),
        ("DOCKSIDE_TEST_DOCKERFILE", dockerfile.as_str()),
    ];
    let first = resolve(&envs);
    let first_id = resolved_id(&first);
    images.0.extend(first.printed("resolved-ref"));

    fs::write(
        base_context.path().join("Dockerfile"),
        "FROM scratch\nCOPY fixture /fixture\nLABEL version=2\n",
    )
    .unwrap();
    bases.0.push(build_base());
    let second = resolve(&envs);
    let second_id = resolved_id(&second);
    images.0.extend(second.printed("resolved-ref"));
    images.0.push(first_id.clone());

    assert_ne!(
        first_id, second_id,
        "the derived image still runs the old base"
    );
    let version = docker_cli::inspect(&second_id, "{{index .Config.Labels \"version\"}}");
    assert_eq!(version.trim(), "2");
}

// ---------------------------------------------------------------------------------------------
// Also reported: "already exists" in a step's output, inherited labels

#[test]
fn already_exists_in_a_failing_steps_output_is_a_build_failure_with_its_output() {
    let marker = format!("marker-{} already exists", child::nonce());
    let context = temp_context(&format!(
        "FROM scratch\nCOPY fixture /fixture\n\
         RUN [\"/fixture\", \"exit\", \"--code\", \"3\", \"--stdout\", \"{marker}\"]\n"
    ));
    let dir = lock_dir();
    let (dir_s, dockerfile) = (
        path_str(dir.path()),
        path_str(&context.path().join("Dockerfile")),
    );
    let run = resolve(&[
        ("DOCKSIDE_LOCK_DIR", &dir_s),
        ("DOCKSIDE_TEST_DOCKERFILE", &dockerfile),
    ]);
    let out = failure(&run);
    let (_, output) = out
        .split_once("--- build output ---")
        .unwrap_or_else(|| panic!("no build output section:\n{out}"));
    assert!(
        output.contains(&marker),
        "the step's own output is missing:\n{out}"
    );
    assert!(
        !out.contains("does not name an image of this content"),
        "{out}"
    );
}

/// Builds `dockerfile_text` with the docker CLI into `tag`.
fn docker_build(tag: &str, dockerfile_text: &str) -> TempDir {
    let context = temp_context(dockerfile_text);
    docker_ok(&["build", "-q", "-t", tag, &path_str(context.path())]);
    context
}

#[test]
fn an_image_built_from_a_dockside_image_is_not_dockside_s_to_overwrite() {
    let nonce = child::nonce();
    let parent = temp_context(&format!(
        "FROM scratch\nCOPY fixture /fixture\nLABEL n={nonce}\n"
    ));
    let dir = lock_dir();
    let (dir_s, parent_df) = (
        path_str(dir.path()),
        path_str(&parent.path().join("Dockerfile")),
    );
    let run = resolve(&[
        ("DOCKSIDE_LOCK_DIR", &dir_s),
        ("DOCKSIDE_TEST_DOCKERFILE", &parent_df),
    ]);
    let parent_ref = run
        .printed("resolved-ref")
        .into_iter()
        .next()
        .unwrap_or_default();
    resolved_id(&run);
    let users = format!("dockside-trust-users-{nonce}:1");
    let mut images = Images(vec![users.clone(), parent_ref.clone()]);
    let _users_context = docker_build(&users, &format!("FROM {parent_ref}\nLABEL mine=yes\n"));
    let users_id = docker_cli::inspect(&users, "{{.Id}}").trim().to_owned();

    // A build of another Dockerfile for the user's tag must not replace the user's image.
    let other = temp_context(&format!(
        "FROM scratch\nCOPY fixture /fixture\nLABEL o={nonce}\n"
    ));
    let other_df = path_str(&other.path().join("Dockerfile"));
    let run = resolve(&[
        ("DOCKSIDE_LOCK_DIR", &dir_s),
        ("DOCKSIDE_TEST_DOCKERFILE", &other_df),
        ("DOCKSIDE_TEST_TAG", &users),
    ]);
    images.0.extend(run.printed("resolved-id"));
    let out = failure(&run);
    assert!(
        out.contains("was not built by dockside; refusing to overwrite it"),
        "{out}"
    );
    assert_eq!(docker_cli::inspect(&users, "{{.Id}}").trim(), users_id);
}

#[test]
fn prune_leaves_images_built_from_a_dockside_image() {
    let nonce = child::nonce();
    let parent = temp_context(&format!(
        "FROM scratch\nCOPY fixture /fixture\nLABEL n={nonce}\n"
    ));
    let dockerfile = parent.path().join("Dockerfile");
    let dir = lock_dir();
    let (dir_s, df) = (path_str(dir.path()), path_str(&dockerfile));
    let run = resolve(&[
        ("DOCKSIDE_LOCK_DIR", &dir_s),
        ("DOCKSIDE_TEST_DOCKERFILE", &df),
    ]);
    let old_ref = run
        .printed("resolved-ref")
        .into_iter()
        .next()
        .unwrap_or_default();
    resolved_id(&run);
    let users = format!("dockside-trust-derived-{nonce}:1");
    let mut images = Images(vec![users.clone(), old_ref.clone()]);
    let _users_context = docker_build(&users, &format!("FROM {old_ref}\nLABEL mine=yes\n"));

    // The Dockerfile changes, so the old image is stale; the user's derived image is not ours.
    fs::write(
        &dockerfile,
        format!("FROM scratch\nCOPY fixture /fixture\nLABEL n={nonce}-2\n"),
    )
    .unwrap();
    let removed =
        dockside::image::prune(&BuildSpec::new(&dockerfile)).unwrap_or_else(|e| panic!("{e}"));
    images.0.extend(removed.iter().cloned());
    assert!(
        docker_cli::image_exists(&users),
        "prune removed the user's image {users}"
    );
}

// ---------------------------------------------------------------------------------------------
// 4. A failing build runs once per run

fn failing_context(marker: &str) -> TempDir {
    temp_context(&format!(
        "FROM scratch\nCOPY fixture /fixture\n\
         RUN [\"/fixture\", \"exit\", \"--code\", \"3\", \"--stdout\", \"{marker}\"]\n"
    ))
}

#[test]
fn a_failing_build_runs_once_per_nextest_run_across_processes() {
    let marker = format!("trust-failing-{}", child::nonce());
    let context = failing_context(&marker);
    let dir = lock_dir();
    let proxy = DockerProxy::start(&local_daemon_socket()).unwrap();
    let (dir_s, dockerfile, host) = (
        path_str(dir.path()),
        path_str(&context.path().join("Dockerfile")),
        proxy.docker_host(),
    );
    for run_id in [format!("{marker}-run-1"), format!("{marker}-run-2")] {
        proxy.reset();
        let runs = child::run_many(
            "child_resolve",
            3,
            &[
                ("DOCKER_HOST", &host),
                ("DOCKSIDE_LOCK_DIR", &dir_s),
                ("DOCKSIDE_TEST_DOCKERFILE", &dockerfile),
                ("NEXTEST_RUN_ID", &run_id),
            ],
        );
        for run in &runs {
            let out = failure(run);
            let (_, output) = out
                .split_once("--- build output ---")
                .unwrap_or_else(|| panic!("no build output section:\n{out}"));
            assert!(
                output.contains(&marker),
                "the build's own output is missing:\n{out}"
            );
        }
        assert_eq!(
            proxy.count("POST", "/build"),
            1,
            "builds in nextest run {run_id} (each run tries once)"
        );
    }
}

#[test]
fn a_failing_build_runs_once_per_test_binary() {
    let marker = format!("trust-failing-{}", child::nonce());
    let context = failing_context(&marker);
    let dir = lock_dir();
    let proxy = DockerProxy::start(&local_daemon_socket()).unwrap();
    let (dir_s, dockerfile, host) = (
        path_str(dir.path()),
        path_str(&context.path().join("Dockerfile")),
        proxy.docker_host(),
    );
    let run = resolve(&[
        ("DOCKER_HOST", &host),
        ("DOCKSIDE_LOCK_DIR", &dir_s),
        ("DOCKSIDE_TEST_DOCKERFILE", &dockerfile),
        ("DOCKSIDE_TEST_TIMES", "3"),
        ("NEXTEST_RUN_ID", ""),
    ]);
    let out = failure(&run);
    assert_eq!(run.printed("failed").len(), 3, "{out}");
    assert!(out.contains(&marker), "{out}");
    assert_eq!(proxy.count("POST", "/build"), 1, "{out}");
}
