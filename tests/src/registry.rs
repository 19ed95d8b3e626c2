//! A registry the suite starts on loopback (Debian's `docker-registry`), optionally protected by
//! a password (apache2-utils' `htpasswd`), so pull tests need no public registry.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use dockside::{BuildSpec, Image};

use crate::docker_cli;
use crate::fixture::base_dockerfile;

/// A user and password the protected registry accepts.
#[derive(Clone, Copy)]
pub struct Login<'a> {
    pub user: &'a str,
    pub password: &'a str,
}

/// A registry on 127.0.0.1 (which the daemon treats as an insecure registry), stopped on drop.
pub struct Registry {
    process: Child,
    /// `127.0.0.1:PORT`, the registry part of the references it serves.
    pub address: String,
    login: Option<(String, String)>,
    storage: tempfile::TempDir,
}

impl Registry {
    /// An open registry; `None` when the registry program is not installed and the run does not
    /// require it.
    pub fn start() -> Option<Registry> {
        Self::start_with(None)
    }

    /// A registry that serves only `login`; `None` when `docker-registry` or `htpasswd` is not
    /// installed and the run does not require them.
    pub fn start_protected(login: Login<'_>) -> Option<Registry> {
        if !crate::require::program(
            "htpasswd",
            "DOCKSIDE_TEST_REQUIRE_REGISTRY",
            "apache2-utils",
        ) {
            return None;
        }
        Self::start_with(Some(login))
    }

    fn start_with(login: Option<Login<'_>>) -> Option<Registry> {
        let program = "docker-registry";
        if !crate::require::program(program, "DOCKSIDE_TEST_REQUIRE_REGISTRY", "docker-registry") {
            return None;
        }
        let port = crate::net::free_loopback_port();
        let storage = tempfile::tempdir().unwrap();
        let config = storage.path().join("config.yml");
        let mut yaml = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
            storage.path().join("data").display()
        );
        if let Some(login) = login {
            let htpasswd = storage.path().join("htpasswd");
            let line = crate::docker_cli::run_ok("htpasswd", &["-Bbn", login.user, login.password]);
            std::fs::write(&htpasswd, format!("{}\n", line.trim())).unwrap();
            yaml.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: dockside\n    path: {}\n",
                htpasswd.display()
            ));
        }
        std::fs::write(&config, yaml).unwrap();
        let process = Command::new(program)
            .args(["serve", &config.display().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let registry = Registry {
            process,
            address: format!("127.0.0.1:{port}"),
            login: login.map(|l| (l.user.to_owned(), l.password.to_owned())),
            storage,
        };
        crate::net::wait_until_listening(port, "the registry");
        Some(registry)
    }

    /// Pushes the fixture base image to this registry as `path` and returns the full reference
    /// (then absent locally, so resolving it must pull) and the image ID. A protected registry
    /// is pushed to with the `docker` CLI logged in through a Docker config of its own, so the
    /// user's config is never touched.
    pub fn publish_fixture(&self, path: &str) -> (String, String) {
        let base = Image::Build(BuildSpec::new(base_dockerfile()))
            .resolve()
            .unwrap();
        let reference = format!("{}/{path}", self.address);
        docker_cli::docker_ok(&["tag", &base.id, &reference]);
        match &self.login {
            None => {
                docker_cli::docker_ok(&["push", &reference]);
            }
            Some(_) => {
                let config = self.storage.path().join("pusher");
                self.docker_login(&config);
                let config = config.display().to_string();
                docker_cli::docker_ok(&["--config", &config, "push", &reference]);
            }
        }
        docker_cli::docker_ok(&["image", "rm", &reference]);
        assert!(!docker_cli::image_exists(&reference));
        (reference, base.id)
    }

    /// Runs `docker login` for this registry with the Docker config folder `config`, which then
    /// holds the credential as `docker login` writes it.
    ///
    /// # Panics
    /// If the registry is not protected, or the login fails.
    pub fn docker_login(&self, config: &Path) {
        let (user, password) = self.login.as_ref().expect("a protected registry");
        let mut login = Command::new("docker")
            .arg("--config")
            .arg(config)
            .args([
                "login",
                "--username",
                user,
                "--password-stdin",
                &self.address,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run docker login");
        use std::io::Write;
        login
            .stdin
            .take()
            .expect("piped stdin")
            .write_all(password.as_bytes())
            .expect("write the password to docker login");
        let output = login.wait_with_output().expect("wait for docker login");
        assert!(
            output.status.success(),
            "docker login {} failed: {}",
            self.address,
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}
