//! Pulls from a password-protected registry on loopback (Debian's `docker-registry` with an
//! htpasswd file), with the credential where users and CI keep it: a Docker config written by
//! `docker login`, `DOCKER_AUTH_CONFIG`, a credential helper on `PATH`. Each pull runs in a child
//! process with its own environment, and everything it prints is searched for the secret.

use std::path::Path;
use std::process::Command;

use dockside_tests::child::{self, ChildRun};
use dockside_tests::docker_cli::{self, Cleanup};
use dockside_tests::fixture::temp_context;
use dockside_tests::registry::{Login, Registry};

const USER: &str = "dockside-ci";

#[test]
#[ignore = "run by the tests of this file"]
fn child_resolve() {
    child::resolve_from_env();
}

/// A protected registry serving a freshly pushed fixture image, and what the tests need to
/// point a child at it.
struct Setup {
    registry: Registry,
    password: String,
    reference: String,
    id: String,
    /// An empty folder to use as `DOCKER_CONFIG`, so the user's own config is never read.
    config: tempfile::TempDir,
    cleanup: Cleanup,
}

impl Setup {
    fn new() -> Option<Setup> {
        let password = format!("pw-{}", child::nonce());
        let registry = Registry::start_protected(Login {
            user: USER,
            password: &password,
        })?;
        let (reference, id) =
            registry.publish_fixture(&format!("dockside/private:{}", child::nonce()));
        let mut cleanup = Cleanup::default();
        cleanup.images.push(reference.clone());
        Some(Setup {
            registry,
            password,
            reference: reference.clone(),
            id,
            config: tempfile::tempdir().unwrap(),
            cleanup,
        })
    }

    fn config_dir(&self) -> String {
        self.config.path().display().to_string()
    }

    /// Pulls the pushed image in a child with `envs` (`DOCKER_CONFIG` is the empty folder and
    /// `DOCKER_AUTH_CONFIG` unset unless `envs` says otherwise).
    fn pull(&self, envs: &[(&str, &str)]) -> ChildRun {
        let config = self.config_dir();
        let mut all = vec![
            ("DOCKER_CONFIG", config.as_str()),
            ("DOCKER_AUTH_CONFIG", ""),
            (child::REFERENCE, self.reference.as_str()),
        ];
        all.extend_from_slice(envs);
        child::run(child::RESOLVE, &all)
    }

    /// Fails if anything the child printed holds the password, alone or encoded as in `auth`.
    fn assert_no_secret(&self, run: &ChildRun, also: &str) {
        let output = run.output();
        for secret in [
            self.password.as_str(),
            &base64(&format!("{USER}:{}", self.password)),
            also,
        ] {
            assert!(
                !output.contains(secret),
                "the output shows the secret {secret}:\n{output}"
            );
        }
    }
}

/// `text` in base64, as `config.json` keeps `user:password`, by coreutils' `base64`.
fn base64(text: &str) -> String {
    let output = Command::new("sh")
        .args(["-c", "printf %s \"$1\" | base64 -w0", "sh", text])
        .output()
        .expect("run base64");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

#[test]
fn credentials_written_by_docker_login_are_used() {
    let Some(setup) = Setup::new() else { return };
    setup.registry.docker_login(setup.config.path());

    let run = setup.pull(&[]);
    assert_eq!(run.resolved_id(), setup.id);
    setup.assert_no_secret(&run, &setup.password);
}

#[test]
fn docker_auth_config_is_used() {
    let Some(setup) = Setup::new() else { return };
    let auth_config = format!(
        r#"{{"auths": {{"{}": {{"auth": "{}"}}}}}}"#,
        setup.registry.address,
        base64(&format!("{USER}:{}", setup.password))
    );

    let run = setup.pull(&[("DOCKER_AUTH_CONFIG", &auth_config)]);
    assert_eq!(run.resolved_id(), setup.id);
    setup.assert_no_secret(&run, &setup.password);
}

/// `credHelpers` names a helper for this registry: `docker-credential-<name> get` is run with
/// the registry on stdin, as the Docker CLI runs it, and its answer is the credential.
#[test]
fn a_credential_helper_on_path_is_run() {
    let Some(setup) = Setup::new() else { return };
    let bin = tempfile::tempdir().unwrap();
    let helper = bin.path().join("docker-credential-dockside-test");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\nread -r server\n[ \"$1\" = get ] && [ \"$server\" = '{}' ] || exit 3\n\
             printf '{{\"ServerURL\":\"%s\",\"Username\":\"{USER}\",\"Secret\":\"{}\"}}' \"$server\"\n",
            setup.registry.address, setup.password
        ),
    )
    .unwrap();
    make_executable(&helper);
    std::fs::write(
        setup.config.path().join("config.json"),
        format!(
            r#"{{"credHelpers": {{"{}": "dockside-test"}}}}"#,
            setup.registry.address
        ),
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );

    let run = setup.pull(&[("PATH", &path)]);
    assert_eq!(run.resolved_id(), setup.id);
    setup.assert_no_secret(&run, &setup.password);
}

#[test]
fn a_missing_credential_names_the_registry_and_where_it_looked() {
    let Some(setup) = Setup::new() else { return };

    let run = setup.pull(&[]);
    assert!(
        !run.passed(),
        "pulled without a credential:\n{}",
        run.output()
    );
    let output = run.output();
    let config_file = setup.config.path().join("config.json");
    for expected in [
        format!("pulling image {} failed", setup.reference),
        "no basic auth credentials".to_owned(),
        format!(
            "for registry {}, no credential was found",
            setup.registry.address
        ),
        "DOCKER_AUTH_CONFIG (not set)".to_owned(),
        format!("{} (no such file)", config_file.display()),
    ] {
        assert!(output.contains(&expected), "no `{expected}` in:\n{output}");
    }
}

#[test]
fn a_wrong_password_fails_without_showing_it() {
    let Some(setup) = Setup::new() else { return };
    let wrong = format!("wrong-{}", child::nonce());
    let auth_config = format!(
        r#"{{"auths": {{"{}": {{"auth": "{}"}}}}}}"#,
        setup.registry.address,
        base64(&format!("{USER}:{wrong}"))
    );

    let run = setup.pull(&[("DOCKER_AUTH_CONFIG", &auth_config)]);
    assert!(
        !run.passed(),
        "pulled with a wrong password:\n{}",
        run.output()
    );
    let output = run.output();
    for expected in [
        format!("pulling image {} failed", setup.reference),
        format!(
            "for registry {}, the password of user `{USER}` was sent",
            setup.registry.address
        ),
        "DOCKER_AUTH_CONFIG (used)".to_owned(),
    ] {
        assert!(output.contains(&expected), "no `{expected}` in:\n{output}");
    }
    setup.assert_no_secret(&run, &wrong);
    assert!(
        !output.contains(&base64(&format!("{USER}:{wrong}"))),
        "{output}"
    );
}

/// A `FROM` base in the protected registry is pulled before the build with the same credential.
#[test]
fn a_private_base_image_is_pulled_before_the_build() {
    let Some(mut setup) = Setup::new() else {
        return;
    };
    setup.registry.docker_login(setup.config.path());
    let nonce = child::nonce();
    let context = temp_context(&format!(
        "FROM {}\nLABEL nonce=\"{nonce}\"\n",
        setup.reference
    ));
    setup.cleanup.labelled.push(format!("nonce={nonce}"));
    let config = setup.config_dir();

    let run = child::resolve_dockerfile(
        &context.path().join("Dockerfile"),
        &[("DOCKER_CONFIG", &config), ("DOCKER_AUTH_CONFIG", "")],
    );
    run.resolved_id();
    assert!(
        docker_cli::image_exists(&setup.reference),
        "the base {} was not pulled",
        setup.reference
    );
    setup.assert_no_secret(&run, &setup.password);
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}
