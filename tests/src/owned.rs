//! What the daemon holds for a given owner, through the `docker` CLI: independent of
//! dockside's own listing code.

use crate::docker_cli::{docker, docker_ok};

/// Whether a container (or any object `docker inspect` knows) with this id exists.
pub fn exists(id: &str) -> bool {
    docker(&["inspect", "--format", "{{.Id}}", id])
        .status
        .success()
}

/// Containers (running or not) whose `dockside.owner` label names process `pid` (its third
/// `/`-separated part).
pub fn containers_owned_by(pid: u32) -> Vec<String> {
    owned_by(&["ps", "--all", "--no-trunc"], pid)
}

/// Networks whose `dockside.owner` label names process `pid`.
pub fn networks_owned_by(pid: u32) -> Vec<String> {
    owned_by(&["network", "ls", "--no-trunc"], pid)
}

/// The ids a `docker ... ls`-style `list` command prints for dockside objects owned by `pid`.
fn owned_by(list: &[&str], pid: u32) -> Vec<String> {
    let mut args = list.to_vec();
    args.extend([
        "--filter",
        "label=dockside.managed=true",
        "--format",
        "{{.ID}} {{.Label \"dockside.owner\"}}",
    ]);
    docker_ok(&args)
        .lines()
        .filter_map(|line| {
            let (id, owner) = line.split_once(' ')?;
            (owner.split('/').nth(2) == Some(pid.to_string().as_str())).then(|| id.to_owned())
        })
        .collect()
}

/// How long removal may take after a test's process has ended: a detached courier process of
/// dockside's carries it out, off the test's clock.
pub const REMOVAL_TIME: std::time::Duration = std::time::Duration::from_secs(15);

/// What `probe` answers once `settled` accepts it, or its last answer after [`REMOVAL_TIME`]:
/// for checking what a finished test process left behind.
pub fn after_removal<T>(mut probe: impl FnMut() -> T, settled: impl Fn(&T) -> bool) -> T {
    let deadline = std::time::Instant::now() + REMOVAL_TIME;
    loop {
        let answer = probe();
        if settled(&answer) || std::time::Instant::now() >= deadline {
            return answer;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// [`containers_owned_by`] once it is empty, or after [`REMOVAL_TIME`].
pub fn containers_left_by(pid: u32) -> Vec<String> {
    after_removal(|| containers_owned_by(pid), Vec::is_empty)
}
