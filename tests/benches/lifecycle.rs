//! Where a short container-backed test spends its time, measured side by side in one run:
//! resolving an image (cold process path vs the in-process cell), start → ready, the body, and
//! removal. Prints figures; asserts nothing (timings on shared machines are for reading, not for
//! failing builds).
//!
//! Run: `cargo bench -p dockside-tests --bench lifecycle` (a Docker daemon must be running).

use std::time::{Duration, Instant};

use dockside::__private::{run_sync, ContainerSpec, TestSpec};
use dockside::{BuildSpec, Image};

const ROUNDS: usize = 10;
const RESOLVE_ONCE: &str = "--resolve-once";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, dockerfile] = args.as_slice() {
        if flag == RESOLVE_ONCE {
            return resolve_once(dockerfile);
        }
    }
    let manifest_dir = env!("CARGO_MANIFEST_DIR");
    let dockerfile = format!("{manifest_dir}/fixtures/Dockerfile");
    // Make sure the image exists, so every figure below is about a cached image.
    Image::Build(BuildSpec::new(&dockerfile))
        .resolve()
        .expect("fixture image");

    let image_figures = resolve_figures(&dockerfile);
    let mut ready = Vec::with_capacity(ROUNDS);
    let mut removal = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let (to_ready, to_removed) = one_test(manifest_dir);
        ready.push(to_ready);
        removal.push(to_removed);
    }

    let (cold, cached) = image_figures;
    let (ready, removal) = (median(ready), median(removal));
    let removal_share = 100.0 * removal.as_secs_f64() / (ready + removal).as_secs_f64();
    println!("dockside lifecycle, {ROUNDS} rounds, medians:");
    row(
        "resolve a present image, first in a process (hash, lock, inspect)",
        format!("{cold:.2?}"),
    );
    row(
        "resolve it again (in-process cell)",
        format!("{cached:.2?}"),
    );
    row(
        "  ratio first / again",
        format!("{:.0}x", ratio(cold, cached)),
    );
    row(
        "start -> ready (fixture server, one port)",
        format!("{ready:.2?}"),
    );
    row("removal (kill + remove)", format!("{removal:.2?}"));
    row(
        "  removal share of a test with an empty body",
        format!("{removal_share:.0}%"),
    );
}

fn row(label: &str, value: String) {
    println!("  {label:<68} {value:>10}");
}

/// The first resolve of an image in a process takes the file lock and asks the daemon; later
/// ones hit the process-wide cell. Each round runs in a fresh process (this binary again), as
/// each test does under nextest; the child prints both durations in nanoseconds.
fn resolve_figures(dockerfile: &str) -> (Duration, Duration) {
    let mut cold = Vec::with_capacity(ROUNDS);
    let mut cached = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let output = std::process::Command::new(std::env::current_exe().expect("own path"))
            .args([RESOLVE_ONCE, dockerfile])
            .output()
            .expect("run the resolve child");
        let text = String::from_utf8_lossy(&output.stdout);
        let mut nanos = text
            .split_whitespace()
            .map(|n| n.parse::<u64>().expect("nanoseconds"));
        let (first, again) = (nanos.next().expect("cold"), nanos.next().expect("cached"));
        cold.push(Duration::from_nanos(first));
        cached.push(Duration::from_nanos(again));
    }
    (median(cold), median(cached))
}

/// In the child: resolve twice, print both durations.
fn resolve_once(dockerfile: &str) {
    let image = Image::Build(BuildSpec::new(dockerfile));
    let started = Instant::now();
    image.resolve().expect("resolve");
    let first = started.elapsed();
    let started = Instant::now();
    image.resolve().expect("resolve again");
    println!("{} {}", first.as_nanos(), started.elapsed().as_nanos());
}

/// One test through the same glue `#[docker_test]` expands to: time to the body, and from the
/// body's end to the container's removal.
fn one_test(manifest_dir: &'static str) -> (Duration, Duration) {
    let spec = TestSpec::new("bench::one_test", manifest_dir).container(
        ContainerSpec::new("web")
            .dockerfile("fixtures/Dockerfile")
            .context("fixtures")
            .port(8080),
    );
    let started = Instant::now();
    let mut to_ready = Duration::ZERO;
    let mut body_end = started;
    run_sync(spec, |_args| {
        to_ready = started.elapsed();
        body_end = Instant::now();
    });
    (to_ready, body_end.elapsed())
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}
