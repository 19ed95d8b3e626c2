//! The pull policy (`pull = "..."`, `DOCKSIDE_PULL`): `always` sees a tag that moved in the
//! registry, once per nextest run across processes; `never` fails on a missing image without
//! asking any registry. Images come from a registry this test starts on loopback.

use dockside::{docker_test, BuildSpec, Container, Image};
use dockside_tests::child::{self, ChildRun};
use dockside_tests::docker_cli::{self, Cleanup};
use dockside_tests::fixture::temp_context;
use dockside_tests::registry::Registry;

#[test]
#[ignore = "run by the tests of this file"]
fn child_resolve() {
    child::resolve_from_env();
}

/// Resolves `reference` in a child as a process of the nextest run `run`.
fn resolve(reference: &str, run: &str, envs: &[(&str, &str)]) -> ChildRun {
    let mut all = vec![(child::REFERENCE, reference), ("NEXTEST_RUN_ID", run)];
    all.extend_from_slice(envs);
    child::run(child::RESOLVE, &all)
}

fn pulled(run: &ChildRun) -> bool {
    run.stderr.contains("dockside: pulling image")
}

#[test]
fn always_pulls_a_moved_tag_once_per_run() {
    let Some(registry) = Registry::start() else {
        return;
    };
    let nonce = child::nonce();
    let (reference, old_id) = registry.publish_fixture(&format!("dockside/moving:{nonce}"));
    let mut cleanup = Cleanup::default();
    cleanup.images.push(reference.clone());
    // The tag moves in the registry to another image, while the local copy stays the old one.
    let context = temp_context(&format!("FROM {reference}\nLABEL nonce=\"{nonce}\"\n"));
    cleanup.labelled.push(format!("nonce={nonce}"));
    let new_id = Image::Build(BuildSpec::new(context.path().join("Dockerfile")))
        .resolve()
        .unwrap()
        .id;
    docker_cli::docker_ok(&["tag", &new_id, &reference]);
    docker_cli::docker_ok(&["push", &reference]);
    docker_cli::docker_ok(&["tag", &old_id, &reference]);

    let missing = resolve(&reference, &format!("run-a-{nonce}"), &[]);
    assert_eq!(
        missing.resolved_id(),
        old_id,
        "`missing` pulled a present image"
    );
    assert!(!pulled(&missing), "{}", missing.stderr);

    let always = [("DOCKSIDE_PULL", "always")];
    let first = resolve(&reference, &format!("run-b-{nonce}"), &always);
    assert_eq!(
        first.resolved_id(),
        new_id,
        "`always` did not see the moved tag"
    );
    assert!(pulled(&first), "{}", first.stderr);

    let again = resolve(&reference, &format!("run-b-{nonce}"), &always);
    assert_eq!(again.resolved_id(), new_id);
    assert!(
        !pulled(&again),
        "a second process of the run pulled again:\n{}",
        again.stderr
    );

    let next_run = resolve(&reference, &format!("run-c-{nonce}"), &always);
    assert_eq!(next_run.resolved_id(), new_id);
    assert!(
        pulled(&next_run),
        "the next run did not pull:\n{}",
        next_run.stderr
    );
}

#[test]
fn never_fails_on_a_missing_image_without_pulling() {
    let Some(registry) = Registry::start() else {
        return;
    };
    let nonce = child::nonce();
    let (reference, _) = registry.publish_fixture(&format!("dockside/never:{nonce}"));

    let run = resolve(&reference, &nonce, &[("DOCKSIDE_PULL", "never")]);
    assert!(!run.passed(), "{}", run.output());
    let output = run.output();
    assert!(
        output.contains(&format!(
            "pulling image {reference} failed: the image is not present locally and the pull \
             policy is `never`"
        )),
        "{output}"
    );
    assert!(!pulled(&run), "{output}");
    assert!(!docker_cli::image_exists(&reference));
}

/// The attribute's `pull = "never"` reaches the runtime: no registry is asked for the image.
#[docker_test(image = "dockside/pull-policy-test:never-present", pull = "never")]
#[ignore = "run by the_attribute_policy_reaches_the_runtime"]
fn child_never(_c: Container) {}

#[test]
fn the_attribute_policy_reaches_the_runtime() {
    let run = child::run("child_never", &[("DOCKSIDE_PULL", "always")]);
    assert!(!run.passed(), "{}", run.output());
    assert!(
        run.output()
            .contains("the image is not present locally and the pull policy is `never`"),
        "{}",
        run.output()
    );
}
