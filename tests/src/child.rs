//! Running one test of the current test binary as a separate process, the way nextest runs
//! every test: for behaviour that spans processes (one build for many processes), that needs a
//! process-wide setting (`DOCKER_HOST`), or that ends a process (a failing test, a signal).
//!
//! Child tests are `#[ignore]`d so a normal run skips them; the parent runs them by exact name.
//!
//! Resolving an image in a fresh process is common enough to have one child body,
//! [`resolve_from_env`], driven by the `DOCKSIDE_TEST_*` variables below: each test binary that
//! needs it declares the child test as a one-line call, and the parent reads the answer with
//! [`ChildRun::resolved_id`].

use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};

use dockside::{BuildSpec, Image};

/// The name every test binary gives its child test that calls [`resolve_from_env`].
pub const RESOLVE: &str = "child_resolve";
/// For [`resolve_from_env`]: the Dockerfile to build (its folder is the context).
pub const DOCKERFILE: &str = "DOCKSIDE_TEST_DOCKERFILE";
/// For [`resolve_from_env`]: the reference to pull, when no Dockerfile is given.
pub const REFERENCE: &str = "DOCKSIDE_TEST_REFERENCE";
/// For [`resolve_from_env`]: the tag the build applies (optional).
pub const TAG: &str = "DOCKSIDE_TEST_TAG";
/// For [`resolve_from_env`]: how many threads resolve at once (default 1).
pub const THREADS: &str = "DOCKSIDE_TEST_THREADS";

/// What a finished child test printed and how it ended.
#[derive(Debug)]
pub struct ChildRun {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl ChildRun {
    /// Both output streams, for searching.
    pub fn output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    pub fn passed(&self) -> bool {
        self.status.success()
    }

    /// The image ID each thread of a passing [`resolve_from_env`] child printed.
    ///
    /// # Panics
    /// If the child failed, showing its output.
    pub fn resolved_ids(&self) -> Vec<String> {
        assert!(self.passed(), "child failed:\n{}", self.output());
        self.printed("resolved-id")
    }

    /// The one image ID a passing [`resolve_from_env`] child printed.
    ///
    /// # Panics
    /// If the child failed or printed no image ID.
    pub fn resolved_id(&self) -> String {
        assert!(self.passed(), "child failed:\n{}", self.output());
        self.printed_first("resolved-id")
    }

    /// The first value the child printed for `key` (see [`ChildRun::printed`]).
    ///
    /// # Panics
    /// If the child printed none, showing its output.
    pub fn printed_first(&self, key: &str) -> String {
        self.printed(key)
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("the child printed no {key}=:\n{}", self.output()))
    }

    /// The values the child printed as `key=value` lines on stdout. libtest may print
    /// "test NAME ... " on the same line first, so the key is searched anywhere in a line.
    pub fn printed(&self, key: &str) -> Vec<String> {
        let marker = format!("{key}=");
        self.stdout
            .lines()
            .filter_map(|line| {
                line.split_once(&marker)
                    .map(|(_, value)| value.trim().to_owned())
            })
            .collect()
    }
}

/// Starts the test `name` of this binary in a child process with extra environment variables.
///
/// The child belongs to no nextest run unless `envs` names one (`NEXTEST_RUN_ID`): what a
/// process of a run may take from the run's earlier processes (a recorded context hash, a failed
/// build) must not leak from one child to the next of a test that changes things between them.
pub fn spawn(name: &str, envs: &[(&str, &str)]) -> Child {
    let exe = std::env::current_exe().expect("the test binary knows its path");
    Command::new(exe)
        .args([
            name,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env_remove("NEXTEST_RUN_ID")
        .envs(envs.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the test binary")
}

/// Waits for a child started with [`spawn`].
pub fn finish(child: Child) -> ChildRun {
    let output = child.wait_with_output().expect("wait for the child test");
    ChildRun {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs the test `name` in a child process and waits for it.
pub fn run(name: &str, envs: &[(&str, &str)]) -> ChildRun {
    finish(spawn(name, envs))
}

/// Runs `count` copies of the test `name` at the same moment, as nextest would for that many
/// tests needing the same thing, and waits for all of them.
pub fn run_many(name: &str, count: usize, envs: &[(&str, &str)]) -> Vec<ChildRun> {
    let children: Vec<Child> = (0..count).map(|_| spawn(name, envs)).collect();
    children.into_iter().map(finish).collect()
}

/// A value unique to this run, for names of images and folders a test creates.
pub fn nonce() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{}{nanos}", std::process::id())
}

/// The image the parent describes in [`DOCKERFILE`] (with [`TAG`]) or [`REFERENCE`].
///
/// # Panics
/// When the parent set neither variable.
pub fn image_from_env() -> Image {
    match (std::env::var(DOCKERFILE), std::env::var(REFERENCE)) {
        (Ok(dockerfile), _) => {
            let mut spec = BuildSpec::new(dockerfile);
            spec.tag = std::env::var(TAG).ok();
            Image::Build(spec)
        }
        (Err(_), Ok(reference)) => Image::Pull(reference),
        (Err(_), Err(_)) => panic!("the parent sets {DOCKERFILE} or {REFERENCE}"),
    }
}

/// The body of a child test: resolves [`image_from_env`] in [`THREADS`] threads at once, and
/// prints `resolved-id=ID` for each. A fresh process, so no in-process cell remembers an earlier
/// answer.
///
/// # Panics
/// With dockside's error message when a resolve fails, or when the parent set neither variable.
pub fn resolve_from_env() {
    let image = image_from_env();
    let threads: usize = std::env::var(THREADS).map_or(1, |t| {
        t.parse().unwrap_or_else(|e| panic!("{THREADS}={t:?}: {e}"))
    });
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| scope.spawn(|| image.resolve()))
            .collect();
        for handle in handles {
            let resolved = handle
                .join()
                .expect("resolver thread")
                .unwrap_or_else(|e| panic!("{e}"));
            println!("resolved-id={}", resolved.id);
        }
    });
}

/// Runs the [`RESOLVE`] child of this binary for `dockerfile`, with extra environment variables.
pub fn resolve_dockerfile(dockerfile: &Path, envs: &[(&str, &str)]) -> ChildRun {
    let dockerfile = dockerfile.display().to_string();
    let mut all = vec![(DOCKERFILE, dockerfile.as_str())];
    all.extend_from_slice(envs);
    run(RESOLVE, &all)
}
