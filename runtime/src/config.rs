//! Settings read from the environment. Every variable here is documented in the README.

use std::path::PathBuf;
use std::time::Duration;

/// The host address published ports are bound to on the daemon's machine
/// (`DOCKSIDE_PUBLISH_ADDRESS`), replacing the choice `endpoint::publish` makes. A value
/// that is not an IP address is reported on stderr and ignored.
pub(crate) fn publish_address() -> Option<std::net::IpAddr> {
    let text = non_empty("DOCKSIDE_PUBLISH_ADDRESS")?;
    text.parse()
        .map_err(|e| eprintln!("dockside: ignoring DOCKSIDE_PUBLISH_ADDRESS=`{text}`: {e}"))
        .ok()
}

/// The Docker config folder, as the Docker CLI finds it: `DOCKER_CONFIG`, else `~/.docker`.
/// `env` reads a variable (as [`env`] does; tests pass their own).
pub(crate) fn docker_config_dir(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    env("DOCKER_CONFIG")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|home| PathBuf::from(home).join(".docker")))
}

/// The value of environment variable `name`, unless unset or empty (an empty value counts as
/// unset, as it does for the Docker CLI).
pub(crate) fn env(name: &str) -> Option<String> {
    non_empty(name)
}

/// Folder of the per-image advisory lock files, shared by every test process of one user.
///
/// `DOCKSIDE_LOCK_DIR`, else `$XDG_RUNTIME_DIR/dockside`, else `<tmp>/dockside-<uid>`: per user,
/// because another user's lock file could not be opened for writing.
pub(crate) fn lock_dir() -> PathBuf {
    if let Some(dir) = non_empty("DOCKSIDE_LOCK_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = non_empty("XDG_RUNTIME_DIR") {
        return PathBuf::from(dir).join("dockside");
    }
    std::env::temp_dir().join(format!("dockside-{}", current_uid()))
}

/// A registry (`host[:port]`) to pull Docker Hub images from instead of Docker Hub
/// (`DOCKSIDE_REGISTRY_MIRROR`), for machines that reach a mirror but not the Hub.
pub(crate) fn registry_mirror() -> Option<String> {
    non_empty("DOCKSIDE_REGISTRY_MIRROR").map(|mirror| {
        let host = mirror
            .trim_start_matches("https://")
            .trim_start_matches("http://");
        host.trim_end_matches('/').to_owned()
    })
}

/// How long a container may take to become ready when the test does not say
/// (`DOCKSIDE_STARTUP_TIMEOUT`, default 60 s).
pub(crate) fn startup_timeout() -> Duration {
    duration_var("DOCKSIDE_STARTUP_TIMEOUT").unwrap_or(Duration::from_secs(60))
}

/// Per-request timeout towards the daemon (`DOCKSIDE_DOCKER_TIMEOUT`, default 600 s). A build's
/// or a pull's stream is bounded by [`image_timeout`] instead.
pub(crate) fn docker_timeout() -> Duration {
    duration_var("DOCKSIDE_DOCKER_TIMEOUT").unwrap_or(Duration::from_secs(600))
}

/// How long one build or pull may take in all, its whole stream included
/// (`DOCKSIDE_IMAGE_TIMEOUT`, default 30 min).
pub(crate) fn image_timeout() -> Duration {
    duration_var("DOCKSIDE_IMAGE_TIMEOUT").unwrap_or(Duration::from_secs(30 * 60))
}

/// How many of a container's last log lines a failing test prints (`DOCKSIDE_LOG_LINES`, default 50).
pub(crate) fn log_lines() -> usize {
    non_empty("DOCKSIDE_LOG_LINES")
        .and_then(|v| v.parse().ok())
        .unwrap_or(50)
}

/// The shortest time between two start-up sweeps for orphans by this user's processes on one
/// daemon (`DOCKSIDE_SWEEP_INTERVAL`, default 10 s; `0`: sweep at every start-up).
pub(crate) fn sweep_interval() -> Duration {
    if non_empty("DOCKSIDE_SWEEP_INTERVAL").as_deref() == Some("0") {
        return Duration::ZERO;
    }
    duration_var("DOCKSIDE_SWEEP_INTERVAL").unwrap_or(Duration::from_secs(10))
}

/// Whether a test without a reachable daemon passes with a note instead of failing
/// (`DOCKSIDE_SKIP_WITHOUT_DOCKER=1`).
pub(crate) fn skip_without_docker() -> bool {
    flag("DOCKSIDE_SKIP_WITHOUT_DOCKER")
}

/// When containers outlive their test, for debugging (`DOCKSIDE_KEEP`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Keep {
    Never,
    OnFailure,
    Always,
}

pub(crate) fn keep() -> Keep {
    match non_empty("DOCKSIDE_KEEP").as_deref() {
        Some("always") => Keep::Always,
        Some("on-failure") => Keep::OnFailure,
        _ => Keep::Never,
    }
}

/// The nextest run this process belongs to, recorded on containers as their session.
pub(crate) fn session() -> Option<String> {
    non_empty("NEXTEST_RUN_ID")
}

fn flag(name: &str) -> bool {
    matches!(non_empty(name).as_deref(), Some("1" | "true" | "yes"))
}

fn non_empty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The duration in variable `name`, in the syntax of `startup_timeout` (`"30s"`, `"1m30s"`). A
/// value that does not parse is reported on stderr and ignored, so a typo does not go unnoticed
/// yet cannot fail every test.
fn duration_var(name: &str) -> Option<Duration> {
    let text = non_empty(name)?;
    dockside_syntax::parse_duration(&text)
        .map_err(|reason| eprintln!("dockside: ignoring {name}=`{text}`: {reason}"))
        .ok()
}

/// The effective uid of this process: the owner of the files and folders it creates.
pub(crate) fn current_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}
