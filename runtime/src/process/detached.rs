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

/// Where a helper reaches the daemon, prepared before the fork: a helper only connects.
pub(crate) enum DaemonAddress {
    /// A unix socket (`unix://`).
    Unix(libc::sockaddr_un),
    /// The TCP addresses of a daemon that speaks plain HTTP (`tcp://` or `http://`, no TLS), as
    /// its host name resolved, tried in order (`localhost` may be `::1` first, with the daemon
    /// on `127.0.0.1` only).
    Tcp(Vec<(libc::sockaddr_storage, libc::socklen_t)>),
}

/// The address of the daemon dockside talks to, when a helper can speak to it: a unix socket,
/// or TCP without TLS (a TLS or SSH session is more than a helper may set up between `fork` and
/// `_exit`). A host name is resolved here, in the parent.
pub(crate) fn daemon_address() -> Option<DaemonAddress> {
    let endpoint = crate::endpoint::find().ok()?;
    let host = endpoint.host.as_str();
    if let Some(path) = host.strip_prefix("unix://") {
        return socket_address(path).map(DaemonAddress::Unix);
    }
    // The client speaks TLS when the context has TLS files or `DOCKER_TLS_VERIFY` is set at all
    // (bollard's rule for `tcp://`).
    if endpoint.tls.is_some() || std::env::var_os("DOCKER_TLS_VERIFY").is_some() {
        return None;
    }
    let authority = host
        .strip_prefix("tcp://")
        .or_else(|| host.strip_prefix("http://"))?
        .trim_end_matches('/');
    let addresses = std::net::ToSocketAddrs::to_socket_addrs(authority).ok()?;
    let addresses: Vec<_> = addresses.map(inet_address).collect();
    (!addresses.is_empty()).then_some(DaemonAddress::Tcp(addresses))
}

/// `address` as the `sockaddr` `connect` takes, with its length.
fn inet_address(address: std::net::SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: an all-zero sockaddr_storage is a valid value, and it is large and aligned enough
    // for either address kind written into it.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let length = match address {
        std::net::SocketAddr::V4(v4) => {
            let inet = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: v4.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from(*v4.ip()).to_be(),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: see above.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), inet) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        std::net::SocketAddr::V6(v6) => {
            let inet = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: v6.port().to_be(),
                sin6_flowinfo: v6.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: v6.ip().octets(),
                },
                sin6_scope_id: v6.scope_id(),
            };
            // SAFETY: see above.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), inet) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, length as libc::socklen_t)
}

impl DaemonAddress {
    /// A connected stream socket, or `-1`.
    ///
    /// # Safety
    /// Async-signal-safe: callable in a helper.
    unsafe fn connect(&self) -> libc::c_int {
        match self {
            DaemonAddress::Unix(unix) => connect_to(
                libc::AF_UNIX,
                (unix as *const libc::sockaddr_un).cast(),
                std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t,
            ),
            DaemonAddress::Tcp(addresses) => {
                for (storage, length) in addresses {
                    let family = libc::c_int::from(storage.ss_family);
                    let address = (storage as *const libc::sockaddr_storage).cast();
                    let fd = connect_to(family, address, *length);
                    if fd >= 0 {
                        return fd;
                    }
                }
                -1
            }
        }
    }
}

/// A stream socket of `family` connected to `address`, or `-1`.
///
/// # Safety
/// Async-signal-safe; `address` points to `length` bytes of a `sockaddr` of `family`.
unsafe fn connect_to(
    family: libc::c_int,
    address: *const libc::sockaddr,
    length: libc::socklen_t,
) -> libc::c_int {
    let fd = libc::socket(family, libc::SOCK_STREAM, 0);
    if fd >= 0 && libc::connect(fd, address, length) != 0 {
        libc::close(fd);
        return -1;
    }
    fd
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

    #[test]
    fn a_socket_path_must_fit_a_sockaddr() {
        let address = socket_address("/var/run/docker.sock").unwrap();
        assert_eq!(address.sun_path[0] as u8, b'/');
        assert_eq!(address.sun_path[20], 0);
        assert!(socket_address(&"x".repeat(200)).is_none());
        assert!(socket_address("").is_none());
    }

    /// A helper's TCP addresses connect where the parent resolved them, IPv4 and IPv6 alike,
    /// the first that answers winning.
    #[test]
    fn a_tcp_address_connects_to_its_listener() {
        let nobody = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let refused = inet_address(nobody.local_addr().unwrap());
        drop(nobody);
        for bind in ["127.0.0.1:0", "[::1]:0"] {
            let Ok(listener) = std::net::TcpListener::bind(bind) else {
                continue; // no IPv6 on this machine
            };
            let address =
                DaemonAddress::Tcp(vec![refused, inet_address(listener.local_addr().unwrap())]);
            // SAFETY: a plain socket and connect, closed again.
            let fd = unsafe { address.connect() };
            assert!(fd >= 0, "{bind}: {}", std::io::Error::last_os_error());
            unsafe { libc::close(fd) };
            listener.accept().unwrap();
        }
    }
}
