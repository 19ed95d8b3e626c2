//! The build pipeline end to end against the real daemon: what the context sends (symlinks kept,
//! `.dockerignore` honoured, nothing from outside the context), what counts as a change, stages,
//! build args and `ARG`-named bases, the classic builder, a context apart from the Dockerfile, and
//! pruning stale images. Image content is checked through the `docker` CLI, not dockside's code.

use std::fs;

use dockside::{BuildSpec, Image, ResolvedImage};
use dockside_tests::child;
use dockside_tests::docker_cli::{self, docker_ok, Cleanup};
use dockside_tests::fixture::temp_context;
use dockside_tests::proxy::{local_daemon_socket, DockerProxy, Fault};

#[test]
#[ignore = "run by the tests below in child processes"]
fn child_resolve() {
    child::resolve_from_env();
}

fn resolve(spec: BuildSpec, cleanup: &mut Cleanup) -> ResolvedImage {
    let resolved = Image::Build(spec)
        .resolve()
        .unwrap_or_else(|e| panic!("{e}"));
    cleanup.images.push(resolved.id.clone());
    resolved
}

/// The paths and link targets (`tar -tv` lines) and the raw bytes of the image's filesystem.
fn image_files(image: &str, cleanup: &mut Cleanup) -> (String, Vec<u8>) {
    let container = docker_ok(&["create", image, "/fixture"]);
    cleanup.containers.push(container.clone());
    let dir = tempfile::tempdir().unwrap();
    let tar = dir.path().join("fs.tar");
    let tar = tar.to_str().unwrap();
    docker_ok(&["export", "--output", tar, &container]);
    let listing = docker_cli::run_ok("tar", &["-tvf", tar]);
    (listing, fs::read(tar).unwrap())
}

fn listing_line<'a>(listing: &'a str, path: &str) -> Option<&'a str> {
    listing.lines().find(|l| {
        l.contains(&format!(" {path}")) && l.split(" -> ").next().unwrap().ends_with(path)
    })
}

#[test]
fn context_keeps_symlinks_skips_ignored_files_and_nothing_from_outside() {
    let nonce = child::nonce();
    let mut cleanup = Cleanup::default();
    let context = temp_context(&format!(
        "FROM scratch\nCOPY fixture /fixture\nCOPY data/ /data/\nLABEL nonce=\"{nonce}\"\nENTRYPOINT [\"/fixture\"]\n"
    ));
    let outside = tempfile::tempdir().unwrap();
    let secret = format!("outside-secret-{nonce}");
    fs::write(outside.path().join("secret.txt"), &secret).unwrap();
    let data = context.path().join("data");
    fs::create_dir(&data).unwrap();
    let inside = format!("inside-content-{nonce}");
    fs::write(data.join("file.txt"), &inside).unwrap();
    let ignored = format!("ignored-content-{nonce}");
    fs::write(data.join("ignored.txt"), &ignored).unwrap();
    std::os::unix::fs::symlink("file.txt", data.join("link")).unwrap();
    let outside_target = outside.path().join("secret.txt");
    std::os::unix::fs::symlink(&outside_target, data.join("outside-link")).unwrap();
    fs::write(context.path().join(".dockerignore"), "data/ignored.txt\n").unwrap();

    let image = resolve(
        BuildSpec::new(context.path().join("Dockerfile")),
        &mut cleanup,
    );
    let (listing, bytes) = image_files(&image.id, &mut cleanup);
    let contains = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());

    assert!(
        listing_line(&listing, "data/file.txt").is_some(),
        "{listing}"
    );
    assert!(contains(&inside), "the used file's content is in the image");
    assert!(
        listing_line(&listing, "data/ignored.txt").is_none(),
        "ignored file in the image:\n{listing}"
    );
    assert!(
        !contains(&ignored),
        "the ignored file's content is in the image"
    );
    let link =
        listing_line(&listing, "data/link").unwrap_or_else(|| panic!("no data/link:\n{listing}"));
    assert!(
        link.starts_with('l') && link.ends_with("data/link -> file.txt"),
        "{link}"
    );
    let out_link =
        listing_line(&listing, "data/outside-link").unwrap_or_else(|| panic!("{listing}"));
    let expected = format!("data/outside-link -> {}", outside_target.display());
    assert!(
        out_link.starts_with('l') && out_link.ends_with(&expected),
        "{out_link}"
    );
    assert!(
        !contains(&secret),
        "content from outside the context made it into the image"
    );
}

#[test]
fn an_ignored_change_builds_nothing_and_a_used_change_builds_once() {
    let nonce = child::nonce();
    let mut cleanup = Cleanup::default();
    let context = temp_context(&format!(
        "FROM scratch\nCOPY fixture /fixture\nCOPY used.txt /used.txt\nLABEL nonce=\"{nonce}\"\n"
    ));
    fs::write(context.path().join("used.txt"), "v1").unwrap();
    fs::write(context.path().join("ignored.txt"), "v1").unwrap();
    fs::write(context.path().join(".dockerignore"), "ignored.txt\n").unwrap();
    let dockerfile = context.path().join("Dockerfile");
    let proxy = DockerProxy::start(&local_daemon_socket()).unwrap();
    let host = proxy.docker_host();
    let envs = [("DOCKER_HOST", host.as_str())];

    let first = child::resolve_dockerfile(&dockerfile, &envs).resolved_id();
    cleanup.images.push(first.clone());
    assert_eq!(proxy.count("POST", "/build"), 1, "a new context");

    proxy.reset();
    fs::write(context.path().join("ignored.txt"), "v2").unwrap();
    let after_ignored = child::resolve_dockerfile(&dockerfile, &envs).resolved_id();
    assert_eq!(
        proxy.count("POST", "/build"),
        0,
        "a change to an ignored file"
    );
    assert_eq!(after_ignored, first);

    proxy.reset();
    fs::write(context.path().join("used.txt"), "v2").unwrap();
    let after_used = child::resolve_dockerfile(&dockerfile, &envs).resolved_id();
    cleanup.images.push(after_used.clone());
    assert_eq!(proxy.count("POST", "/build"), 1, "a change to a used file");
    assert_ne!(after_used, first);
}

#[test]
fn each_target_of_a_multi_stage_dockerfile_is_its_own_image() {
    let nonce = child::nonce();
    let mut cleanup = Cleanup::default();
    let context = temp_context(&format!(
        "FROM scratch AS one\nCOPY fixture /fixture\nLABEL nonce=\"{nonce}\" stage=\"one\"\n\
         FROM one AS two\nLABEL stage=\"two\"\n"
    ));
    let spec = |target: &str| {
        let mut spec = BuildSpec::new(context.path().join("Dockerfile"));
        spec.target = Some(target.to_owned());
        spec
    };
    let one = resolve(spec("one"), &mut cleanup);
    let two = resolve(spec("two"), &mut cleanup);
    assert_ne!(one.id, two.id);
    assert_ne!(one.reference, two.reference);
    assert_eq!(
        docker_cli::inspect(&one.id, "{{index .Config.Labels \"stage\"}}"),
        "one"
    );
    assert_eq!(
        docker_cli::inspect(&two.id, "{{index .Config.Labels \"stage\"}}"),
        "two"
    );
    assert_eq!(docker_cli::inspect(&one.reference, "{{.Id}}"), one.id);
    assert_eq!(docker_cli::inspect(&two.reference, "{{.Id}}"), two.id);
}

/// A changed build arg is a new tag, and `FROM ${BASE}` with BASE a build arg naming a local
/// image builds on that image without a pull (there is no registry: a pull would fail).
#[test]
fn build_args_change_the_tag_and_name_a_local_base() {
    let nonce = child::nonce();
    let mut cleanup = Cleanup::default();
    let base_context = temp_context(&format!(
        "FROM scratch\nCOPY fixture /fixture\nLABEL nonce=\"{nonce}\" base=\"yes\"\n"
    ));
    let base = resolve(
        BuildSpec::new(base_context.path().join("Dockerfile")),
        &mut cleanup,
    );
    let base_tag = format!("dockside-test-base-{nonce}:1");
    docker_ok(&["tag", &base.id, &base_tag]);
    cleanup.images.push(base_tag.clone());

    let context =
        temp_context("ARG BASE\nFROM ${BASE}\nARG GREETING\nLABEL greeting=\"${GREETING}\"\n");
    let spec = |greeting: &str| {
        let mut spec = BuildSpec::new(context.path().join("Dockerfile"));
        spec.build_args = vec![
            ("BASE".to_owned(), base_tag.clone()),
            ("GREETING".to_owned(), greeting.to_owned()),
        ];
        spec
    };
    let hello = resolve(spec("hello"), &mut cleanup);
    let bye = resolve(spec("bye"), &mut cleanup);
    assert_ne!(
        hello.reference, bye.reference,
        "a changed build arg must be a new tag"
    );
    assert_ne!(hello.id, bye.id);
    assert_eq!(
        docker_cli::inspect(&hello.id, "{{index .Config.Labels \"greeting\"}}"),
        "hello"
    );
    assert_eq!(
        docker_cli::inspect(&bye.id, "{{index .Config.Labels \"greeting\"}}"),
        "bye"
    );
    // Built on the base: its label is inherited.
    assert_eq!(
        docker_cli::inspect(&hello.id, "{{index .Config.Labels \"base\"}}"),
        "yes"
    );
}

#[test]
fn classic_builder_failure_carries_the_steps_output() {
    let nonce = child::nonce();
    let context = temp_context(&format!(
        "FROM scratch\nCOPY fixture /fixture\nLABEL nonce=\"{nonce}\"\n\
         RUN [\"/fixture\", \"exit\", \"--code\", \"3\", \"--stdout\", \"output of the classic step\"]\n"
    ));
    let mut cleanup = Cleanup::default();
    cleanup.labelled.push(format!("nonce={nonce}"));
    let run = child::resolve_dockerfile(
        &context.path().join("Dockerfile"),
        &[("DOCKER_BUILDKIT", "0")],
    );
    let output = run.output();
    assert!(!run.passed(), "{output}");
    assert!(
        output.contains("building with the classic builder: DOCKER_BUILDKIT=0"),
        "{output}"
    );
    assert!(output.contains("output of the classic step"), "{output}");
    assert!(output.contains("returned a non-zero code: 3"), "{output}");
}

/// Builds a new Dockerfile in a child through a proxy with `fault` and `envs`, and checks the
/// daemon was asked for the classic builder: `version=1`, no BuildKit session.
fn assert_builds_with_classic_builder(fault: Fault, envs: &[(&str, &str)]) {
    let nonce = child::nonce();
    let context = temp_context(&format!(
        "FROM scratch\nCOPY fixture /fixture\nLABEL nonce=\"{nonce}\"\n\
         RUN [\"/fixture\", \"exit\", \"--code\", \"0\"]\n"
    ));
    let proxy = DockerProxy::start(&local_daemon_socket()).unwrap();
    proxy.inject(fault);
    let host = proxy.docker_host();
    let mut all = vec![("DOCKER_HOST", host.as_str())];
    all.extend_from_slice(envs);
    let mut cleanup = Cleanup::default();
    cleanup.labelled.push(format!("nonce={nonce}"));
    let run = child::resolve_dockerfile(&context.path().join("Dockerfile"), &all);
    let id = run.resolved_id();
    proxy.assert_one_classic_build();
    assert!(
        run.stderr.contains("building with the classic builder"),
        "{}",
        run.stderr
    );
    assert_eq!(
        docker_cli::inspect(&id, "{{index .Config.Labels \"nonce\"}}"),
        nonce
    );
}

#[test]
fn classic_builder_is_asked_for_when_buildkit_is_off() {
    assert_builds_with_classic_builder(Fault::None, &[("DOCKER_BUILDKIT", "0")]);
}

/// A daemon that says it is Podman (the proxy answers `/version` for it; everything else reaches
/// the real daemon) gets the classic builder without any setting.
#[test]
fn a_daemon_without_buildkit_is_detected() {
    let podman = r#"{"Platform":{"Name":"Podman Engine"},"Components":[{"Name":"Podman Engine","Version":"4.3.1"}],"Version":"4.3.1","ApiVersion":"1.41","MinAPIVersion":"1.24","Os":"linux","Arch":"amd64"}"#;
    let fault = Fault::Respond {
        method: "GET".to_owned(),
        path_prefix: "/version".to_owned(),
        json: podman.to_owned(),
    };
    assert_builds_with_classic_builder(fault, &[]);
}

#[test]
fn a_context_apart_from_the_dockerfile_folder_builds() {
    let nonce = child::nonce();
    let mut cleanup = Cleanup::default();
    let context = temp_context("this Dockerfile is not the one built\n");
    fs::write(context.path().join("only-in-context.txt"), &nonce).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let dockerfile = elsewhere.path().join("Dockerfile");
    fs::write(
        &dockerfile,
        format!("FROM scratch\nCOPY fixture /fixture\nCOPY only-in-context.txt /x.txt\nLABEL nonce=\"{nonce}\"\n"),
    )
    .unwrap();
    let mut spec = BuildSpec::new(&dockerfile);
    spec.context = context.path().to_owned();
    let image = resolve(spec, &mut cleanup);
    assert_eq!(
        docker_cli::inspect(&image.id, "{{index .Config.Labels \"nonce\"}}"),
        nonce
    );
    let (listing, bytes) = image_files(&image.id, &mut cleanup);
    assert!(listing_line(&listing, "x.txt").is_some(), "{listing}");
    assert!(bytes.windows(nonce.len()).any(|w| w == nonce.as_bytes()));
}

/// Prune removes only this Dockerfile's stale dockside images: not the current one, not one a
/// container uses, not one without dockside's `managed` label even if it names the Dockerfile.
#[test]
fn prune_removes_only_stale_unused_dockside_images_of_the_dockerfile() {
    let nonce = child::nonce();
    let mut cleanup = Cleanup::default();
    let text = |version: u32| {
        format!(
            "FROM scratch\nCOPY fixture /fixture\nLABEL nonce=\"{nonce}\" version=\"{version}\"\n"
        )
    };
    let context = temp_context(&text(1));
    let dockerfile = context.path().join("Dockerfile");
    let mut built = Vec::new();
    for version in 1..=3 {
        fs::write(&dockerfile, text(version)).unwrap();
        let id = child::resolve_dockerfile(&dockerfile, &[]).resolved_id();
        cleanup.images.push(id.clone());
        built.push(id);
    }
    let (v1, v2, v3) = (&built[0], &built[1], &built[2]);
    let user = docker_ok(&["create", v2, "/fixture"]);
    cleanup.containers.push(user);

    let tar_dir = tempfile::tempdir().unwrap();
    let tar = tar_dir.path().join("foreign.tar");
    docker_cli::run_ok(
        "tar",
        &[
            "-cf",
            tar.to_str().unwrap(),
            "-C",
            context.path().to_str().unwrap(),
            "fixture",
        ],
    );
    let foreign_tag = format!("dockside-test-foreign-{nonce}:1");
    let label = format!("LABEL dockside.dockerfile={}", dockerfile.display());
    let foreign = docker_ok(&[
        "import",
        "--change",
        &label,
        tar.to_str().unwrap(),
        &foreign_tag,
    ]);
    cleanup.images.push(foreign_tag.clone());

    let removed =
        dockside::image::prune(&BuildSpec::new(&dockerfile)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(removed, [v1.as_str()]);
    assert!(!docker_cli::image_exists(v1), "the stale image is gone");
    assert!(
        docker_cli::image_exists(v2),
        "an image a container uses stays"
    );
    assert!(docker_cli::image_exists(v3), "the current image stays");
    assert!(
        docker_cli::image_exists(&foreign),
        "an image without dockside's label stays"
    );
    assert!(docker_cli::image_exists(&foreign_tag));
}
