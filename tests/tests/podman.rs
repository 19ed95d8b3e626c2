//! A real Podman serving the Docker API (`podman system service`): dockside sees from its
//! `/version` answer that it is Podman and builds with the classic builder, without any setting.
//! The requests go through a recording proxy that changes nothing, so the test sees which
//! builder dockside asked for (Podman 4.3 accepts `version=2` and builds anyway).
//! Each test starts its own Podman with private configuration and storage in a temporary
//! directory, so the host's own Podman setup is left alone and parallel runs do not meet.

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use dockside_tests::child::{self, ChildRun};
use dockside_tests::docker_cli;
use dockside_tests::fixture::temp_context;
use dockside_tests::proxy::DockerProxy;

/// `podman system service` on a unix socket in a temporary directory, stopped on drop.
struct Podman {
    process: Child,
    socket: PathBuf,
    dir: tempfile::TempDir,
}

impl Podman {
    /// `None` when Podman is not installed and the run does not require it.
    fn start() -> Option<Podman> {
        let program = "podman";
        if !dockside_tests::require::program(program, "DOCKSIDE_TEST_REQUIRE_PODMAN", "podman") {
            return None;
        }
        // Short prefix: the socket path must fit a unix socket address (108 bytes).
        let dir = tempfile::Builder::new()
            .prefix("dockside-podman-")
            .tempdir()
            .unwrap();
        let root = dir.path();
        // Every path Podman would otherwise take from /etc, /var/lib/containers or /run/libpod
        // points into `dir`. `default_ulimits = []`: with the packaged default ulimits a build
        // step's container cannot start on some machines. No systemd or journald here.
        std::fs::write(
            root.join("containers.conf"),
            format!(
                "[containers]\ndefault_ulimits = []\n\
                 [engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n\
                 events_logfile_path = \"{0}/events.log\"\ntmp_dir = \"{0}/tmp\"\n\
                 [network]\nnetwork_config_dir = \"{0}/networks\"\n",
                root.display()
            ),
        )
        .unwrap();
        std::fs::write(
            root.join("storage.conf"),
            format!(
                "[storage]\ndriver = \"vfs\"\ngraphroot = \"{0}/root\"\nrunroot = \"{0}/runroot\"\n",
                root.display()
            ),
        )
        .unwrap();
        let socket = root.join("podman.sock");
        let log = std::fs::File::create(root.join("service.log")).unwrap();
        let process = Command::new(program)
            .args(["system", "service", "--time=0"])
            .arg(format!("unix://{}", socket.display()))
            .envs(Self::config_env(root))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut podman = Podman {
            process,
            socket,
            dir,
        };
        podman.wait_until_up();
        Some(podman)
    }

    /// The variables that make a `podman` command use this instance's configuration and storage.
    fn config_env(dir: &Path) -> [(&'static str, PathBuf); 2] {
        [
            ("CONTAINERS_CONF", dir.join("containers.conf")),
            ("CONTAINERS_STORAGE_CONF", dir.join("storage.conf")),
        ]
    }

    fn wait_until_up(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while UnixStream::connect(&self.socket).is_err() {
            if let Some(status) = self.process.try_wait().unwrap() {
                panic!(
                    "podman system service ended ({status}) before serving {}: {}",
                    self.socket.display(),
                    self.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "podman did not serve {} within 20 s: {}",
                self.socket.display(),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("service.log"))
            .unwrap_or_else(|e| format!("(no service log: {e})"))
    }

    fn docker_host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// `docker -H <this podman> ARGS`: the docker CLI through Podman's Docker API, independent
    /// of dockside's code.
    fn docker(&self, args: &[&str]) -> Output {
        Command::new("docker")
            .args(["-H", &self.docker_host()])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run `docker {}`: {e}", args.join(" ")))
    }

    /// `podman ARGS` on this instance's storage, not through the API at all.
    fn podman(&self, args: &[&str]) -> String {
        let output = Command::new("podman")
            .args(args)
            .envs(Self::config_env(self.dir.path()))
            .output()
            .unwrap_or_else(|e| panic!("cannot run `podman {}`: {e}", args.join(" ")));
        assert!(
            output.status.success(),
            "`podman {}` failed ({}): {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

#[test]
#[ignore = "run by the tests below in child processes"]
fn child_resolve() {
    child::resolve_from_env();
}

/// Resolves `dockerfile` in a child against the daemon at `docker_host`.
fn resolve_in_child(docker_host: &str, dockerfile: &Path) -> ChildRun {
    child::resolve_dockerfile(dockerfile, &[("DOCKER_HOST", docker_host)])
}

/// A Dockerfile nobody has built before. No `RUN`: a build step's container would need
/// Podman's network set-up, which touches the host's firewall.
fn new_context(nonce: &str) -> tempfile::TempDir {
    temp_context(&format!(
        "FROM scratch\nCOPY fixture /fixture\nLABEL nonce=\"{nonce}\"\n"
    ))
}

#[test]
fn podman_is_detected_and_builds_with_the_classic_builder() {
    let Some(podman) = Podman::start() else {
        return;
    };
    let nonce = child::nonce();
    let context = new_context(&nonce);
    let proxy = DockerProxy::start(&podman.socket).unwrap();
    let run = resolve_in_child(&proxy.docker_host(), &context.path().join("Dockerfile"));
    let id = run.resolved_id();
    proxy.assert_one_classic_build();
    assert!(
        run.stderr.contains("building with the classic builder") && run.stderr.contains("Podman"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("building image"), "{}", run.stderr);
    // Podman's classic-builder progress ("STEP 1/3: FROM scratch") is shown as it comes.
    assert!(run.stderr.contains(": STEP 1/"), "{}", run.stderr);

    let inspect = podman.docker(&[
        "image",
        "inspect",
        "--format",
        "{{index .Config.Labels \"dockside.managed\"}} {{index .Config.Labels \"nonce\"}}",
        &id,
    ]);
    assert!(
        inspect.status.success(),
        "{id} is not in Podman: {}",
        String::from_utf8_lossy(&inspect.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&inspect.stdout).trim(),
        format!("true {nonce}")
    );
    let listed = podman.podman(&[
        "images",
        "--quiet",
        "--no-trunc",
        "--filter",
        &format!("label=nonce={nonce}"),
        "--filter",
        "label=dockside.managed=true",
    ]);
    assert!(
        listed
            .lines()
            .any(|l| id.ends_with(l.trim_start_matches("sha256:"))),
        "podman images lists {listed:?}, not {id}"
    );
    // Built in Podman's own storage, not in the Docker daemon the other tests use.
    assert!(
        !docker_cli::image_exists(&id),
        "{id} is in the Docker daemon"
    );
}

#[test]
fn a_second_resolve_against_podman_builds_nothing() {
    let Some(podman) = Podman::start() else {
        return;
    };
    let nonce = child::nonce();
    let context = new_context(&nonce);
    let dockerfile = context.path().join("Dockerfile");
    let first = resolve_in_child(&podman.docker_host(), &dockerfile);
    let first_id = first.resolved_id();
    assert!(first.stderr.contains("building image"), "{}", first.stderr);

    let second = resolve_in_child(&podman.docker_host(), &dockerfile);
    assert_eq!(second.resolved_id(), first_id);
    assert!(
        !second.stderr.contains("building image"),
        "the second resolve built again:\n{}",
        second.stderr
    );
}
