//! Who owns a container: the identity of a process, recorded in the [`crate::labels::OWNER`]
//! label, and whether that process is certainly gone.
//!
//! The reaper acts on [`Owner::is_gone`] alone, so it answers `true` only when it can prove
//! it: a wrong `true` removes a live test's container, a wrong `false` only leaves an orphan
//! for the user to remove.

/// Written for a part of the identity this process could not read.
const UNKNOWN: &str = "?";

/// Identifies a process across pid reuse, reboots and PID namespaces: a pid alone may name a
/// new process later, or another process in another namespace on the same host.
///
/// Label form: `<host>/<boot id>/<pid>/<start time>/<pid namespace inode>`, each part `?` when
/// it could not be read. Labels written before the namespace was recorded have four parts; they
/// do not parse, so their containers are never reaped: whether their owner is alive cannot be
/// decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Owner {
    host: Option<String>,
    boot_id: Option<String>,
    pid_namespace: Option<u64>,
    pid: u32,
    start_time: Option<u64>,
}

impl Owner {
    /// This process.
    pub(crate) fn current() -> Owner {
        Owner::process(std::process::id())
    }

    /// Process `pid` as this process sees it: on this host, in this boot and in this PID
    /// namespace (a parent's pid, as `getppid` gives it, is one of this namespace).
    pub(crate) fn process(pid: u32) -> Owner {
        // A /proc that is not this process's own (an empty tmpfs, or a procfs of another PID
        // namespace) would describe some other process.
        let own_proc = proc_is_ours();
        Owner {
            host: hostname(),
            boot_id: boot_id(),
            pid_namespace: own_proc.then(pid_namespace).flatten(),
            pid,
            start_time: match own_proc.then(|| process_start_time(pid)) {
                Some(Seen::StartedAt(time)) => Some(time),
                _ => None,
            },
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// When the process started, in clock ticks since boot, if it could be read.
    pub(crate) fn start_time(&self) -> Option<u64> {
        self.start_time
    }

    pub(crate) fn label(&self) -> String {
        fn part<T: ToString>(value: &Option<T>) -> String {
            value
                .as_ref()
                .map_or_else(|| UNKNOWN.to_owned(), T::to_string)
        }
        format!(
            "{}/{}/{}/{}/{}",
            part(&self.host),
            part(&self.boot_id),
            self.pid,
            part(&self.start_time),
            part(&self.pid_namespace)
        )
    }

    pub(crate) fn parse(label: &str) -> Option<Owner> {
        fn text(part: &str) -> Option<String> {
            (part != UNKNOWN).then(|| part.to_owned())
        }
        fn number(part: &str) -> Result<Option<u64>, std::num::ParseIntError> {
            if part == UNKNOWN {
                Ok(None)
            } else {
                part.parse().map(Some)
            }
        }
        let parts: Vec<&str> = label.split('/').collect();
        let [host, boot_id, pid, start_time, pid_namespace] = parts.as_slice() else {
            return None;
        };
        Some(Owner {
            host: text(host),
            boot_id: text(boot_id),
            pid_namespace: number(pid_namespace).ok()?,
            pid: pid.parse().ok()?,
            start_time: number(start_time).ok()?,
        })
    }

    /// Whether this owner is provably gone: it ran on this host, in this boot and in this PID
    /// namespace, this process sees every process of that namespace, and its pid is either
    /// free or taken by a process that started at another time. Anything else (another host or
    /// namespace, a part of either identity unknown, a /proc hiding processes) is undecidable,
    /// and undecidable is `false`.
    pub(crate) fn is_gone(&self) -> bool {
        fn known_and_equal<T: PartialEq>(mine: &Option<T>, theirs: &Option<T>) -> bool {
            mine.is_some() && mine == theirs
        }
        let me = Owner::current();
        let same_place = known_and_equal(&me.host, &self.host)
            && known_and_equal(&me.boot_id, &self.boot_id)
            && known_and_equal(&me.pid_namespace, &self.pid_namespace);
        if !same_place || !proc_shows_every_process() {
            return false;
        }
        match process_start_time(self.pid) {
            Seen::Absent => true,
            Seen::StartedAt(time) => self.start_time.is_some_and(|owner| owner != time),
            Seen::Unreadable => false,
        }
    }
}

fn hostname() -> Option<String> {
    read_trimmed("/proc/sys/kernel/hostname")
}

fn boot_id() -> Option<String> {
    read_trimmed("/proc/sys/kernel/random/boot_id")
}

fn read_trimmed(path: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let text = text.trim();
    // Neither part may hold the label's separator or look like an unknown part.
    (!text.is_empty() && !text.contains('/') && text != UNKNOWN).then(|| text.to_owned())
}

/// The inode of this process's PID namespace (`/proc/self/ns/pid` links to `pid:[INODE]`).
fn pid_namespace() -> Option<u64> {
    let link = std::fs::read_link("/proc/self/ns/pid").ok()?;
    let link = link.to_str()?;
    link.strip_prefix("pid:[")?.strip_suffix(']')?.parse().ok()
}

/// Whether /proc is a procfs of this process's PID namespace: `/proc/self` names our own pid.
fn proc_is_ours() -> bool {
    std::fs::read_link("/proc/self")
        .is_ok_and(|link| link.to_str() == Some(std::process::id().to_string().as_str()))
}

/// Whether a pid missing from /proc really means no such process: /proc is ours, and not
/// mounted with `hidepid` (which hides the processes of other users).
fn proc_shows_every_process() -> bool {
    if !proc_is_ours() {
        return false;
    }
    let Ok(mounts) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    !mounts.lines().any(|line| {
        // `ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS ... - FSTYPE SOURCE SUPER_OPTIONS`
        let fields: Vec<&str> = line.split(' ').collect();
        let super_options = line.rsplit(' ').next().unwrap_or_default();
        fields.get(4) == Some(&"/proc")
            && super_options.split(',').any(|option| {
                option
                    .strip_prefix("hidepid=")
                    .is_some_and(|value| !matches!(value, "0" | "off"))
            })
    })
}

/// What /proc says about a pid.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    /// No such process.
    Absent,
    /// A process started at this time (clock ticks since boot).
    StartedAt(u64),
    /// Something is there, or may be, but cannot be read.
    Unreadable,
}

/// Field 22 of /proc/<pid>/stat: the process's start time in clock ticks since boot.
fn process_start_time(pid: u32) -> Seen {
    let stat = match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Seen::Absent,
        Err(_) => return Seen::Unreadable,
    };
    start_time_in_stat(stat.as_bytes()).map_or(Seen::Unreadable, Seen::StartedAt)
}

/// Field 22 of a /proc/<pid>/stat text: the start time in clock ticks since boot. It neither
/// allocates nor panics, so a forked watcher (which may only make async-signal-safe calls) reads
/// a process's start time with this same code.
pub(crate) fn start_time_in_stat(stat: &[u8]) -> Option<u64> {
    // The command name (field 2) may contain spaces and parentheses; fields resume after the
    // last ')', with the state (field 3).
    let end = stat.iter().rposition(|&b| b == b')')?;
    let field = stat[end + 1..]
        .split(|b| b.is_ascii_whitespace())
        .filter(|field| !field.is_empty())
        .nth(19)?;
    let mut value: u64 = 0;
    for &digit in field {
        if !digit.is_ascii_digit() {
            return None;
        }
        value = value
            .checked_mul(10)?
            .checked_add(u64::from(digit - b'0'))?;
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_label_round_trips() {
        let me = Owner::current();
        assert!(
            me.pid_namespace.is_some() && me.start_time.is_some(),
            "{me:?}"
        );
        assert_eq!(Owner::parse(&me.label()), Some(me.clone()));
        assert!(!me.is_gone());
    }

    #[test]
    fn a_reused_pid_is_not_the_owner() {
        let mut other = Owner::current();
        other.start_time = other.start_time.map(|t| t + 1);
        assert!(other.is_gone());
    }

    #[test]
    fn a_free_pid_is_gone() {
        let mut other = Owner::current();
        // Above the kernel's pid_max limit (2^22), so no process can have it.
        other.pid = 1 << 23;
        assert!(other.is_gone());
    }

    #[test]
    fn other_hosts_boots_and_namespaces_are_never_judged() {
        let free = |change: fn(&mut Owner)| {
            let mut other = Owner::current();
            other.pid = 1 << 23;
            change(&mut other);
            other
        };
        assert!(!free(|o| o.host = Some("elsewhere".to_owned())).is_gone());
        assert!(!free(|o| o.boot_id = Some("another-boot".to_owned())).is_gone());
        assert!(!free(|o| o.pid_namespace = o.pid_namespace.map(|n| n + 1)).is_gone());
        assert!(!free(|o| o.pid_namespace = None).is_gone());
        assert!(!free(|o| o.host = None).is_gone());
    }

    #[test]
    fn an_unknown_start_time_is_judged_only_by_a_free_pid() {
        let mut other = Owner::current();
        other.start_time = None;
        assert!(!other.is_gone(), "this process is alive");
        other.pid = 1 << 23;
        assert!(other.is_gone());
    }

    #[test]
    fn malformed_and_old_labels_are_ignored() {
        assert_eq!(Owner::parse("nonsense"), None);
        assert_eq!(Owner::parse("h/b/x/1/4026531836"), None);
        // The four-part form of earlier versions: no namespace, so never judged.
        assert_eq!(Owner::parse("host/boot/123/456"), None);
    }

    #[test]
    fn the_start_time_is_field_22_after_the_command_name() {
        let stat = b"42 (a ) b (c)) S 1 42 42 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 987654 0 0";
        assert_eq!(start_time_in_stat(stat), Some(987_654));
        assert_eq!(start_time_in_stat(b"42 (x) S 1 2"), None);
        assert_eq!(start_time_in_stat(b"no parenthesis"), None);
        let own = std::fs::read(format!("/proc/{}/stat", std::process::id())).unwrap();
        assert_eq!(
            start_time_in_stat(&own),
            Owner::current().start_time(),
            "{}",
            String::from_utf8_lossy(&own)
        );
    }

    #[test]
    fn unknown_parts_round_trip() {
        let label = "?/?/7/?/?";
        let owner = Owner::parse(label).unwrap();
        assert_eq!(owner.label(), label);
        assert!(!owner.is_gone());
    }
}
