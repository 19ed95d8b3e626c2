//! The labels dockside puts on what it creates, and the owner identity they record.
//!
//! Labels are how dockside tells its own containers from anyone else's: cleanup only ever
//! touches objects carrying [`MANAGED`], and of those only ones whose owning process is gone.

/// On every container, network and image dockside creates.
pub(crate) const MANAGED: &str = "dockside.managed";
/// The nextest run (`NEXTEST_RUN_ID`) that created a container.
pub(crate) const SESSION: &str = "dockside.session";
/// The creating process: `<host>/<boot id>/<pid>/<process start time>`.
pub(crate) const OWNER: &str = "dockside.owner";
/// The test that created a container.
pub(crate) const TEST: &str = "dockside.test";
/// The test parameter a container was handed to.
pub(crate) const NAME: &str = "dockside.name";
/// On built images: the hash of everything the build used.
pub(crate) const CONTENT_HASH: &str = "dockside.content-hash";
/// On built images: the Dockerfile they were built from.
pub(crate) const DOCKERFILE: &str = "dockside.dockerfile";
/// On built images: the tag dockside built them for. Images built `FROM` a dockside image inherit
/// every `dockside.*` label; this one then names the parent's tag, which tells the two apart.
pub(crate) const TAG: &str = "dockside.tag";

/// Identifies a process across pid reuse and reboots: a pid alone may name a new process later.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Owner {
    host: String,
    boot_id: String,
    pid: u32,
    start_time: u64,
}

impl Owner {
    /// This process.
    pub(crate) fn current() -> Owner {
        let pid = std::process::id();
        Owner {
            host: hostname(),
            boot_id: boot_id(),
            pid,
            start_time: process_start_time(pid).unwrap_or(0),
        }
    }

    pub(crate) fn label(&self) -> String {
        format!(
            "{}/{}/{}/{}",
            self.host, self.boot_id, self.pid, self.start_time
        )
    }

    pub(crate) fn parse(label: &str) -> Option<Owner> {
        let mut parts = label.rsplitn(4, '/');
        let start_time = parts.next()?.parse().ok()?;
        let pid = parts.next()?.parse().ok()?;
        let boot_id = parts.next()?.to_owned();
        let host = parts.next()?.to_owned();
        Some(Owner {
            host,
            boot_id,
            pid,
            start_time,
        })
    }

    /// Whether this owner is certainly gone. Owners on other hosts are never known to be gone:
    /// their containers are not ours to judge.
    pub(crate) fn is_gone(&self) -> bool {
        if self.host != hostname() {
            return false;
        }
        if self.boot_id != boot_id() {
            return true;
        }
        process_start_time(self.pid) != Some(self.start_time)
    }
}

fn hostname() -> String {
    read_trimmed("/proc/sys/kernel/hostname").unwrap_or_else(|| "unknown".to_owned())
}

fn boot_id() -> String {
    read_trimmed("/proc/sys/kernel/random/boot_id").unwrap_or_default()
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_owned())
}

/// Field 22 of /proc/<pid>/stat: start time in clock ticks since boot. `None` when no such process.
fn process_start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces and parentheses; fields resume after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_label_round_trips() {
        let me = Owner::current();
        assert_eq!(Owner::parse(&me.label()), Some(me.clone()));
        assert!(!me.is_gone());
    }

    #[test]
    fn a_reused_pid_is_not_the_owner() {
        let mut other = Owner::current();
        other.start_time += 1;
        assert!(other.is_gone());
    }

    #[test]
    fn other_hosts_are_never_judged() {
        let mut other = Owner::current();
        other.host.push_str("-elsewhere");
        other.pid = u32::MAX;
        assert!(!other.is_gone());
    }

    #[test]
    fn malformed_labels_are_ignored() {
        assert_eq!(Owner::parse("nonsense"), None);
        assert_eq!(Owner::parse("h/b/x/1"), None);
    }
}
