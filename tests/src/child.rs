//! Running one test of the current test binary as a separate process, the way nextest runs
//! every test: for behaviour that spans processes (one build for many processes), that needs a
//! process-wide setting (`DOCKER_HOST`), or that ends a process (a failing test, a signal).
//!
//! Child tests are `#[ignore]`d so a normal run skips them; the parent runs them by exact name.

use std::process::{Child, Command, ExitStatus, Stdio};

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
