//! The signal handler: on SIGINT, SIGTERM or SIGHUP, removes what this process created, then
//! exits.
//!
//! The handler is a plain `sigaction` handler that only writes to a pipe (all a handler may
//! safely do); a thread of dockside's own reads the pipe and cleans up, so it works whatever the
//! tests do with their runtimes. Plain `sigaction` rather than a signal library lets dockside
//! tell whether it is still the process's handler when a signal arrives: a test that installs a
//! handler of its own takes the signal over.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use bollard::query_parameters::{ListContainersOptionsBuilder, ListNetworksOptionsBuilder};
use bollard::Docker;

use super::cleanup::{remove_container, remove_network};
use crate::labels;
use crate::process::owner::Owner;
use crate::process::registry;

/// The signals handled: interrupt (Ctrl-C), terminate (CI and nextest timeouts) and hang-up
/// (a closed terminal or SSH session), each ending the process with status 128 + its number.
const SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// How long the cleanup may take before the process exits anyway: under nextest, SIGKILL
/// follows SIGTERM after 10 s, and a person pressing Ctrl-C expects an answer soon.
const CLEANUP_LIMIT: Duration = Duration::from_secs(8);

/// How long the cleanup waits for container creations awaiting the daemon's answer.
const IN_FLIGHT_LIMIT: Duration = Duration::from_secs(3);

/// The write end of the pipe the handler wakes the cleanup thread through; -1 before install.
static PIPE: AtomicI32 = AtomicI32::new(-1);
/// The first signal received, 0 before any.
static RECEIVED: AtomicI32 = AtomicI32::new(0);

/// Installs the handler for SIGINT, SIGTERM and SIGHUP, once per process, for each signal
/// whose disposition is still the default: a signal that is ignored (`nohup`) or that the
/// process already handles (a test's own handler) is left as it is.
///
/// On a signal, it removes every container and network this process created and still holds,
/// then every container labelled with this process as owner (one whose creation was in flight
/// when the signal came), except what `DOCKSIDE_KEEP` kept, and exits with status 128 + the
/// signal number. A second signal during the cleanup exits at once. When a test installs its
/// own handler for the signal after dockside's (with `tokio::signal`, `signal-hook` or
/// `libc`), the signal is the test's: dockside does nothing on it, and the test's containers are
/// removed as usual when it ends.
pub(crate) fn install_signal_handler() {
    static INSTALLED: once_cell::sync::OnceCell<()> = once_cell::sync::OnceCell::new();
    INSTALLED.get_or_init(|| {
        if let Err(e) = install() {
            eprintln!(
                "dockside: no signal handler, containers may outlive an interrupted run: {e}"
            );
        }
    });
}

fn install() -> std::io::Result<()> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let [read_end, write_end] = fds;
    PIPE.store(write_end, Ordering::SeqCst);
    std::thread::Builder::new()
        .name("dockside-signals".to_owned())
        .spawn(move || wait_and_clean_up(read_end))?;
    for signal in SIGNALS {
        // SAFETY: an all-zero sigaction is a valid value to be filled in.
        let mut current: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: a null new action only reads the current one into `current`.
        if unsafe { libc::sigaction(signal, std::ptr::null(), &mut current) } != 0
            || current.sa_sigaction != libc::SIG_DFL
        {
            continue;
        }
        // SAFETY: as above; the fields set below make it a complete action.
        let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
        action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        // Other threads' system calls resume rather than fail with EINTR.
        action.sa_flags = libc::SA_RESTART;
        // SAFETY: `action` is complete, and `on_signal` only calls async-signal-safe functions.
        if unsafe { libc::sigaction(signal, &action, std::ptr::null_mut()) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Runs in signal context: only async-signal-safe calls (sigaction, write, _exit) and atomics.
extern "C" fn on_signal(signal: libc::c_int) {
    // Called by a handler that replaced ours and chains to its predecessor (signal-hook, and
    // so tokio, do): the test took the signal over.
    if !is_installed(signal) {
        return;
    }
    if RECEIVED
        .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst)
        .is_err()
    {
        // A second signal while cleaning up: the user wants out now.
        // SAFETY: _exit is async-signal-safe and ends the process without running anything.
        unsafe { libc::_exit(128 + signal) };
    }
    let byte = 1u8;
    // SAFETY: writes one byte from a live local to the pipe made at install; a failed write
    // cannot be reported from here, and the byte only wakes the cleanup thread.
    unsafe {
        libc::write(
            PIPE.load(Ordering::SeqCst),
            std::ptr::addr_of!(byte).cast(),
            1,
        )
    };
}

/// Called where a test is about to fail. While a signal's cleanup is under way, the failure is
/// most likely its doing (it removed a container a set-up still waits for), and the process
/// must end with the signal's status, not with the test harness's: this waits for the cleanup
/// thread to end the process, as long as the cleanup may take, and returns at once without a
/// signal.
pub(crate) fn await_exit_if_interrupted() {
    if RECEIVED.load(Ordering::SeqCst) == 0 {
        return;
    }
    // The margin covers connecting and the exit itself; past it the test fails as it would.
    std::thread::sleep(CLEANUP_LIMIT + Duration::from_secs(2));
}

/// Whether `on_signal` is the process's handler for `signal`.
fn is_installed(signal: libc::c_int) -> bool {
    // SAFETY: an all-zero sigaction is a valid value to be filled in.
    let mut current: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: a null new action only reads the current one.
    let read = unsafe { libc::sigaction(signal, std::ptr::null(), &mut current) };
    read == 0
        && current.sa_sigaction == on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t
}

fn wait_and_clean_up(read_end: libc::c_int) {
    let mut byte = 0u8;
    loop {
        // SAFETY: reads at most one byte into a live local.
        let read = unsafe { libc::read(read_end, std::ptr::addr_of_mut!(byte).cast(), 1) };
        if read == 1 {
            break;
        }
        if read < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        // The pipe is broken: there is nothing to wait for any more.
        return;
    }
    let signal = RECEIVED.load(Ordering::SeqCst);
    if let Ok(runtime) = crate::rt::runtime() {
        // The timer needs the runtime's context, so it is made inside the future.
        let cleaned = runtime
            .block_on(async { tokio::time::timeout(CLEANUP_LIMIT, remove_everything()).await });
        if cleaned.is_err() {
            eprintln!(
                "dockside: cleanup after the signal took more than {CLEANUP_LIMIT:?}; \
                 exiting, the next dockside run removes what is left"
            );
        }
    }
    std::process::exit(128 + signal);
}

async fn remove_everything() {
    let live = registry::take_all();
    eprintln!(
        "dockside: interrupted; removing {} container(s)",
        live.containers.len()
    );
    let Ok(docker) = crate::docker::connect().await else {
        return;
    };
    let removals = live
        .containers
        .iter()
        .map(|id| remove_container(&docker, id));
    futures_util::future::join_all(removals).await;
    // A creation in flight may have made a container this process does not know yet.
    let deadline = tokio::time::Instant::now() + IN_FLIGHT_LIMIT;
    while registry::creations_in_flight() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    remove_unlisted(&docker).await;
    for network in &live.networks {
        let _ = remove_network(&docker, network).await;
    }
}

/// Removes the containers, then the networks, labelled with this process as owner that the
/// registry did not list, except what it kept for the user.
async fn remove_unlisted(docker: &Docker) {
    let filters = HashMap::from([(
        "label",
        vec![
            format!("{}=true", labels::MANAGED),
            format!("{}={}", labels::OWNER, Owner::current().label()),
        ],
    )]);
    let options = ListContainersOptionsBuilder::new()
        .all(true)
        .filters(&filters)
        .build();
    let containers = crate::engine::list_containers(docker, options)
        .await
        .unwrap_or_default();
    let removals = containers
        .into_iter()
        .filter_map(|c| c.id)
        .filter(|id| !registry::is_kept(id))
        .map(|id| async move {
            let _ = remove_container(docker, &id).await;
        });
    futures_util::future::join_all(removals).await;
    let networks = docker
        .list_networks(Some(
            ListNetworksOptionsBuilder::new().filters(&filters).build(),
        ))
        .await
        .unwrap_or_default();
    for id in networks.into_iter().filter_map(|n| n.id) {
        if !registry::is_kept(&id) {
            let _ = remove_network(docker, &id).await;
        }
    }
}
