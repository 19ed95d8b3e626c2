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

/// Where a helper reaches the daemon, prepared before the fork, so a helper only connects: its
/// unix socket (`unix://`), or the TCP addresses of a daemon that speaks plain HTTP (`tcp://` or
/// `http://`, no TLS) as its host name resolved, tried in order (`localhost` may be `::1` first,
/// with the daemon on `127.0.0.1` only).
pub(crate) struct DaemonAddress(Vec<socket2::SockAddr>);

/// The address of the daemon dockside talks to, when a helper can speak to it: a unix socket,
/// or TCP without TLS (a TLS or SSH session is more than a helper may set up between `fork` and
/// `_exit`). A host name is resolved here, in the parent. `Err` says why a helper cannot reach
/// the daemon, naming its address.
pub(crate) fn daemon_address() -> Result<DaemonAddress, String> {
    match crate::endpoint::find() {
        Ok(endpoint) => address_of(&endpoint),
        Err(bad) => Err(format!("the Docker context cannot be read: {}", bad.error)),
    }
}

fn address_of(endpoint: &crate::endpoint::Endpoint) -> Result<DaemonAddress, String> {
    let host = endpoint.host.as_str();
    let at = |why: &str| format!("the daemon at {host} {why}");
    if let Some(path) = host.strip_prefix("unix://") {
        if path.is_empty() {
            return Err(at("names no socket path"));
        }
        // A path too long for a `sockaddr_un` is refused here.
        let address = socket2::SockAddr::unix(path).map_err(|e| at(&format!("cannot be: {e}")))?;
        return Ok(DaemonAddress(vec![address]));
    }
    // The client speaks TLS when the context has TLS files or `DOCKER_TLS_VERIFY` is set at all
    // (bollard's rule for `tcp://`).
    if endpoint.tls.is_some() || std::env::var_os("DOCKER_TLS_VERIFY").is_some() {
        return Err(at("is reached with TLS"));
    }
    let Some(authority) = host
        .strip_prefix("tcp://")
        .or_else(|| host.strip_prefix("http://"))
    else {
        let scheme = host.split_once("://").map_or(host, |(scheme, _)| scheme);
        return Err(at(&format!(
            "is reached over `{scheme}`, not a unix socket or TCP"
        )));
    };
    let authority = authority.trim_end_matches('/');
    let addresses = std::net::ToSocketAddrs::to_socket_addrs(authority)
        .map_err(|e| at(&format!("cannot be resolved: {e}")))?;
    let addresses: Vec<_> = addresses.map(socket2::SockAddr::from).collect();
    if addresses.is_empty() {
        return Err(at("resolves to no address"));
    }
    Ok(DaemonAddress(addresses))
}

impl DaemonAddress {
    /// A stream socket connected to the first address that accepts, or `-1`.
    ///
    /// # Safety
    /// Async-signal-safe: callable in a helper (the addresses are only read).
    unsafe fn connect(&self) -> libc::c_int {
        for address in &self.0 {
            let fd = libc::socket(libc::c_int::from(address.family()), libc::SOCK_STREAM, 0);
            if fd < 0 {
                continue;
            }
            if libc::connect(fd, address.as_ptr().cast(), address.len()) == 0 {
                return fd;
            }
            libc::close(fd);
        }
        -1
    }
}

/// Sends one request on its own connection and reads the answer to its end (the request asks
/// the daemon to close the connection once the work is done, so a next request starts only
/// then), keeping its first `answer.len()` bytes there. Returns how many bytes were kept.
///
/// # Safety
/// Async-signal-safe: callable in a helper.
pub(crate) unsafe fn exchange(daemon: &DaemonAddress, request: &[u8], answer: &mut [u8]) -> usize {
    let fd = daemon.connect();
    if fd < 0 {
        return 0;
    }
    let mut sent = 0;
    while sent < request.len() {
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

    fn endpoint(host: &str) -> crate::endpoint::Endpoint {
        crate::endpoint::Endpoint {
            host: host.to_owned(),
            tls: None,
            tried: Vec::new(),
        }
    }

    /// Each address a helper cannot use is refused with why, naming the address.
    #[test]
    fn an_address_a_helper_cannot_use_says_why() {
        assert!(address_of(&endpoint("unix:///var/run/docker.sock")).is_ok());
        assert!(address_of(&endpoint("tcp://127.0.0.1:2375")).is_ok());
        let long = format!("unix:///{}", "x".repeat(200));
        let tls = crate::endpoint::Endpoint {
            tls: Some("/certs".into()),
            ..endpoint("tcp://127.0.0.1:2376")
        };
        let cases = [
            (endpoint(&long), "cannot be: "),
            (endpoint("unix://"), "names no socket path"),
            (tls, "is reached with TLS"),
            (endpoint("ssh://me@host"), "is reached over `ssh`"),
            (
                endpoint("tcp://no-such-host.invalid:2375"),
                "cannot be resolved: ",
            ),
        ];
        for (endpoint, why) in cases {
            let Err(message) = address_of(&endpoint) else {
                panic!("{} was taken", endpoint.host);
            };
            let expected = format!("the daemon at {} {why}", endpoint.host);
            assert!(message.starts_with(&expected), "{message}");
        }
    }

    /// A helper's TCP addresses connect where the parent resolved them, IPv4 and IPv6 alike,
    /// the first that answers winning.
    #[test]
    fn a_tcp_address_connects_to_its_listener() {
        let nobody = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let refused = socket2::SockAddr::from(nobody.local_addr().unwrap());
        drop(nobody);
        for bind in ["127.0.0.1:0", "[::1]:0"] {
            let Ok(listener) = std::net::TcpListener::bind(bind) else {
                continue; // no IPv6 on this machine
            };
            let listening = socket2::SockAddr::from(listener.local_addr().unwrap());
            let address = DaemonAddress(vec![refused.clone(), listening]);
            // SAFETY: a plain socket and connect, closed again.
            let fd = unsafe { address.connect() };
            assert!(fd >= 0, "{bind}: {}", std::io::Error::last_os_error());
            unsafe { libc::close(fd) };
            listener.accept().unwrap();
        }
    }
}
