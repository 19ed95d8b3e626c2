//! CPU time spent during a suite, read from `/proc`: the whole machine's busy time, and the part
//! of it spent by the suite's own processes (nextest and the test binaries, reaped children of
//! this driver). The rest is the daemon's side (dockerd, containerd, the shims, runc,
//! docker-proxy) plus whatever else ran: on a quiet machine, the container engine's work.
//!
//! On 2 cores a suite whose wall time is about half its machine busy time is bound by CPU, and
//! then the tools' wall times can differ by no more than their busy times do.

use std::time::Duration;

/// CPU counters at one moment.
#[derive(Clone, Copy)]
pub struct Sample {
    /// Busy time of all cores: every `/proc/stat` column but idle and iowait.
    machine: Duration,
    /// User and system time of this process's waited-for children (`/proc/self/stat`).
    children: Duration,
}

/// CPU time between two samples.
#[derive(Clone, Copy, Default)]
pub struct Spent {
    pub machine: Duration,
    pub suite: Duration,
}

impl Sample {
    pub fn now() -> Sample {
        Sample {
            machine: machine_busy(),
            children: children_cpu(),
        }
    }

    pub fn since(&self, earlier: &Sample) -> Spent {
        Spent {
            machine: self.machine.saturating_sub(earlier.machine),
            suite: self.children.saturating_sub(earlier.children),
        }
    }
}

/// Clock ticks per second of `/proc`'s counters (USER_HZ, 100 on Linux whatever the kernel's HZ).
const TICKS_PER_SECOND: u64 = 100;

fn ticks(count: u64) -> Duration {
    Duration::from_millis(count * 1000 / TICKS_PER_SECOND)
}

fn machine_busy() -> Duration {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().find(|line| line.starts_with("cpu ")) else {
        return Duration::ZERO;
    };
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|field| field.parse().unwrap_or(0))
        .collect();
    let busy: u64 = fields
        .iter()
        .enumerate()
        .filter(|(index, _)| *index != 3 && *index != 4)
        .map(|(_, ticks)| ticks)
        .sum();
    ticks(busy)
}

fn children_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The command name (field 2) may hold spaces; the fields after its `)` start at field 3.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return Duration::ZERO;
    };
    let fields: Vec<u64> = rest
        .split_whitespace()
        .map(|field| field.parse().unwrap_or(0))
        .collect();
    // cutime and cstime are fields 16 and 17, so 13 and 14 counted from field 3.
    ticks(fields.get(13).copied().unwrap_or(0) + fields.get(14).copied().unwrap_or(0))
}
