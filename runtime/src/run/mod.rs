//! The run a test process belongs to: what owns the containers that outlive one test (shared
//! containers), and whose end removes them.
//!
//! A run is identified by its process, as [`Owner`] identifies any process (host, boot, pid,
//! start time, PID namespace), plus nextest's run id when there is one:
//!
//! - under nextest (`NEXTEST_RUN_ID` set), the parent process: nextest itself, which starts
//!   every test process;
//! - under `cargo test`, the parent process when it is cargo, which runs the crate's test
//!   binaries one after the other: they make one run;
//! - otherwise (a test binary started by hand, or by another program), this process: its tests
//!   are threads of it.
//!
//! The run ends when that process exits; [`watcher`] notices and removes what the run owned.

pub(crate) mod watcher;

use once_cell::sync::Lazy;
use sha2::{Digest, Sha256};

use crate::process::owner::Owner;

/// The run this process belongs to.
#[derive(Debug)]
pub(crate) struct Run {
    /// The run's process, whose exit ends the run.
    process: Owner,
    /// nextest's run id, if any.
    session: Option<String>,
    /// How the run's process was chosen, for messages.
    kind: &'static str,
}

impl Run {
    /// This process's run, decided once: the parent seen at the first shared container.
    pub(crate) fn current() -> &'static Run {
        static RUN: Lazy<Run> = Lazy::new(Run::find);
        &RUN
    }

    fn find() -> Run {
        let session = crate::config::session();
        let me = std::process::id();
        // SAFETY: getppid has no preconditions and cannot fail.
        let parent = u32::try_from(unsafe { libc::getppid() }).unwrap_or(0);
        // 0: the parent is outside this PID namespace; 1: it is gone (or it is init).
        let (pid, kind) = if parent <= 1 {
            (me, "this test process")
        } else if session.is_some() {
            (parent, "the nextest process")
        } else if command_name(parent).as_deref() == Some("cargo") {
            (parent, "the cargo process")
        } else {
            (me, "this test process")
        };
        Run {
            process: Owner::process(pid),
            session,
            kind,
        }
    }

    /// The run's process.
    pub(crate) fn process(&self) -> &Owner {
        &self.process
    }

    /// The value of the [`crate::labels::RUN`] label: the run's process, in the owner label's
    /// form, so the start-up reaper judges it with the same rule as a process's containers.
    pub(crate) fn label(&self) -> String {
        self.process.label()
    }

    /// A hash naming this run: its process and nextest's run id.
    pub(crate) fn key(&self) -> String {
        let text = format!(
            "{}\0{}",
            self.label(),
            self.session.as_deref().unwrap_or_default()
        );
        hex::encode(&Sha256::digest(text.as_bytes())[..16])
    }

    /// The run's process, as messages name it (`the cargo process 4242`).
    pub(crate) fn describe(&self) -> String {
        format!("{} {}", self.kind, self.process.pid())
    }
}

/// The command name of process `pid` (`/proc/<pid>/comm`), if it can be read.
fn command_name(pid: u32) -> Option<String> {
    let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    Some(name.trim_end().to_owned())
}
