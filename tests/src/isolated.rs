//! Running one test of the current test binary as a child process under a wrapper command
//! (`unshare ...`), and reading what it prints while it runs: for owners that live in another
//! PID namespace or without a readable /proc, and for children that must be signalled at a
//! given moment.
//!
//! Child tests are `#[ignore]`d, as with [`crate::child`].

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Runs `sh -c SCRIPT` with the test binary's command line as `"$@"`: a wrapper that mounts an
/// empty tmpfs on /proc in a mount namespace of its own, so the child cannot read /proc.
pub const WITHOUT_PROC: &[&str] = &[
    "unshare",
    "--mount",
    "sh",
    "-c",
    "mount -t tmpfs none /proc && exec \"$@\"",
    "sh",
];

/// The child is pid 1 of a new PID namespace with its own /proc, and dies with `unshare`.
pub const OTHER_PID_NAMESPACE: &[&str] =
    &["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"];

/// A running child test. Dropping it kills the child.
pub struct Running {
    child: Child,
    lines: Receiver<String>,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

/// Starts the test `name` of this binary, under `wrapper` (a command and its arguments, to
/// which the test binary's command line is appended; empty for none).
pub fn spawn(wrapper: &[&str], name: &str, envs: &[(&str, &str)]) -> Running {
    let exe = std::env::current_exe().expect("the test binary knows its path");
    let exe = exe.to_str().expect("the test binary's path is UTF-8");
    let test_args = [
        exe,
        name,
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ];
    let mut line: Vec<&str> = wrapper.to_vec();
    line.extend(test_args);
    let mut child = Command::new(line[0])
        .args(&line[1..])
        .envs(envs.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {line:?}: {e}"));
    let (sender, lines) = mpsc::channel();
    let stdout = Arc::new(Mutex::new(String::new()));
    let reader = BufReader::new(child.stdout.take().expect("stdout is piped"));
    let collected = Arc::clone(&stdout);
    std::thread::spawn(move || {
        for line in reader.lines().map_while(Result::ok) {
            collected.lock().unwrap().push_str(&format!("{line}\n"));
            // The receiver may be gone when nobody waits any more; the text is collected anyway.
            let _ = sender.send(line);
        }
    });
    let stderr = Arc::new(Mutex::new(String::new()));
    let mut err_pipe = child.stderr.take().expect("stderr is piped");
    let collected = Arc::clone(&stderr);
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(read @ 1..) = err_pipe.read(&mut buffer) {
            collected
                .lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buffer[..read]));
        }
    });
    Running {
        child,
        lines,
        stdout,
        stderr,
    }
}

impl Running {
    /// The pid of the child (of the wrapper, when there is one).
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Waits until the child prints a line holding `key=value` and returns the value;
    /// panics with everything printed so far after `limit`.
    pub fn wait_for(&self, key: &str, limit: Duration) -> String {
        let marker = format!("{key}=");
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some((_, value)) = line.split_once(&marker) {
                        return value.trim().to_owned();
                    }
                }
                Err(_) => panic!(
                    "the child printed no {key}= within {limit:?}\n{}",
                    self.output()
                ),
            }
        }
    }

    /// Waits for the child to end, at most `limit`; `None` if it is still running then.
    pub fn wait_until_ended(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("poll the child") {
                // Let the reader threads take the last of the output.
                std::thread::sleep(Duration::from_millis(100));
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Both output streams so far.
    pub fn output(&self) -> String {
        format!(
            "{}\n{}",
            self.stdout.lock().unwrap(),
            self.stderr.lock().unwrap()
        )
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // An error means it has ended already.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
