//! Where a short container-backed test spends its time, measured side by side in one run:
//! resolving an image (cold process path vs the in-process cell), start → ready, the body, and
//! removal (what the daemon takes against what the test waits for); then a present image whose
//! build context has 20,000 files against a one-file context, in fresh processes of a nextest
//! run (the run's first, and a later one), alternating rounds. Prints figures; asserts nothing (timings on shared machines are for reading, not for
//! failing builds).
//!
//! Run: `cargo bench -p dockside-tests --bench lifecycle` (a Docker daemon must be running);
//! add `--profile dev` for the figures of an unoptimised build, which is how test crates build
//! their dependencies. See BENCHMARKS.md.

use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use dockside::__private::{run_sync, ContainerSpec, TestSpec};
use dockside::{BuildSpec, Container, Image};
use dockside_tests::figures::{median, ratio, row};

const ROUNDS: usize = 10;
const RESOLVE_ONCE: &str = "--resolve-once";
/// The big context: as many files as a real repository's `context = "."`.
const BIG_FILES: usize = 20_000;
const BIG_FILE_BYTES: usize = 2048;

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
    let mut daemon_removal = Vec::with_capacity(ROUNDS);
    // Alternating: a test whose body removes its container itself, as dockside did before the
    // courier (the figure is what a test waited for), then a plain test.
    for _ in 0..ROUNDS {
        daemon_removal.push(one_test(manifest_dir, true).1);
        let (to_ready, to_removed) = one_test(manifest_dir, false);
        ready.push(to_ready);
        removal.push(to_removed);
    }

    let (cold, cached) = image_figures;
    let (ready, removal) = (median(ready), median(removal));
    let daemon_removal = median(daemon_removal);
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
    row(
        "removal as the daemon does it (DELETE ?force, waited for)",
        format!("{daemon_removal:.2?}"),
    );
    row(
        "removal as the test waits for it (hand-off to the courier)",
        format!("{removal:.2?}"),
    );
    row(
        "  removal share of a test with an empty body",
        format!("{removal_share:.0}%"),
    );
    big_context_figures();
}

/// A present image with a 20,000-file context against one with a one-file context: each round
/// is a fresh process (this binary again) resolving one of them, alternating, as processes of a
/// nextest run: the first of its run (which scans the context and records its hash for the run)
/// and a later one of the same run (which reads the record). The first round of each builds the
/// image and fills the digest cache, and is not counted.
fn big_context_figures() {
    let big = tempfile::tempdir().expect("temp dir");
    let small = tempfile::tempdir().expect("temp dir");
    let dockerfile = "FROM scratch\nCOPY Dockerfile /Dockerfile\n";
    for dir in [big.path(), small.path()] {
        std::fs::write(dir.join("Dockerfile"), dockerfile).expect("write Dockerfile");
    }
    let content = vec![b'x'; BIG_FILE_BYTES];
    for i in 0..BIG_FILES {
        let folder = big.path().join(format!("d{:03}", i / 200));
        std::fs::create_dir_all(&folder).expect("create folder");
        let mut file = std::fs::File::create(folder.join(format!("f{i}"))).expect("create file");
        file.write_all(&content).expect("write file");
        file.write_all(i.to_string().as_bytes())
            .expect("write file");
    }
    // Files written this moment are not trusted by the digest cache yet (git's racy-clean
    // problem): let them age, as the files of a real repository have.
    std::thread::sleep(Duration::from_secs(4));
    // [big first, big later, small first, small later] of each round.
    let mut times: [Vec<Duration>; 4] = Default::default();
    for round in 0..=ROUNDS {
        let mut figures = Vec::with_capacity(4);
        for (name, dir) in [("big", big.path()), ("small", small.path())] {
            let run = format!("bench-{}-{round}-{name}", std::process::id());
            let dockerfile = dir.join("Dockerfile");
            figures.push(fresh_process_resolve(&dockerfile, &run));
            figures.push(fresh_process_resolve(&dockerfile, &run));
        }
        if round > 0 {
            for (samples, figure) in times.iter_mut().zip(figures) {
                samples.push(figure);
            }
        }
    }
    let [big_first, big_later, small_first, small_later] = times.map(median);
    println!(
        "present image, fresh process each, {ROUNDS} alternating rounds, medians \
         ({BIG_FILES} files of {} KiB):",
        BIG_FILE_BYTES / 1024
    );
    row(
        "first process of a run, one-file context",
        format!("{small_first:.2?}"),
    );
    row(
        &format!("first process of a run, {BIG_FILES}-file context"),
        format!("{big_first:.2?}"),
    );
    row(
        "  ratio big / one-file",
        format!("{:.2}", ratio(big_first, small_first)),
    );
    row(
        "later process of the run, one-file context",
        format!("{small_later:.2?}"),
    );
    row(
        &format!("later process of the run, {BIG_FILES}-file context"),
        format!("{big_later:.2?}"),
    );
    row(
        "  ratio big / one-file",
        format!("{:.2}", ratio(big_later, small_later)),
    );
    // Both images were built from folders of this run only, which go now: so do they.
    for dir in [big.path(), small.path()] {
        let image = Image::Build(BuildSpec::new(dir.join("Dockerfile")))
            .resolve()
            .expect("the image just measured");
        let removed = std::process::Command::new("docker")
            .args(["rmi", "--force", &image.reference])
            .output();
        if !removed.is_ok_and(|output| output.status.success()) {
            eprintln!("could not remove the bench image {}", image.reference);
        }
    }
}

/// The wall time of a fresh process of the nextest run `run` that resolves the image of
/// `dockerfile` once.
fn fresh_process_resolve(dockerfile: &Path, run: &str) -> Duration {
    let started = Instant::now();
    let output = std::process::Command::new(std::env::current_exe().expect("own path"))
        .args([RESOLVE_ONCE, &dockerfile.display().to_string()])
        .env("NEXTEST_RUN_ID", run)
        .output()
        .expect("run the resolve child");
    let elapsed = started.elapsed();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    elapsed
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
/// body's end to the container's removal as the test waits for it. With `remove_in_body`, the
/// body removes the container itself with the request dockside sends, waiting for the daemon's
/// answer, and the second figure is that wait.
fn one_test(manifest_dir: &'static str, remove_in_body: bool) -> (Duration, Duration) {
    let spec = TestSpec::new("bench::one_test", manifest_dir).container(
        ContainerSpec::new("web")
            .dockerfile("fixtures/Dockerfile")
            .context("fixtures")
            .port(8080),
    );
    let started = Instant::now();
    let mut to_ready = Duration::ZERO;
    let mut body_end = started;
    let mut in_body = Duration::ZERO;
    run_sync(spec, |mut args| {
        to_ready = started.elapsed();
        if remove_in_body {
            let web: Container = args.take();
            let removing = Instant::now();
            remove_waiting(web.id());
            in_body = removing.elapsed();
        }
        body_end = Instant::now();
    });
    if remove_in_body {
        return (to_ready, in_body);
    }
    (to_ready, body_end.elapsed())
}

/// `DELETE /containers/{id}?force=true&v=true` on the local daemon's socket, read to the end of
/// the answer: what a test process waited for before removal was handed off.
fn remove_waiting(id: &str) {
    let socket = std::env::var("DOCKER_HOST")
        .ok()
        .and_then(|host| host.strip_prefix("unix://").map(str::to_owned))
        .unwrap_or_else(|| "/var/run/docker.sock".to_owned());
    let mut stream = std::os::unix::net::UnixStream::connect(socket).expect("daemon socket");
    write!(
        stream,
        "DELETE /containers/{id}?force=true&v=true HTTP/1.1\r\nHost: docker\r\n\
         Connection: close\r\n\r\n"
    )
    .expect("send the removal");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read the answer");
    assert!(answer.starts_with("HTTP/1.1 204"), "{answer}");
}
