//! A Podman serving the Docker API (`podman system service`) on a unix socket of its own, with
//! private configuration and storage in a temporary directory, so the host's own Podman setup is
//! left alone and parallel runs do not meet.
//!
//! Tests that need one skip without the `podman` program unless `DOCKSIDE_TEST_REQUIRE_PODMAN`
//! is `1`. `src/bin/with_podman.rs` runs a whole command (a test run) against one.

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `podman system service` on a unix socket in a temporary directory, stopped on drop.
pub struct Podman {
    process: Child,
    /// The unix socket it serves the Docker API on.
    pub socket: PathBuf,
    dir: tempfile::TempDir,
}

impl Podman {
    /// `None` when Podman is not installed and the run does not require it.
    pub fn start() -> Option<Podman> {
        let program = "podman";
        if !crate::require::program(program, "DOCKSIDE_TEST_REQUIRE_PODMAN", "podman") {
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
        // `lock_type = "file"` keeps the container locks in `tmp_dir`: the default shared-memory
        // lock table `/dev/shm/libpod_lock` is one per machine, and two instances starting at
        // once on a machine that has none yet both try to create it, the second failing with
        // "failed to create 2048 locks in /libpod_lock: file exists".
        std::fs::write(
            root.join("containers.conf"),
            format!(
                "[containers]\ndefault_ulimits = []\n\
                 [engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n\
                 events_logfile_path = \"{0}/events.log\"\ntmp_dir = \"{0}/tmp\"\n\
                 lock_type = \"file\"\n\
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
        let mut service = Command::new(program);
        with_no_signal_blocked(&mut service);
        let process = service
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

    /// Where this instance keeps its container locks (`lock_type = "file"`), so that it shares
    /// none with the machine's other Podmans.
    pub fn lock_dir(&self) -> PathBuf {
        self.dir.path().join("tmp").join("locks")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("service.log"))
            .unwrap_or_else(|e| format!("(no service log: {e})"))
    }

    pub fn docker_host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// `docker -H <this podman> ARGS`: the docker CLI through Podman's Docker API, independent
    /// of dockside's code.
    pub fn docker(&self, args: &[&str]) -> Output {
        Command::new("docker")
            .args(["-H", &self.docker_host()])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run `docker {}`: {e}", args.join(" ")))
    }

    /// `podman ARGS` on this instance's storage, not through the API at all.
    pub fn podman(&self, args: &[&str]) -> String {
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
        // Containers run on after the service ends (conmon keeps them): stop and remove every
        // one in this instance's own storage, which holds nothing but what its tests made.
        let _ = with_no_signal_blocked(&mut Command::new("podman"))
            .args(["rm", "--all", "--force", "--time", "0"])
            .envs(Self::config_env(self.dir.path()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// Whether the daemon `DOCKER_HOST` names (through the `docker` CLI) is Podman: for the few
/// checks that differ, which the README's engines section lists.
pub fn daemon_is_podman() -> bool {
    crate::docker_cli::docker_ok(&[
        "version",
        "--format",
        "{{range .Server.Components}}{{.Name}};{{end}}",
    ])
    .contains("Podman")
}

/// Makes `command` start with no signal blocked, whatever the calling thread blocks: a child
/// inherits its parent's signal mask, and `with_podman` blocks the stop signals it forwards, which
/// would leave the command (and the service and the containers it starts) deaf to them.
pub fn with_no_signal_blocked(command: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: between fork and exec the closure calls only async-signal-safe functions on a set
    // of its own.
    unsafe {
        command.pre_exec(|| {
            let mut none: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut none);
            libc::pthread_sigmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
            Ok(())
        })
    }
}
