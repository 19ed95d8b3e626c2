//! Printing the figures of the benchmarks in `tests/benches/`: they measure and print, and
//! assert nothing.

use std::time::Duration;

/// One line of a benchmark's table: a label and its figure, aligned.
pub fn row(label: &str, value: String) {
    println!("  {label:<68} {value:>10}");
}

/// The median of `samples` (the upper one of an even count).
///
/// # Panics
/// On no samples.
pub fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

/// `a / b`, without dividing by zero.
pub fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}
