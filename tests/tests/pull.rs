//! `image = "..."` alone pulls a missing image, from a registry this test starts on loopback
//! (Debian's `docker-registry`), so the suite needs no public registry.

use std::time::{Duration, Instant};

use dockside::{BuildSpec, Image};
use dockside_tests::child;
use dockside_tests::docker_cli;
use dockside_tests::proxy::{local_daemon_socket, DockerProxy, Fault};
use dockside_tests::registry::Registry;

#[test]
fn a_missing_image_is_pulled() {
    let Some(registry) = Registry::start() else {
        return;
    };
    let (reference, base_id) =
        registry.publish_fixture(&format!("dockside/pulled:{}", child::nonce()));

    let pulled = Image::Pull(reference.clone()).resolve().unwrap();
    assert!(
        docker_cli::image_exists(&reference),
        "{reference} was not pulled"
    );
    assert_eq!(pulled.id, base_id);
    docker_cli::docker_ok(&["image", "rm", &reference]);
}

#[test]
fn a_missing_tag_is_the_registrys_words() {
    let Some(registry) = Registry::start() else {
        return;
    };
    let reference = format!("{}/dockside/never-pushed:1", registry.address);
    let error = Image::Pull(reference.clone())
        .resolve()
        .unwrap_err()
        .to_string();
    assert!(error.contains(&reference), "{error}");
    assert!(
        error.contains("not found") || error.contains("unknown"),
        "{error}"
    );
}

/// A `FROM` base missing locally is pulled before the build: BuildKit cannot fetch it on its own
/// without registry credentials from a session.
#[test]
fn a_missing_base_image_is_pulled_before_the_build() {
    let Some(registry) = Registry::start() else {
        return;
    };
    let (base_ref, _) = registry.publish_fixture(&format!("dockside/base:{}", child::nonce()));

    let context = dockside_tests::fixture::temp_context(&format!(
        "ARG BASE={base_ref}\nFROM ${{BASE}}\nLABEL nonce=\"{}\"\n",
        child::nonce()
    ));
    let built = Image::Build(BuildSpec::new(context.path().join("Dockerfile")))
        .resolve()
        .unwrap();
    assert!(
        docker_cli::image_exists(&base_ref),
        "the base {base_ref} was not pulled"
    );
    assert_eq!(
        docker_cli::inspect(&built.id, "{{index .Config.Entrypoint 0}}"),
        "/fixture"
    );
    docker_cli::remove_image(&built.id);
    docker_cli::docker_ok(&["image", "rm", &base_ref]);
}

/// A pull whose stream stalls after the daemon's first answer (a registry that stopped
/// answering) ends at `DOCKSIDE_IMAGE_TIMEOUT`, naming the image and the variable. The stall is
/// made by the proxy, past the response headers, where bollard's request timeout no longer
/// applies; the child is killed if it still waits after 60 s.
#[test]
fn a_stalled_pull_ends_at_the_image_timeout() {
    let Some(registry) = Registry::start() else {
        return;
    };
    let (reference, _) = registry.publish_fixture(&format!("dockside/stalled:{}", child::nonce()));
    let proxy = DockerProxy::start(&local_daemon_socket()).unwrap();
    proxy.inject(Fault::StallBody {
        method: "POST".to_owned(),
        path_prefix: "/images/create".to_owned(),
    });
    let host = proxy.docker_host();
    let started = Instant::now();
    let mut spawned = child::spawn(
        child::RESOLVE,
        &[
            ("DOCKER_HOST", host.as_str()),
            (child::REFERENCE, reference.as_str()),
            ("DOCKSIDE_IMAGE_TIMEOUT", "3s"),
        ],
    );
    while spawned.try_wait().expect("poll the child").is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = spawned.kill();
            let run = child::finish(spawned);
            panic!(
                "the pull still waited after 60 s; killed it:\n{}",
                run.output()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let elapsed = started.elapsed();
    let run = child::finish(spawned);
    // The daemon may finish the pull on its own once asked; nothing may keep the image.
    if docker_cli::image_exists(&reference) {
        docker_cli::docker_ok(&["image", "rm", &reference]);
    }
    let output = run.output();
    assert!(!run.passed(), "the child passed:\n{output}");
    assert_eq!(proxy.count("POST", "/images/create"), 1, "{output}");
    assert!(
        output.contains(&format!(
            "pulling image {reference} did not finish within 3s; \
             DOCKSIDE_IMAGE_TIMEOUT sets this limit"
        )),
        "{output}"
    );
    assert!(elapsed < Duration::from_secs(30), "{elapsed:?}:\n{output}");
}

#[test]
#[ignore = "run by the tests that resolve an image in a fresh process"]
fn child_resolve() {
    child::resolve_from_env();
}

/// With `DOCKSIDE_REGISTRY_MIRROR`, a Docker Hub name is pulled from the mirror and tagged with
/// the name the test used; a second resolve finds it there and pulls nothing.
#[test]
fn docker_hub_images_come_from_the_mirror() {
    let Some(registry) = Registry::start() else {
        return;
    };
    let name = format!("dockside-mirror-test:{}", child::nonce());
    let (on_mirror, base_id) = registry.publish_fixture(&format!("library/{name}"));
    assert!(!docker_cli::image_exists(&name));

    let envs = [
        ("DOCKSIDE_REGISTRY_MIRROR", registry.address.as_str()),
        (child::REFERENCE, name.as_str()),
    ];
    let first = child::run(child::RESOLVE, &envs);
    assert!(first.passed(), "{}", first.output());
    assert!(
        first.stderr.contains(&format!("pulling image {on_mirror}")),
        "{}",
        first.stderr
    );
    assert_eq!(
        docker_cli::inspect(&name, "{{.Id}}"),
        base_id,
        "{name} is not the mirrored image"
    );

    let second = child::run(child::RESOLVE, &envs);
    assert!(second.passed(), "{}", second.output());
    assert!(
        !second.stderr.contains("pulling image"),
        "{}",
        second.stderr
    );
    for tag in [&name, &on_mirror] {
        docker_cli::docker_ok(&["image", "rm", tag]);
    }
}

/// Pushes an image of `layers` layers of 1 MB of fresh random bytes each (plus the fixture) to
/// `registry` and removes it locally, so resolving the returned reference must pull it.
fn publish_layers(registry: &Registry, layers: usize) -> String {
    let mut dockerfile = "FROM scratch\nCOPY fixture /fixture\n".to_owned();
    let context = dockside_tests::fixture::temp_context("");
    for layer in 0..layers {
        let path = context.path().join(format!("layer{layer}"));
        let mut bytes = vec![0u8; 1_000_000];
        use std::io::Read;
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut bytes))
            .unwrap();
        std::fs::write(&path, bytes).unwrap();
        dockerfile.push_str(&format!("COPY layer{layer} /layer{layer}\n"));
    }
    std::fs::write(context.path().join("Dockerfile"), dockerfile).unwrap();
    let reference = format!("{}/dockside/layers:{}", registry.address, child::nonce());
    let dir = context.path().display().to_string();
    docker_cli::docker_ok(&["build", "--quiet", "--tag", &reference, &dir]);
    docker_cli::docker_ok(&["push", &reference]);
    docker_cli::docker_ok(&["image", "rm", &reference]);
    reference
}

/// The progress lines a pull printed, with the seconds each says the pull had taken.
fn progress_lines(stderr: &str, reference: &str) -> Vec<(String, f64)> {
    let prefix = format!("dockside: pulling {reference}: ");
    stderr
        .lines()
        .filter(|line| line.starts_with(&prefix))
        .map(|line| {
            let seconds = line
                .rsplit_once('(')
                .and_then(|(_, s)| s.strip_suffix("s)"))
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("no elapsed time in {line:?}"));
            (line.to_owned(), seconds)
        })
        .collect()
}

/// A pull that takes seconds (the proxy relays the daemon's progress messages slowly) shows on
/// stderr how many layers and bytes are done, naming the image, at most once a second and not
/// in its first second; a fast pull from the loopback registry shows none.
#[test]
fn a_long_pull_shows_its_progress_at_most_once_a_second() {
    let Some(registry) = Registry::start() else {
        return;
    };
    let slow = publish_layers(&registry, 4);
    let proxy = DockerProxy::start(&local_daemon_socket()).unwrap();
    proxy.inject(Fault::ThrottleBody {
        method: "POST".to_owned(),
        path_prefix: "/images/create".to_owned(),
        per_chunk: Duration::from_millis(150),
    });
    let host = proxy.docker_host();
    let started = Instant::now();
    let run = child::run(
        child::RESOLVE,
        &[("DOCKER_HOST", host.as_str()), (child::REFERENCE, &slow)],
    );
    let took = started.elapsed();
    docker_cli::remove_image(&slow);
    assert!(run.passed(), "{}", run.output());
    let lines = progress_lines(&run.stderr, &slow);
    assert!(
        lines.len() >= 2,
        "a pull of {took:?} printed {} progress lines:\n{}",
        lines.len(),
        run.stderr
    );
    // Measured here, not taken from the lines: no more lines than whole seconds the child ran.
    assert!(
        lines.len() as u64 <= took.as_secs(),
        "{} lines in {took:?}:\n{}",
        lines.len(),
        run.stderr
    );
    assert!(lines[0].1 >= 1.0, "{}", run.stderr);
    for pair in lines.windows(2) {
        assert!(pair[1].1 - pair[0].1 >= 0.95, "{}", run.stderr);
    }
    assert!(
        lines
            .iter()
            .all(|(line, _)| line.contains(" layers, ") && line.contains(" MB of ")),
        "{}",
        run.stderr
    );

    let (fast, _) = registry.publish_fixture(&format!("dockside/fast:{}", child::nonce()));
    let run = child::run(child::RESOLVE, &[(child::REFERENCE, fast.as_str())]);
    docker_cli::remove_image(&fast);
    assert!(run.passed(), "{}", run.output());
    assert!(run.stderr.contains("pulling image"), "{}", run.stderr);
    assert_eq!(
        progress_lines(&run.stderr, &fast),
        Vec::new(),
        "{}",
        run.stderr
    );
}
