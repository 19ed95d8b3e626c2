//! The run's watcher: one detached process per run that waits until the run's process has
//! exited, then removes the run's shared containers and networks (those labelled
//! [`crate::labels::RUN`] with the run), and exits.
//!
//! nextest has no teardown hook, and no test process may wait for the others, so the end of a
//! run is noticed from outside: by a helper of [`crate::process::detached`] (no sidecar image),
//! out of the test's session and process group (nextest's SIGTERM for a test is not for it),
//! holding none of the test's output pipes (nextest would flag the test as leaky). It checks the
//! run's process every [`POLL`]: gone, or its pid taken by a process that started at another
//! time, or a zombie.
//!
//! One watcher per run: it holds the lock of `<lock folder>/runs/<run key>.lock` for its whole
//! life, and a process that needs a watcher starts one only when it can take that lock. The file
//! names the run's process; the watcher removes it once nothing of the run is left. A file
//! whose lock nobody holds and whose run is over means the watcher was killed (SIGKILL of
//! everything): the next start-up sweeps at once ([`ended_unwatched_runs`]), whatever
//! `DOCKSIDE_SWEEP_INTERVAL` says.

use std::ffi::CString;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::path::PathBuf;

use once_cell::sync::OnceCell;

use super::Run;
use crate::image::lock::{remove_held, try_lock_file};
use crate::labels;
use crate::process::detached::{self, DaemonAddress};
use crate::process::owner::{start_time_in_stat, Owner};
use crate::state_file::ensure_private_dir;

/// How often the watcher looks at the run's process.
const POLL: libc::timespec = libc::timespec {
    tv_sec: 0,
    tv_nsec: 250_000_000,
};
/// The longest the removal may take once the run is over, before `SIGALRM` ends the watcher:
/// a shared container outlives its run by 30 s at most, or is left to the next start-up's
/// sweep (the daemon did not remove it in time).
const REMOVAL_LIMIT_SECS: u32 = 25;
/// How many times, [`POLL`] apart, the watcher looks whether the run's removals are done.
const SETTLE_LOOKS: usize = 40;
/// Room for a listing of the run's containers (about 2 KiB each): what does not fit is left
/// to the sweep.
const LISTING_BYTES: usize = 1 << 20;

/// Makes sure the run has a watcher, starting one if none holds the run's lock; once per
/// process. `api_version` is the version the daemon settled on (`1.41`).
///
/// `Err` says why the run cannot be watched (a daemon reached with TLS or SSH, a /proc that does
/// not show the run's process): shared containers then cannot be used.
pub(crate) fn ensure(run: &Run, api_version: &str) -> Result<(), String> {
    static ENSURED: OnceCell<Result<(), String>> = OnceCell::new();
    ENSURED.get_or_init(|| start(run, api_version)).clone()
}

fn runs_dir() -> PathBuf {
    crate::config::lock_dir().join("runs")
}

fn start(run: &Run, api_version: &str) -> Result<(), String> {
    let daemon = detached::daemon_address().map_err(|why| {
        format!(
            "{why}, and the watcher that removes shared containers after the run speaks plain \
             HTTP only (a unix socket, or `tcp://` without TLS)"
        )
    })?;
    let Some(start_time) = run.process().start_time() else {
        return Err(format!(
            "the start time of {} cannot be read from /proc, so its exit cannot be told apart \
             from a reused pid",
            run.describe()
        ));
    };
    let dir = runs_dir();
    ensure_private_dir(&dir).map_err(|e| e.to_string())?;
    let marker = dir.join(format!("{}.lock", run.key()));
    let Some(mut file) = try_lock_file(&marker).map_err(|e| e.to_string())? else {
        // Another process of the run started the watcher, which holds the lock.
        return Ok(());
    };
    let recorded = file
        .set_len(0)
        .and_then(|()| file.write_all(run.label().as_bytes()));
    if let Err(e) = recorded {
        return Err(format!("writing {}: {e}", marker.display()));
    }
    let watch = Watch::new(run, api_version, start_time, &marker)
        .ok_or_else(|| format!("{} is not a valid path", marker.display()))?;
    let mut listing = vec![0u8; LISTING_BYTES];
    let spawned = detached::spawn(Some(file.as_raw_fd()), || {
        // SAFETY: in the helper, async-signal-safe calls on memory prepared above.
        unsafe { watch.run(&daemon, &mut listing) }
    });
    // Closing our copy leaves the lock to the watcher, which shares the open file.
    drop(file);
    if spawned {
        Ok(())
    } else {
        Err("could not fork the watcher process".to_owned())
    }
}

/// Everything the watcher needs, prepared before the fork.
struct Watch {
    /// `/proc/<pid>/stat` of the run's process.
    stat: CString,
    start_time: u64,
    marker: CString,
    list_containers: Vec<u8>,
    list_networks: Vec<u8>,
    container_removal: (Vec<u8>, Vec<u8>),
    network_removal: (Vec<u8>, Vec<u8>),
}

impl Watch {
    fn new(
        run: &Run,
        api_version: &str,
        start_time: u64,
        marker: &std::path::Path,
    ) -> Option<Self> {
        let filter = format!(
            "{{\"label\":[\"{}=true\",\"{}={}\"]}}",
            labels::MANAGED,
            labels::RUN,
            run.label()
        );
        let filter = percent_encoded(&filter);
        // HTTP/1.0: the daemon answers without chunked encoding, so ids are never split.
        let list = |path: &str| {
            format!("GET /v{api_version}{path}filters={filter} HTTP/1.0\r\nHost: docker\r\n\r\n")
                .into_bytes()
        };
        let removal = |path: &str, query: &str| {
            (
                format!("DELETE /v{api_version}{path}").into_bytes(),
                format!("{query} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n")
                    .into_bytes(),
            )
        };
        Some(Watch {
            stat: CString::new(format!("/proc/{}/stat", run.process().pid())).ok()?,
            start_time,
            marker: CString::new(marker.as_os_str().as_encoded_bytes()).ok()?,
            list_containers: list("/containers/json?all=1&"),
            list_networks: list("/networks?"),
            container_removal: removal("/containers/", "?force=true&v=true"),
            network_removal: removal("/networks/", ""),
        })
    }

    /// The watcher's life: wait for the run's end, remove what it owned, forget the run.
    ///
    /// # Safety
    /// Only in a helper of [`detached::spawn`]: makes async-signal-safe calls only.
    unsafe fn run(&self, daemon: &DaemonAddress, listing: &mut [u8]) {
        while !self.run_is_over() {
            libc::nanosleep(&POLL, std::ptr::null_mut());
        }
        libc::alarm(REMOVAL_LIMIT_SECS);
        // Containers first: a network with endpoints cannot be removed.
        let (prefix, suffix) = &self.container_removal;
        remove_listed(daemon, &self.list_containers, prefix, suffix, listing);
        let (prefix, suffix) = &self.network_removal;
        remove_listed(daemon, &self.list_networks, prefix, suffix, listing);
        // Another process's start-up sweep may be removing them too (the run is over for it as
        // well), and a container whose removal is under way is still listed: look again for a
        // while. The run is forgotten only once nothing of it is left; otherwise the next
        // start-up sweeps for it.
        for _ in 0..SETTLE_LOOKS {
            let containers_left = remove_listed(daemon, &self.list_containers, b"", b"", listing);
            let networks_left = remove_listed(daemon, &self.list_networks, b"", b"", listing);
            if containers_left == Some(0) && networks_left == Some(0) {
                libc::unlink(self.marker.as_ptr());
                return;
            }
            libc::nanosleep(&POLL, std::ptr::null_mut());
        }
    }

    /// Whether the run's process has exited: /proc has no such pid, or shows a process that
    /// started at another time (the pid was reused), or a zombie.
    unsafe fn run_is_over(&self) -> bool {
        let fd = libc::open(self.stat.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return *libc::__errno_location() == libc::ENOENT;
        }
        let mut stat = [0u8; 1024];
        let read = libc::read(fd, stat.as_mut_ptr().cast(), stat.len());
        let gone = *libc::__errno_location() == libc::ESRCH;
        libc::close(fd);
        match usize::try_from(read) {
            Ok(length) => has_ended(&stat[..length], self.start_time),
            Err(_) => gone,
        }
    }
}

/// Lists objects with `list` and removes each (`prefix` + id + `suffix`); with an empty
/// `prefix`, only lists. How many the listing named, `None` when the daemon did not answer it.
///
/// # Safety
/// Async-signal-safe: callable in a helper.
unsafe fn remove_listed(
    daemon: &DaemonAddress,
    list: &[u8],
    prefix: &[u8],
    suffix: &[u8],
    listing: &mut [u8],
) -> Option<usize> {
    let length = detached::exchange(daemon, list, listing);
    let listing = &listing[..length];
    if !listing.starts_with(b"HTTP/1.") || listing.get(9..12) != Some(b"200") {
        return None;
    }
    let mut request = [0u8; 512];
    let mut answer = [0u8; 64];
    let mut found = 0;
    for id in ListedIds::new(listing) {
        found += 1;
        let length = prefix.len() + id.len() + suffix.len();
        if prefix.is_empty() || length > request.len() {
            continue;
        }
        request[..prefix.len()].copy_from_slice(prefix);
        request[prefix.len()..prefix.len() + id.len()].copy_from_slice(id);
        request[prefix.len() + id.len()..length].copy_from_slice(suffix);
        detached::exchange(daemon, &request[..length], &mut answer);
    }
    Some(found)
}

/// Whether a /proc/<pid>/stat text shows the run's process over: a zombie (or dead), or a
/// process that started at another time than `start_time`. A text that cannot be read says it
/// runs: a wrong "over" would remove containers tests still use.
fn has_ended(stat: &[u8], start_time: u64) -> bool {
    let state = stat
        .iter()
        .rposition(|&b| b == b')')
        .and_then(|end| stat.get(end + 2));
    if matches!(state, Some(b'Z' | b'X' | b'x')) {
        return true;
    }
    start_time_in_stat(stat).is_some_and(|started| started != start_time)
}

/// The `"Id"` values of a Docker listing (`[{"Id":"<64 hex>",...},...]`), without allocating.
struct ListedIds<'a> {
    text: &'a [u8],
}

impl<'a> ListedIds<'a> {
    fn new(text: &'a [u8]) -> Self {
        ListedIds { text }
    }
}

impl<'a> Iterator for ListedIds<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        const KEY: &[u8] = b"\"Id\":";
        loop {
            let at = self.text.windows(KEY.len()).position(|w| w == KEY)?;
            let rest = &self.text[at + KEY.len()..];
            let rest = &rest[rest.iter().take_while(|b| **b == b' ').count()..];
            self.text = rest;
            let Some(value) = rest.strip_prefix(b"\"") else {
                continue;
            };
            let length = value.iter().take_while(|b| b.is_ascii_hexdigit()).count();
            if length == 64 && value.get(64) == Some(&b'"') {
                self.text = &value[65..];
                return Some(&value[..64]);
            }
        }
    }
}

/// `text` with everything but unreserved URL characters percent-encoded, for a query value.
fn percent_encoded(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A run whose watcher is gone (killed) while the run is over too: its shared containers may be
/// left. Holds the run's lock until [`EndedRun::forget`].
pub(crate) struct EndedRun {
    file: File,
    path: PathBuf,
}

impl EndedRun {
    /// After the sweep removed what the run left: the run needs no watcher any more.
    pub(crate) fn forget(self) {
        remove_held(&self.file, &self.path);
    }
}

/// The runs whose watcher was killed before it finished and whose process is gone: the start-up
/// sweep runs at once for them. Costs one `readdir` of a folder that is empty unless a run is
/// under way or was killed.
pub(crate) fn ended_unwatched_runs() -> Vec<EndedRun> {
    let dir = runs_dir();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "lock"))
        .filter_map(|path| {
            // Held: its watcher lives. Not ours to open (a symlink, another user's): left alone.
            let mut file = try_lock_file(&path).ok()??;
            let mut label = String::new();
            file.read_to_string(&mut label).ok()?;
            if label.is_empty() {
                // Made by our own lock attempt after its watcher removed it, or cut short.
                remove_held(&file, &path);
                return None;
            }
            Owner::parse(&label)
                .is_some_and(|owner| owner.is_gone())
                .then_some(EndedRun { file, path })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_read_from_a_listing() {
        let a = "a".repeat(64);
        let b = "0123456789abcdef".repeat(4);
        let listing = format!(
            "HTTP/1.0 200 OK\r\n\r\n[{{\"Id\":\"{a}\",\"ImageID\":\"sha256:{b}\",\"Names\":[\"/x\"]}},\
             {{\"Name\":\"n\",\"Id\": \"{b}\",\"Labels\":{{\"Id\":\"short\"}}}}]"
        );
        let ids: Vec<&[u8]> = ListedIds::new(listing.as_bytes()).collect();
        assert_eq!(ids, [a.as_bytes(), b.as_bytes()]);
        assert_eq!(ListedIds::new(b"[]").count(), 0);
        // Cut short: the half id is not taken.
        assert_eq!(ListedIds::new(&listing.as_bytes()[..40]).count(), 0);
    }

    #[test]
    fn a_run_is_over_when_its_pid_shows_a_zombie_or_another_process() {
        let stat = |state: &str, start: u64| {
            format!("7 (cargo) {state} 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 {start} 0 0")
        };
        assert!(!has_ended(stat("S", 100).as_bytes(), 100));
        assert!(has_ended(stat("Z", 100).as_bytes(), 100));
        assert!(has_ended(stat("S", 101).as_bytes(), 100));
        assert!(!has_ended(b"garbage", 100));
    }

    #[test]
    fn filters_are_percent_encoded() {
        assert_eq!(
            percent_encoded("{\"label\":[\"a=b/c\"]}"),
            "%7B%22label%22%3A%5B%22a%3Db%2Fc%22%5D%7D"
        );
    }
}
