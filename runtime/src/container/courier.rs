//! Removal off the test's clock: a detached process carries the removal requests to the daemon,
//! so the test's process does not sit through the kill and removal (about 200 ms a container on
//! Docker 20.10, most of it the kill: the daemon answers a SIGKILL only once the container has
//! exited, so killing with auto-remove set would not answer sooner, and auto-remove would also
//! remove a container the test stopped to start again, or whose command returned).
//!
//! The courier is forked from a process that may run many threads, so between `fork` and its
//! `_exit` it makes only async-signal-safe calls on memory prepared before the fork: `socket`,
//! `connect`, `send`, `read`, `close`, `dup2`, `setsid`, `sigaction`, `alarm`. It leaves the
//! test's session and process group (nextest's SIGTERM for a timed-out test is not for it),
//! holds no inherited file (so nextest sees no leaked output pipe and no lock is kept), and is
//! ended by the OS after [`COURIER_LIMIT_SECS`]. What it fails to remove keeps its labels, owner
//! included, and the start-up sweep of a later process removes it once this process is gone.

use std::ffi::CString;

/// The longest a courier works before `SIGALRM` ends it.
const COURIER_LIMIT_SECS: u32 = 60;

/// Hands the removal of `containers` (with their anonymous volumes), and then of `network`, to a
/// detached process. `api_version` is the version the daemon settled on (`1.41`).
///
/// Returns `false`, having done nothing, when it cannot: a daemon not on a unix socket (TLS and
/// SSH need more than a courier may do), or a failed `fork`; the caller removes them itself.
pub(crate) fn hand_off(api_version: &str, containers: &[String], network: Option<&str>) -> bool {
    if containers.is_empty() && network.is_none() {
        return true;
    }
    let host = crate::config::docker_host();
    let Some(socket) = host.strip_prefix("unix://").and_then(socket_address) else {
        return false;
    };
    let request = |method: &str, path: String| {
        format!(
            "{method} /v{api_version}{path} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n"
        )
        .into_bytes()
    };
    let mut requests: Vec<Vec<u8>> = containers
        .iter()
        .map(|id| request("DELETE", format!("/containers/{id}?force=true&v=true")))
        .collect();
    // After the containers: a network with endpoints cannot be removed.
    requests.extend(network.map(|id| request("DELETE", format!("/networks/{id}"))));
    let Ok(dev_null) = CString::new("/dev/null") else {
        return false;
    };
    // SAFETY: the child runs only `courier`, which makes async-signal-safe calls on the memory
    // prepared above and never returns; the parent only waits for that child.
    unsafe {
        let child = libc::fork();
        if child < 0 {
            return false;
        }
        if child == 0 {
            courier(&socket, &requests, &dev_null);
        }
        // The first child forks the courier and exits at once: reaping it here leaves no
        // zombie, and the courier, orphaned, is reaped by init.
        let mut status = 0;
        while libc::waitpid(child, &mut status, 0) < 0
            && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR)
        {}
    }
    true
}

/// The daemon's socket as a `sockaddr_un`; `None` when the path does not fit one.
fn socket_address(path: &str) -> Option<libc::sockaddr_un> {
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

/// In the first child: detaches, forks the courier proper, and exits.
///
/// # Safety
/// Only in a child just forked; makes async-signal-safe calls only, and never returns.
unsafe fn courier(socket: &libc::sockaddr_un, requests: &[Vec<u8>], dev_null: &CString) -> ! {
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
    close_inherited_files();
    let mut all: libc::sigset_t = std::mem::zeroed();
    libc::sigfillset(&mut all);
    libc::sigprocmask(libc::SIG_UNBLOCK, &all, std::ptr::null_mut());
    for signal in [libc::SIGALRM, libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        libc::signal(signal, libc::SIG_DFL);
    }
    libc::alarm(COURIER_LIMIT_SECS);
    for request in requests {
        deliver(socket, request);
    }
    libc::_exit(0);
}

/// Closes every file descriptor above stderr: the test's lock files, sockets and pipes.
unsafe fn close_inherited_files() {
    if libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) == 0 {
        return;
    }
    // Kernels before 5.9: one by one, up to a bound that needs no allocation to find.
    for fd in 3..65_536 {
        libc::close(fd);
    }
}

/// Sends one request on its own connection and reads the answer to its end: the daemon closes
/// the connection (`Connection: close`) once the work is done, so the next request (the network
/// after its containers) starts only then.
unsafe fn deliver(socket: &libc::sockaddr_un, request: &[u8]) {
    let fd = libc::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0);
    if fd < 0 {
        return;
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
    let mut answer = [0u8; 512];
    while sent == request.len() && libc::read(fd, answer.as_mut_ptr().cast(), answer.len()) > 0 {}
    libc::close(fd);
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
