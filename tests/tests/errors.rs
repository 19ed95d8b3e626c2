//! Runtime failures say what happened: the daemon that was tried, the build's own output, the
//! daemon's words for a failed pull — and nothing dockside did not create is overwritten.

use dockside::{BuildSpec, Error, Image};
use dockside_tests::child;
use dockside_tests::docker_cli;
use dockside_tests::fixture::temp_context;
use dockside_tests::owned::after_removal;

fn build(
    context: &tempfile::TempDir,
    tag: Option<String>,
) -> dockside::Result<dockside::ResolvedImage> {
    let mut spec = BuildSpec::new(context.path().join("Dockerfile"));
    spec.tag = tag;
    Image::Build(spec).resolve()
}

#[test]
#[ignore = "run by the tests below in child processes"]
fn child_resolve() {
    child::resolve_from_env();
}

#[test]
fn no_daemon_names_the_socket_and_how_to_start_one() {
    let run = child::run(
        child::RESOLVE,
        &[
            ("DOCKER_HOST", "unix:///tmp/dockside-no-such.sock"),
            (child::REFERENCE, "example.org/anything:1"),
        ],
    );
    let output = run.output();
    assert!(!run.passed());
    assert!(
        output.contains("no docker daemon answered at unix:///tmp/dockside-no-such.sock"),
        "{output}"
    );
    assert!(output.contains("dockerd"), "{output}");
}

#[test]
fn failed_build_reports_the_failing_step_and_its_output() {
    let nonce = child::nonce();
    let context = temp_context(&format!(
        "FROM scratch\nCOPY fixture /fixture\nLABEL nonce=\"{nonce}\"\n\
         RUN [\"/fixture\", \"exit\", \"--code\", \"3\", \"--stdout\", \"output of the failing step\"]\n"
    ));
    let error = build(&context, None).unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, Error::Build { .. }), "{error:?}");
    assert!(
        text.contains(&context.path().join("Dockerfile").display().to_string()),
        "{text}"
    );
    assert!(text.contains("output of the failing step"), "{text}");
    assert!(
        text.contains("exit code: 3") || text.contains("returned a non-zero code: 3"),
        "{text}"
    );
}

#[test]
fn a_missing_file_in_copy_is_the_daemons_words() {
    let context = temp_context(&format!(
        "FROM scratch\nLABEL nonce=\"{}\"\nCOPY no-such-file /x\n",
        child::nonce()
    ));
    let text = build(&context, None).unwrap_err().to_string();
    assert!(text.contains("no-such-file"), "{text}");
}

#[test]
fn failed_pull_carries_the_daemons_words() {
    // Nothing listens on port 1: the daemon's own error says so.
    let error = Image::Pull("127.0.0.1:1/dockside/missing:1".to_owned())
        .resolve()
        .unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, Error::Pull { .. }), "{error:?}");
    assert!(text.contains("127.0.0.1:1/dockside/missing:1"), "{text}");
    // The daemon's own words, naming the address it dialled.
    assert!(
        text.contains("dial tcp 127.0.0.1:1: connect: connection refused"),
        "{text}"
    );
}

/// A reference that cannot be valid fails at once, naming it: the daemon (a proxy counting the
/// requests) is never asked anything.
#[test]
fn invalid_reference_is_refused_before_any_request() {
    use dockside_tests::proxy::{local_daemon_socket, DockerProxy};

    let proxy = DockerProxy::start(&local_daemon_socket()).unwrap();
    let host = proxy.docker_host();
    let run = child::run(
        child::RESOLVE,
        &[("DOCKER_HOST", &host), (child::REFERENCE, "Uppercase/Repo")],
    );
    let output = run.output();
    assert!(!run.passed(), "{output}");
    assert!(
        output.contains("Uppercase/Repo") && output.contains("must be lowercase"),
        "{output}"
    );
    assert_eq!(proxy.requests(), Vec::new(), "requests reached the daemon");
}

#[test]
fn a_remote_frontend_is_refused_with_an_explanation() {
    let context = temp_context(&format!(
        "# syntax=docker/dockerfile:1\nFROM scratch\nLABEL nonce=\"{}\"\n",
        child::nonce()
    ));
    let text = build(&context, None).unwrap_err().to_string();
    assert!(
        text.contains("syntax=docker/dockerfile:1") && text.contains("registry"),
        "{text}"
    );
}

/// A user-named tag that dockside did not build is never overwritten.
#[test]
fn a_foreign_image_at_the_named_tag_is_left_alone() {
    let nonce = child::nonce();
    let tag = format!("dockside-test-foreign-{nonce}:latest");
    // An image without dockside's labels: imported from a tar of the fixture binary.
    let source = temp_context("unused");
    let tarball = source.path().join("rootfs.tar");
    docker_cli::run_ok(
        "tar",
        &[
            "-C",
            &source.path().display().to_string(),
            "-cf",
            &tarball.display().to_string(),
            "fixture",
        ],
    );
    docker_cli::docker_ok(&["import", &tarball.display().to_string(), &tag]);
    let before = docker_cli::inspect(&tag, "{{.Id}}");

    let context = temp_context(&format!(
        "FROM scratch\nCOPY fixture /fixture\nLABEL nonce=\"{nonce}\"\n"
    ));
    let error = build(&context, Some(tag.clone())).unwrap_err();
    assert!(matches!(error, Error::ForeignImage { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .contains(&format!("dockside-test-foreign-{nonce}")),
        "{error}"
    );
    assert_eq!(
        docker_cli::inspect(&tag, "{{.Id}}"),
        before,
        "the foreign image was replaced"
    );
    docker_cli::remove_image(&tag);
}

#[dockside::docker_test(dockerfile = "fixtures/Dockerfile", ports = [8080])]
#[ignore = "run by a_test_without_daemon_fails_or_skips_as_asked"]
fn child_needs_a_container(web: dockside::Container) {
    println!("body ran with {}", web.id());
}

/// Through the attribute: no daemon fails the test naming the host tried, unless the user asked
/// for such tests to be skipped, in which case the body does not run and the test passes.
#[test]
fn a_test_without_daemon_fails_or_skips_as_asked() {
    let nowhere = ("DOCKER_HOST", "unix:///tmp/dockside-no-such.sock");
    let failed = child::run("child_needs_a_container", &[nowhere]);
    assert!(!failed.passed(), "{}", failed.output());
    assert!(
        failed
            .output()
            .contains("no docker daemon answered at unix:///tmp/dockside-no-such.sock"),
        "{}",
        failed.output()
    );

    let skipped = child::run(
        "child_needs_a_container",
        &[nowhere, ("DOCKSIDE_SKIP_WITHOUT_DOCKER", "1")],
    );
    assert!(skipped.passed(), "{}", skipped.output());
    assert!(
        skipped.stderr.contains("skipping") && !skipped.stdout.contains("body ran"),
        "{}",
        skipped.output()
    );
}

#[dockside::docker_test(dockerfile = "fixtures/Dockerfile", cmd = ["sleep"])]
#[ignore = "run by a_dropped_connection_fails_the_test_with_what_was_tried"]
fn child_starts_a_container(app: dockside::Container) {
    println!("body ran with {}", app.id());
}

/// The daemon's connection dropping mid-request (injected by the proxy) fails the test with a
/// message naming what was being done, and leaves no container behind.
#[test]
fn a_dropped_connection_fails_the_test_with_what_was_tried() {
    use dockside_tests::proxy::{local_daemon_socket, DockerProxy, Fault};

    let proxy = DockerProxy::start(&local_daemon_socket()).unwrap();
    proxy.inject(Fault::DropConnection {
        method: "POST".to_owned(),
        path_prefix: "/containers/create".to_owned(),
    });
    let host = proxy.docker_host();
    let run = child::run("child_starts_a_container", &[("DOCKER_HOST", &host)]);
    let output = run.output();
    assert!(!run.passed(), "{output}");
    assert!(!output.contains("body ran"), "{output}");
    assert!(
        output.contains("starting a container from image dockside/fixtures:"),
        "{output}"
    );
    assert_eq!(proxy.count("POST", "/containers/create"), 1);
    let test_label = "dockside.test=errors::child_starts_a_container";
    assert_eq!(
        after_removal(
            || docker_cli::containers_with_label(test_label),
            Vec::is_empty
        ),
        Vec::<String>::new()
    );
}

/// A build whose connection drops reports the Dockerfile and the connection error.
#[test]
fn a_dropped_build_connection_names_the_dockerfile() {
    use dockside_tests::proxy::{local_daemon_socket, DockerProxy, Fault};

    let proxy = DockerProxy::start(&local_daemon_socket()).unwrap();
    proxy.inject(Fault::DropConnection {
        method: "POST".to_owned(),
        path_prefix: "/build".to_owned(),
    });
    let context = temp_context(&format!(
        "FROM scratch\nCOPY fixture /fixture\nLABEL nonce=\"{}\"\n",
        child::nonce()
    ));
    let dockerfile = context.path().join("Dockerfile").display().to_string();
    let host = proxy.docker_host();
    let run = child::run(
        child::RESOLVE,
        &[("DOCKER_HOST", &host), (child::DOCKERFILE, &dockerfile)],
    );
    let output = run.output();
    assert!(!run.passed(), "{output}");
    let failed = format!("building image from {dockerfile} failed: ");
    let why = output
        .lines()
        .find_map(|line| line.split_once(&failed).map(|(_, why)| why))
        .unwrap_or_else(|| panic!("no `{failed}` in:\n{output}"));
    // The OS's words (a reset, or a connection closed mid-request), not only the client's step
    // ("client error (SendRequest)"); and this process had not failed this build before.
    assert!(why.to_lowercase().contains("connection"), "{output}");
    assert!(!why.contains("earlier in this process"), "{output}");
}
