//! A line where the user waits when a pull or a build takes long.
//!
//! Under `cargo test` libtest captures what `eprintln!` writes, so the build's own progress
//! lines show only with `--nocapture`, and a slow build looks like a hung test. libtest's
//! capture covers only the print macros: a write to the process's stderr handle goes to the
//! terminal (nextest collects a test's stderr and shows it with the test's result).

use std::io::Write;
use std::time::Duration;

/// How long a pull or build runs before the first line appears.
pub(crate) const FIRST_NOTE_AFTER: Duration = Duration::from_secs(5);
/// How often a line repeats while the work goes on.
const REPEAT_EVERY: Duration = Duration::from_secs(30);

/// Runs `work`, writing a line to stderr (past libtest's capture) after [`FIRST_NOTE_AFTER`]
/// and every [`REPEAT_EVERY`] after it, naming `what` and how long it has taken.
pub(crate) async fn noted<T>(what: &str, work: impl std::future::Future<Output = T>) -> T {
    let started = tokio::time::Instant::now();
    let mut next_note = started + FIRST_NOTE_AFTER;
    tokio::pin!(work);
    loop {
        tokio::select! {
            done = &mut work => return done,
            () = tokio::time::sleep_until(next_note) => {
                note(&format!(
                    "dockside: still {what} after {} (`cargo test -- --nocapture`, or \
                     nextest's `--no-capture`, shows its progress)\n",
                    crate::error::seconds(started.elapsed())
                ));
                next_note += REPEAT_EVERY;
            }
        }
    }
}

/// Writes `line` to the stderr handle itself: a note nobody can see does not help.
fn note(line: &str) {
    // A note that cannot be written is lost; the work it describes goes on.
    let _ = std::io::stderr().write_all(line.as_bytes());
}
