//! Detached helper processes: work that must not hold up, or be ended with, the test's process
//! (the courier that removes a test's containers, the watcher that removes a run's shared
//! containers once the run is over).
//!
//! A helper is forked from a process that may run many threads, so between `fork` and its
//! `_exit` it makes only async-signal-safe calls on memory prepared before the fork (`socket`,
//! `connect`, `send`, `read`, `open`, `close`, `dup2`, `setsid`, `sigaction`, `alarm`,
//! `nanosleep`). It leaves the test's session and process group (nextest's SIGTERM for a
//! timed-out test, and a terminal's Ctrl-C, are not for it), and holds no inherited file but the
//! one it is told to keep: nextest sees no leaked output pipe, and no lock is kept by accident.

use std::ffi::CString;

/// Runs `work` in a detached process, with stdin, stdout and stderr on `/dev/null` and every
/// other inherited file closed except `keep`. Returns `false` when it could not be forked.
///
/// `work` runs in a forked child of a possibly multi-threaded process: it must make only
/// async-signal-safe calls and touch only memory prepared before this call (no allocation, no
/// lock, no `std::io`).
pub(crate) fn spawn(keep: Option<libc::c_int>, work: impl FnOnce()) -> bool {
    let Ok(dev_null) = CString::new("/dev/null") else {
        return false;
    };
    // SAFETY: the child runs only `detach` and `work`, which make async-signal-safe calls on
    // memory prepared before the fork, and ends with `_exit`; the parent only waits for that
    // first child.
    unsafe {
        let child = libc::fork();
        if child < 0 {
            return false;
        }
        if child == 0 {
            detach(&dev_null, keep);
            work();
            libc::_exit(0);
        }
        // The first child forks the helper and exits at once: reaping it here leaves no
        // zombie, and the helper, orphaned, is reaped by init (or the nearest subreaper).
        let mut status = 0;
        while libc::waitpid(child, &mut status, 0) < 0
            && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR)
        {}
    }
    true
}

/// In the first child: leaves the session, forks the helper proper (the first child exits), and
/// gives it clean standard streams, files and signals.
///
/// # Safety
/// Only in a child just forked; makes async-signal-safe calls only.
unsafe fn detach(dev_null: &CString, keep: Option<libc::c_int>) {
    libc::setsid();
    if libc::fork() != 0 {
        libc::_exit(0);
    }
    let null = libc::open(dev_null.as_ptr(), libc::O_RDWR);
    if null >= 0 {
        for fd in 0..3 {
            libc::dup2(null, fd);
        }
    }
    match keep {
        Some(kept) if kept > 3 => {
            close_files(3, kept as u32 - 1);
            close_files(kept as u32 + 1, u32::MAX);
        }
        Some(3) => close_files(4, u32::MAX),
        _ => close_files(3, u32::MAX),
    }
    let mut all: libc::sigset_t = std::mem::zeroed();
    libc::sigfillset(&mut all);
    libc::sigprocmask(libc::SIG_UNBLOCK, &all, std::ptr::null_mut());
    for signal in [libc::SIGALRM, libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        libc::signal(signal, libc::SIG_DFL);
    }
}

/// Closes the file descriptors `first..=last`: the test's lock files, sockets and pipes.
unsafe fn close_files(first: u32, last: u32) {
    if libc::syscall(libc::SYS_close_range, first, last, 0u32) == 0 {
        return;
    }
    // Kernels before 5.9: one by one, up to a bound that needs no allocation to find.
    for fd in first..=last.min(65_535) {
        libc::close(fd as libc::c_int);
    }
}

/// A daemon's unix socket as a `sockaddr_un`; `None` when the path does not fit one.
pub(crate) fn socket_address(path: &str) -> Option<libc::sockaddr_un> {
    // SAFETY: an all-zero sockaddr_un is a valid value (an empty path).
    let mut address: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    address.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let bytes = path.as_bytes();
    // One byte stays zero: the path is NUL-terminated.
    if bytes.is_empty() || bytes.len() >= address.sun_path.len() || bytes.contains(&0) {
        return None;
    }
    for (slot, byte) in address.sun_path.iter_mut().zip(bytes) {
        *slot = *byte as libc::c_char;
    }
    Some(address)
}

/// The unix socket of the daemon dockside talks to, when it is one (`unix://`): a helper speaks
/// plain HTTP on it, which TLS or SSH would not allow.
pub(crate) fn daemon_socket() -> Option<libc::sockaddr_un> {
    let host = crate::endpoint::docker_host();
    host.strip_prefix("unix://").and_then(socket_address)
}

/// Sends one request on its own connection and reads the answer to its end (the request asks
/// the daemon to close the connection once the work is done, so a next request starts only
/// then), keeping its first `answer.len()` bytes there. Returns how many bytes were kept.
///
/// # Safety
/// Async-signal-safe: callable in a helper.
pub(crate) unsafe fn exchange(
    socket: &libc::sockaddr_un,
    request: &[u8],
    answer: &mut [u8],
) -> usize {
    let fd = libc::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0);
    if fd < 0 {
        return 0;
    }
    let connected = libc::connect(
        fd,
        (socket as *const libc::sockaddr_un).cast(),
        std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t,
    );
    let mut sent = 0;
    while connected == 0 && sent < request.len() {
        // MSG_NOSIGNAL: a daemon that hangs up is no reason for a SIGPIPE.
        let rest = &request[sent..];
        let n = libc::send(fd, rest.as_ptr().cast(), rest.len(), libc::MSG_NOSIGNAL);
        if n <= 0 {
            break;
        }
        sent += n as usize;
    }
    let mut kept = 0;
    let mut spill = [0u8; 512];
    while sent == request.len() {
        let room = &mut answer[kept..];
        let n = if room.is_empty() {
            libc::read(fd, spill.as_mut_ptr().cast(), spill.len())
        } else {
            libc::read(fd, room.as_mut_ptr().cast(), room.len())
        };
        if n <= 0 {
            break;
        }
        if !room.is_empty() {
            kept += n as usize;
        }
    }
    libc::close(fd);
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_socket_path_must_fit_a_sockaddr() {
        let address = socket_address("/var/run/docker.sock").unwrap();
        assert_eq!(address.sun_path[0] as u8, b'/');
        assert_eq!(address.sun_path[20], 0);
        assert!(socket_address(&"x".repeat(200)).is_none());
        assert!(socket_address("").is_none());
    }
}
