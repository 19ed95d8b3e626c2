//! `with_podman COMMAND [ARG...]`: runs COMMAND with `DOCKER_HOST` naming a Podman service of its
//! own (private socket, configuration and storage, see `dockside_tests::podman`), then stops the
//! service and removes what it held. Exits with COMMAND's status.
//!
//! CI runs the core tests and the examples a second time this way, so they prove dockside
//! against Podman as well as Docker. Without the `podman` program it runs nothing and says so,
//! unless `DOCKSIDE_TEST_REQUIRE_PODMAN=1`, which makes that a failure.
//!
//! SIGINT, SIGTERM and SIGHUP (Ctrl-C, a CI timeout, a closed terminal) are passed on to
//! COMMAND; once it has ended the service is stopped and removed as after a normal end, and
//! `with_podman` exits with 128 + the signal's number. Killed by SIGKILL it can clean nothing up.

use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;

use dockside_tests::podman::{with_no_signal_blocked, Podman};

/// The signals passed on to the command.
const STOP_SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let Some(program) = args.next() else {
        eprintln!("usage: with_podman COMMAND [ARG...]");
        return ExitCode::from(2);
    };
    // Blocked from here on, in this thread and the threads it starts, so a stop signal cannot
    // end this process before the service is removed; the children are started with none
    // blocked (`with_no_signal_blocked`), since a child inherits its parent's mask.
    let stop_signals = block(&STOP_SIGNALS);
    let Some(podman) = Podman::start() else {
        return ExitCode::SUCCESS;
    };
    let host = podman.docker_host();
    eprintln!("with_podman: DOCKER_HOST={host}");
    let child = with_no_signal_blocked(&mut Command::new(&program))
        .args(args)
        .env("DOCKER_HOST", &host)
        .spawn();
    let received = Arc::new(AtomicI32::new(0));
    let status = child.and_then(|mut child| {
        let (pid, received) = (child.id() as libc::pid_t, Arc::clone(&received));
        std::thread::spawn(move || loop {
            let mut signal = 0;
            // SAFETY: a valid signal set and an out-parameter of ours.
            if unsafe { libc::sigwait(&stop_signals, &mut signal) } == 0 {
                received.store(signal, Ordering::SeqCst);
                // SAFETY: our own child, not yet reaped while the main thread waits for it.
                unsafe { libc::kill(pid, signal) };
            }
        });
        child.wait()
    });
    let signal = received.load(Ordering::SeqCst);
    let code = match status {
        Ok(_) if signal != 0 => {
            eprintln!("with_podman: stopped by signal {signal}; removing the Podman service");
            ExitCode::from(128 + signal as u8)
        }
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("with_podman: {program:?} ended with {status}");
            eprintln!("with_podman: the Podman service's log:\n{}", podman.log());
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("with_podman: cannot run {program:?}: {e}");
            ExitCode::FAILURE
        }
    };
    drop(podman);
    code
}

/// Blocks `signals` in this thread (and so in the threads it starts) and returns their set.
fn block(signals: &[libc::c_int]) -> libc::sigset_t {
    // SAFETY: the set is initialised by `sigemptyset` before any other use.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &signal in signals {
            libc::sigaddset(&mut set, signal);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    }
}
