//! How far a pull has come, read from the daemon's progress messages, and the line that says so
//! on stderr while a pull takes long.
//!
//! The daemon sends one message per layer event: `Pulling fs layer` and `Waiting` name a layer,
//! `Downloading` carries its bytes so far and its size, `Download complete`, `Extracting` and
//! `Pull complete` (or `Already exists`, for a layer the daemon has) follow. Messages without a
//! layer (`Pulling from ...`, `Digest: ...`) and statuses of other engines are not counted.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// A pull shorter than this prints no progress line: most pulls of a test image are.
const FIRST_LINE_AFTER: Duration = Duration::from_secs(1);
/// The shortest time between two lines.
const LINE_EVERY: Duration = Duration::from_secs(1);

/// The layers of one pull, and when its last line was printed.
#[derive(Debug)]
pub(crate) struct PullProgress {
    image: String,
    started: Instant,
    last_line: Option<Instant>,
    layers: BTreeMap<String, Layer>,
}

#[derive(Debug, Default)]
struct Layer {
    /// Bytes downloaded and the layer's size, as the last message said; 0 when unknown.
    current: u64,
    total: u64,
    /// Pulled (downloaded and extracted) or already present.
    done: bool,
}

impl PullProgress {
    /// A pull of `image` (named so in the lines) that started at `started`.
    pub(crate) fn new(image: String, started: Instant) -> PullProgress {
        PullProgress {
            image,
            started,
            last_line: None,
            layers: BTreeMap::new(),
        }
    }

    /// Takes one message: its `status`, the layer `id` it is about, and `current`/`total` bytes
    /// from its progress detail.
    pub(crate) fn record(
        &mut self,
        status: &str,
        id: &str,
        current: Option<i64>,
        total: Option<i64>,
    ) {
        let bytes = |n: Option<i64>| n.and_then(|n| u64::try_from(n).ok());
        let known = [
            "Pulling fs layer",
            "Waiting",
            "Downloading",
            "Verifying Checksum",
            "Download complete",
            "Extracting",
            "Pull complete",
            "Already exists",
        ];
        if id.is_empty() || !known.contains(&status) {
            return;
        }
        let layer = self.layers.entry(id.to_owned()).or_default();
        match status {
            "Downloading" => {
                layer.current = bytes(current).unwrap_or(layer.current);
                layer.total = bytes(total).unwrap_or(layer.total);
            }
            // Downloaded: what it said of the size is now all there.
            "Verifying Checksum" | "Download complete" | "Extracting" => {
                layer.current = layer.total.max(layer.current);
            }
            "Pull complete" | "Already exists" => {
                layer.current = layer.total.max(layer.current);
                layer.done = true;
            }
            _ => {}
        }
    }

    /// The line to print at `now`, when one is due: none in the pull's first
    /// [`FIRST_LINE_AFTER`], then at most one per [`LINE_EVERY`].
    pub(crate) fn line_due(&mut self, now: Instant) -> Option<String> {
        let since_start = now.saturating_duration_since(self.started);
        let due = match self.last_line {
            None => since_start >= FIRST_LINE_AFTER,
            Some(last) => now.saturating_duration_since(last) >= LINE_EVERY,
        };
        if !due || self.layers.is_empty() {
            return None;
        }
        self.last_line = Some(now);
        Some(self.line(since_start))
    }

    fn line(&self, elapsed: Duration) -> String {
        let done = self.layers.values().filter(|l| l.done).count();
        let current: u64 = self.layers.values().map(|l| l.current).sum();
        let total: u64 = self.layers.values().map(|l| l.total).sum();
        format!(
            "dockside: pulling {}: {done}/{} layers, {} of {} ({})",
            self.image,
            self.layers.len(),
            megabytes(current),
            megabytes(total),
            crate::error::seconds(elapsed)
        )
    }
}

/// Bytes in MB (10^6, as the Docker CLI's pull progress counts), one decimal.
fn megabytes(bytes: u64) -> String {
    // Exact enough for display: a pull of 2^53 bytes is far beyond any image.
    format!("{:.1} MB", bytes as f64 / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pull_of_two_layers() -> (PullProgress, Instant) {
        let start = Instant::now();
        let mut pull = PullProgress::new("127.0.0.1:5000/big:1".to_owned(), start);
        pull.record("Pulling from big", "1", None, None);
        pull.record("Pulling fs layer", "aaa", None, None);
        pull.record("Already exists", "ccc", None, None);
        pull.record("Waiting", "bbb", None, None);
        pull.record("Downloading", "aaa", Some(1_500_000), Some(3_000_000));
        pull.record("Downloading", "bbb", Some(0), Some(2_000_000));
        (pull, start)
    }

    #[test]
    fn counts_layers_and_bytes_from_the_daemons_messages() {
        let (mut pull, start) = pull_of_two_layers();
        assert_eq!(
            pull.line_due(start + Duration::from_millis(1500)).unwrap(),
            "dockside: pulling 127.0.0.1:5000/big:1: 1/3 layers, 1.5 MB of 5.0 MB (1.5s)"
        );
        pull.record("Download complete", "aaa", None, None);
        pull.record("Extracting", "aaa", Some(10), Some(3_000_000));
        pull.record("Pull complete", "aaa", None, None);
        pull.record("Digest: sha256:0123", "", None, None);
        assert_eq!(
            pull.line_due(start + Duration::from_millis(2500)).unwrap(),
            "dockside: pulling 127.0.0.1:5000/big:1: 2/3 layers, 3.0 MB of 5.0 MB (2.5s)"
        );
    }

    #[test]
    fn no_line_in_the_first_second_then_at_most_one_a_second() {
        let (mut pull, start) = pull_of_two_layers();
        let at = |ms| start + Duration::from_millis(ms);
        assert_eq!(pull.line_due(at(0)), None);
        assert_eq!(pull.line_due(at(999)), None);
        assert!(pull.line_due(at(1000)).is_some());
        assert_eq!(pull.line_due(at(1500)), None);
        assert_eq!(pull.line_due(at(1999)), None);
        assert!(pull.line_due(at(2000)).is_some());
    }

    #[test]
    fn a_pull_of_no_known_layer_says_nothing() {
        let start = Instant::now();
        let mut pull = PullProgress::new("x".to_owned(), start);
        pull.record(
            "Trying to pull docker.io/library/x:latest...",
            "",
            None,
            None,
        );
        assert_eq!(pull.line_due(start + Duration::from_secs(5)), None);
    }
}
