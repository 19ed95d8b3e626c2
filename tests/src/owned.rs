//! What the daemon holds for a given owner, through the `docker` CLI: independent of
//! dockside's own listing code.

use crate::docker_cli::{docker, docker_ok};

/// Whether a container (or any object `docker inspect` knows) with this id exists.
pub fn exists(id: &str) -> bool {
    docker(&["inspect", "--format", "{{.Id}}", id])
        .status
        .success()
}

/// A process as dockside's `dockside.owner` label names it: its pid and when it started, so
/// that a container of an earlier process whose pid the system has since handed to this one is
/// not taken for this one's (pids wrap around within one CI run where `pid_max` is 32768).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Owner {
    pid: u32,
    /// Clock ticks since boot, as in `/proc/PID/stat` and in the label's fourth part.
    start_time: u64,
}

impl Owner {
    /// Process `pid`, which must not have been waited for yet: a child that has exited but was
    /// not reaped still shows its start time.
    ///
    /// # Panics
    /// If `/proc/PID/stat` cannot be read or parsed.
    pub fn of(pid: u32) -> Owner {
        let path = format!("/proc/{pid}/stat");
        let stat = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {path} (was the process reaped?): {e}"));
        // The command name (field 2) may hold spaces; field 22 is the 20th after its `)`.
        let start_time = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(19)?.parse().ok())
            .unwrap_or_else(|| panic!("no start time in {path}: {stat}"));
        Owner { pid, start_time }
    }

    /// Whether an owner label (`<host>/<boot id>/<pid>/<start time>/<pid namespace>`) names
    /// this process.
    fn named_by(&self, label: &str) -> bool {
        let parts: Vec<&str> = label.split('/').collect();
        parts.get(2) == Some(&self.pid.to_string().as_str())
            && parts.get(3) == Some(&self.start_time.to_string().as_str())
    }
}

/// Containers (running or not) whose `dockside.owner` label names `owner`.
pub fn containers_owned_by(owner: Owner) -> Vec<String> {
    owned_by(&["ps", "--all", "--no-trunc"], owner)
}

/// Networks whose `dockside.owner` label names `owner`.
pub fn networks_owned_by(owner: Owner) -> Vec<String> {
    owned_by(&["network", "ls", "--no-trunc"], owner)
}

/// The ids a `docker ... ls`-style `list` command prints for dockside objects owned by `owner`.
fn owned_by(list: &[&str], owner: Owner) -> Vec<String> {
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
            let (id, label) = line.split_once(' ')?;
            owner.named_by(label).then(|| id.to_owned())
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
pub fn containers_left_by(owner: Owner) -> Vec<String> {
    after_removal(|| containers_owned_by(owner), Vec::is_empty)
}

#[cfg(test)]
mod tests {
    use super::Owner;

    #[test]
    fn an_owner_is_named_by_its_pid_and_start_time_only() {
        let owner = Owner {
            pid: 4242,
            start_time: 987_654,
        };
        assert!(owner.named_by("host/boot/4242/987654/4026531836"));
        // An earlier process that had the same pid: its container is not this process's.
        assert!(!owner.named_by("host/boot/4242/123/4026531836"));
        assert!(!owner.named_by("host/boot/4243/987654/4026531836"));
        assert!(!owner.named_by("host/boot/4242/?/4026531836"));
        assert!(!owner.named_by(""));
    }

    #[test]
    fn this_process_is_read_from_proc() {
        let me = Owner::of(std::process::id());
        assert_eq!(me.pid, std::process::id());
        assert!(me.start_time > 0);
    }
}
