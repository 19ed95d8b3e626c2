//! Runtime failures say why and point at the user's code: the last answer of each readiness
//! check, the Dockerfile line of a missing base image, the exit code of a container that
//! exited at once, a location in the test rather than in dockside, and logs framed apart from
//! the harness's own lines.
//!
//! Each failing test runs as a child process (an `#[ignore]`d test run by name), as nextest
//! would run it, and the parent reads what it printed.

use dockside::{docker_test, BuildSpec, Container, Error, Image};
use dockside_tests::child::{self, ChildRun};
use dockside_tests::docker_cli;
use dockside_tests::fixture::fixtures_dir;

/// Runs the child test `name` and returns its output, checking that it failed.
fn failing_child(name: &str) -> String {
    let run: ChildRun = child::run(name, &[]);
    let output = run.output();
    assert!(!run.passed(), "the child passed:\n{output}");
    output
}

/// The parts every set-up failure has: the test named first, and no location inside dockside.
fn assert_setup_failure_of(test: &str, output: &str) {
    let first = format!("dockside: setting up test diagnostics::{test} failed: ");
    assert!(output.contains(&first), "no `{first}` in:\n{output}");
    assert!(
        !output.contains("runtime/src/"),
        "a location inside dockside:\n{output}"
    );
    assert!(!output.contains("panicked at"), "{output}");
}

async fn not_migrated(_container: Container) -> Result<(), String> {
    Err("db not migrated yet".to_owned())
}

#[docker_test(
    dockerfile = "fixtures/Dockerfile",
    cmd = ["sleep"],
    wait = custom(not_migrated),
    startup_timeout = "1s"
)]
#[ignore = "run by a_probe_timeout_shows_the_probes_answer"]
fn child_probe_says_why(_db: Container) {}

#[test]
fn a_probe_timeout_shows_the_probes_answer() {
    let output = failing_child("child_probe_says_why");
    assert_setup_failure_of("child_probe_says_why", &output);
    for expected in [
        "was not ready after 1.",
        "the custom readiness probe (last answer: db not migrated yet)",
        // `sleep` prints nothing: the log section says so instead of being empty.
        "---\n(no output)\n--- end of last log lines of db (",
    ] {
        assert!(output.contains(expected), "no `{expected}` in:\n{output}");
    }
    // Rounded to a tenth of a second, not `1.00412345s`.
    let after = output
        .split("was not ready after ")
        .nth(1)
        .unwrap_or_default();
    let duration: String = after.chars().take_while(|c| *c != ':').collect();
    assert!(
        duration.len() == 4 && duration.ends_with('s'),
        "duration `{duration}` in:\n{output}"
    );
}

#[docker_test(
    dockerfile = "fixtures/Dockerfile",
    cmd = ["serve", "--port", "8080", "--status", "503", "--body", "still migrating"],
    ports = [8080],
    wait = http(8080, "/"),
    startup_timeout = "2s"
)]
#[ignore = "run by an_http_timeout_shows_the_status_line_and_body"]
fn child_http_says_why(_web: Container) {}

#[test]
fn an_http_timeout_shows_the_status_line_and_body() {
    let output = failing_child("child_http_says_why");
    assert_setup_failure_of("child_http_says_why", &output);
    let expected = "a 2xx answer to GET / on port 8080 (last answer: HTTP/1.1 503 Service \
                    Unavailable, body \"still migrating\")";
    assert!(output.contains(expected), "no `{expected}` in:\n{output}");
}

#[docker_test(
    dockerfile = "fixtures/Dockerfile",
    cmd = ["sleep"],
    healthcheck = ["/fixture", "exit", "--code", "4", "--stdout", "cache not warm"],
    wait = healthy,
    startup_timeout = "3s"
)]
#[ignore = "run by a_health_timeout_shows_the_last_checks_exit_code_and_output"]
fn child_health_says_why(_cache: Container) {}

#[test]
fn a_health_timeout_shows_the_last_checks_exit_code_and_output() {
    let output = failing_child("child_health_says_why");
    assert_setup_failure_of("child_health_says_why", &output);
    let expected = "the last check exited with code 4 and printed \"cache not warm\"";
    assert!(output.contains(expected), "no `{expected}` in:\n{output}");
}

#[docker_test(
    dockerfile = "fixtures/Dockerfile",
    cmd = ["log", "--line", "booting"],
    wait = log("ready to serve"),
    startup_timeout = "1s"
)]
#[ignore = "run by a_log_timeout_shows_the_last_lines_seen"]
fn child_log_says_why(_app: Container) {}

#[test]
fn a_log_timeout_shows_the_last_lines_seen() {
    let output = failing_child("child_log_says_why");
    assert_setup_failure_of("child_log_says_why", &output);
    let expected = "a log line matching /ready to serve/ (last answer: last lines seen: booting)";
    assert!(output.contains(expected), "no `{expected}` in:\n{output}");
}

#[docker_test(
    dockerfile = "fixtures/Dockerfile",
    cmd = ["sleep"],
    ports = [8080],
    startup_timeout = "1s"
)]
#[ignore = "run by a_port_timeout_says_nothing_listened"]
fn child_port_says_why(_web: Container) {}

#[test]
fn a_port_timeout_says_nothing_listened() {
    let output = failing_child("child_port_says_why");
    assert_setup_failure_of("child_port_says_why", &output);
    assert!(
        output.contains("a server listening on port 8080 (last answer: "),
        "{output}"
    );
    assert!(
        output.contains("nothing has listened on port 8080"),
        "{output}"
    );
}

#[docker_test(
    dockerfile = "fixtures/Dockerfile",
    cmd = ["exit", "--code", "7", "--stderr", "config file /etc/app.toml missing"]
)]
#[ignore = "run by a_container_that_exits_at_once_fails_with_its_exit_code_and_logs"]
fn child_exits_at_once(_app: Container) {
    println!("the body ran");
}

#[test]
fn a_container_that_exits_at_once_fails_with_its_exit_code_and_logs() {
    let output = failing_child("child_exits_at_once");
    assert_setup_failure_of("child_exits_at_once", &output);
    assert!(!output.contains("the body ran"), "{output}");
    for expected in [
        "waited for nothing (no `ports` and no `wait`): it must keep running; it exited with code 7",
        "config file /etc/app.toml missing",
    ] {
        assert!(output.contains(expected), "no `{expected}` in:\n{output}");
    }
}

#[docker_test(
    dockerfile = "fixtures/Dockerfile",
    cmd = ["exit", "--code", "3"],
    wait = exit(0),
    startup_timeout = "5s"
)]
#[ignore = "run by a_one_shot_container_with_another_exit_code_fails"]
fn child_one_shot_fails(_migrate: Container) {}

#[test]
fn a_one_shot_container_with_another_exit_code_fails() {
    let output = failing_child("child_one_shot_fails");
    assert_setup_failure_of("child_one_shot_fails", &output);
    let expected = "waited for the command to exit with code 0; it exited with code 3";
    assert!(output.contains(expected), "no `{expected}` in:\n{output}");
}

#[docker_test(dockerfile = "fixtures/Dockerfile", ports = [8080])]
#[ignore = "run by a_wrong_port_points_at_the_tests_line"]
fn child_asks_for_an_unpublished_port(web: Container) {
    let _ = web.addr(9090);
}

#[test]
fn a_wrong_port_points_at_the_tests_line() {
    let output = failing_child("child_asks_for_an_unpublished_port");
    // The line of `web.addr(9090)` above.
    let here = format!("panicked at tests/tests/diagnostics.rs:{}:", line!() - 7);
    assert!(output.contains(&here), "no `{here}` in:\n{output}");
    assert!(output.contains("does not publish port 9090"), "{output}");
}

#[docker_test(dockerfile = "fixtures/Dockerfile", ports = [8080])]
#[ignore = "run by logs_of_a_test_returning_err_are_framed_before_the_error_line"]
fn child_returns_err(_web: Container) -> Result<(), String> {
    Err("the answer was wrong".to_owned())
}

#[test]
fn logs_of_a_test_returning_err_are_framed_before_the_error_line() {
    let run = child::run("child_returns_err", &[]);
    let stderr = &run.stderr;
    assert!(!run.passed(), "{}", run.output());
    let header = "dockside: test diagnostics::child_returns_err failed; the last 50 log lines \
                  of its containers follow";
    let opening = "--- logs of container web (";
    let log_line = "listening on 8080";
    let footer = "--- end of logs of container web (";
    let error = "Error: \"the answer was wrong\"";
    let at = |text: &str| {
        stderr
            .find(text)
            .unwrap_or_else(|| panic!("no `{text}` in:\n{stderr}"))
    };
    let order = [at(header), at(opening), at(log_line), at(footer), at(error)];
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "{order:?} in:\n{stderr}"
    );
}

#[test]
fn a_missing_base_image_names_the_dockerfile_and_line() {
    let dockerfile = fixtures_dir().join("nobase/Dockerfile");
    let context = tempfile::tempdir().unwrap();
    let mut spec = BuildSpec::new(&dockerfile);
    // An empty context: the build never starts, the base image is missing first.
    spec.context = context.path().to_owned();
    let error = Image::Build(spec).resolve().unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, Error::BaseImage { .. }), "{error:?}");
    let expected = "base image 127.0.0.1:1/dockside/no-such-base:1 (FROM in \
                    fixtures/nobase/Dockerfile, line 3) is missing and pulling it failed: ";
    assert!(text.starts_with(expected), "{text}");
    assert!(text.contains("connection refused"), "{text}");
}

#[test]
fn a_docker_hub_pull_that_fails_says_what_to_do() {
    let error = Image::Pull(format!("dockside-none/missing-{}:1", child::nonce()))
        .resolve()
        .unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, Error::Pull { .. }), "{error:?}");
    if text.contains("dial tcp") || text.contains("no such host") {
        // The daemon cannot reach Docker Hub: the advice names the ways out.
        for expected in ["`dockerfile`", "DOCKSIDE_REGISTRY_MIRROR", "docker login"] {
            assert!(text.contains(expected), "no `{expected}` in:\n{text}");
        }
    } else {
        // Docker Hub answered: the repository does not exist, or needs a login.
        assert!(text.contains("docker login"), "{text}");
    }
}

#[test]
#[ignore = "run by a_slow_build_is_visible_under_captured_output"]
fn child_slow_build() {
    let dockerfile = std::env::var(child::DOCKERFILE).expect("the parent names the Dockerfile");
    let image = Image::Build(BuildSpec::new(dockerfile)).resolve();
    println!("resolved-id={}", image.expect("the slow build succeeds").id);
}

/// Under `cargo test` without `--nocapture` the build's progress is captured; a build that
/// takes longer than a few seconds still writes one line where the user waits.
#[test]
fn a_slow_build_is_visible_under_captured_output() {
    let context = dockside_tests::fixture::temp_context(&format!(
        // The nonce in ENV, not LABEL: ENV is part of the RUN step's cache key, so the step
        // really runs instead of coming from the cache of an earlier run.
        "FROM scratch\nCOPY fixture /fixture\nENV NONCE=\"{}\"\n\
         RUN [\"/fixture\", \"sleep\", \"--ms\", \"6000\"]\n",
        child::nonce()
    ));
    let dockerfile = context.path().join("Dockerfile");
    // The image is named after the temporary folder: nothing else builds from it.
    let mut cleanup = docker_cli::Cleanup::default();
    cleanup
        .labelled
        .push(format!("dockside.dockerfile={}", dockerfile.display()));
    let exe = std::env::current_exe().expect("the test binary knows its path");
    // Not `child::run`: that passes `--nocapture`, and this is about captured output.
    let output = std::process::Command::new(exe)
        .args(["child_slow_build", "--exact", "--ignored"])
        .env(child::DOCKERFILE, &dockerfile)
        .output()
        .expect("run the child test");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("dockside: still building image ") && stderr.contains("after 5."),
        "no note of the slow build in:\n{stderr}"
    );
    // The build's own progress stays captured: only the note passed through.
    assert!(!stderr.contains("dockside: building image"), "{stderr}");
}
