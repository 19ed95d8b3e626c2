//! What a container should be: the image, its settings, and what "ready" means for it.

use std::fmt;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use dockside_syntax::Mount;

use super::Container;
use crate::image::{BuildSpec, Image, Pull};

/// A custom readiness probe: called again until it reports ready or the startup timeout passes.
///
/// A call still running when the startup timeout passes is cut off. Bound each call's own I/O
/// anyway (e.g. with `tokio::time::timeout`): one stuck connection would otherwise use up the
/// whole timeout, where a later call might have succeeded.
pub type Probe = Arc<
    dyn Fn(Container) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync,
>;

/// What to wait for before the container is handed to the test.
#[derive(Clone)]
#[non_exhaustive]
pub enum Wait {
    /// The server inside listens on this container port (not merely Docker's host-side proxy).
    Port(u16),
    /// Lines of the container's stdout or stderr match the regular expression `pattern`, at
    /// least `times` of them (a server that restarts once after its first start prints its
    /// "ready" line twice).
    Log {
        /// The regular expression a line must match.
        pattern: String,
        /// How many lines must match.
        times: usize,
    },
    /// Docker reports the container healthy (its HEALTHCHECK, or the one given with `healthcheck`).
    Healthy,
    /// `GET path` on this container port answers with a 2xx status.
    Http(u16, String),
    /// A probe of the user's: `Ok(())` means ready, `Err(why)` means not yet.
    Custom(Probe),
    /// The container's command returned with this exit code: for a one-shot container (a
    /// migration, a script) whose work is done when it exits.
    Exit(i32),
    /// This command, run in the container, exits with code 0 (`pg_isready`, a CLI's ping).
    Exec(Vec<String>),
}

impl Wait {
    /// Waits until the server inside the container listens on `port`.
    pub fn port(port: u16) -> Wait {
        Wait::Port(port)
    }

    /// Waits until a line of the container's output matches the regular expression `pattern`.
    pub fn log(pattern: impl Into<String>) -> Wait {
        Wait::log_times(pattern, 1)
    }

    /// Waits until `times` lines of the container's output match the regular expression
    /// `pattern`: for a server that prints its "ready" line once per start and restarts once
    /// after initialising itself.
    ///
    /// ```
    /// use dockside::{ContainerSpec, Wait};
    /// let ready = Wait::log_times("database system is ready to accept connections", 2);
    /// let spec = ContainerSpec::new("db").image("postgres:16").wait(ready);
    /// ```
    pub fn log_times(pattern: impl Into<String>, times: usize) -> Wait {
        Wait::Log {
            pattern: pattern.into(),
            times,
        }
    }

    /// Waits until `cmd`, run in the container, exits with code 0. It runs again at each poll
    /// until then; a timeout reports its last exit code and output.
    ///
    /// ```
    /// use dockside::{ContainerSpec, Wait};
    /// let ready = Wait::exec(["pg_isready", "-U", "postgres"]);
    /// let spec = ContainerSpec::new("db").image("postgres:16").port(5432).wait(ready);
    /// ```
    pub fn exec(cmd: impl IntoIterator<Item = impl Into<String>>) -> Wait {
        Wait::Exec(cmd.into_iter().map(Into::into).collect())
    }

    /// Waits until Docker reports the container healthy.
    pub fn healthy() -> Wait {
        Wait::Healthy
    }

    /// Waits until `GET path` on container port `port` answers with a 2xx status.
    pub fn http(port: u16, path: impl Into<String>) -> Wait {
        Wait::Http(port, path.into())
    }

    /// Waits until the container's command exits with `code`, for a container that runs once
    /// and exits; without it a container that is not running once started is an error.
    ///
    /// ```
    /// use dockside::{ContainerSpec, Wait};
    /// let spec = ContainerSpec::new("migrate").image("app:1").wait(Wait::exit(0));
    /// ```
    pub fn exit(code: i32) -> Wait {
        Wait::Exit(code)
    }

    /// Wraps an async probe: `async fn(Container) -> R` where `R` is `bool` or `Result<(), E: Display>`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use dockside::{Container, Wait};
    ///
    /// async fn answers(web: Container) -> std::io::Result<()> {
    ///     let connect = tokio::net::TcpStream::connect(web.addr(80));
    ///     tokio::time::timeout(Duration::from_secs(1), connect).await??;
    ///     Ok(())
    /// }
    ///
    /// let wait = Wait::custom(answers);
    /// ```
    pub fn custom<F, Fut>(probe: F) -> Wait
    where
        F: Fn(Container) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: ProbeOutcome,
    {
        Wait::Custom(Arc::new(move |container| {
            let fut = probe(container);
            Box::pin(async move { fut.await.into_probe_result() })
        }))
    }
}

impl fmt::Debug for Wait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_string())
    }
}

impl fmt::Display for Wait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Wait::Port(port) => write!(f, "a server listening on port {port}"),
            Wait::Log { pattern, times: 1 } => write!(f, "a log line matching /{pattern}/"),
            Wait::Log { pattern, times } => write!(f, "{times} log lines matching /{pattern}/"),
            Wait::Healthy => f.write_str("docker to report the container healthy"),
            Wait::Http(port, path) => write!(f, "a 2xx answer to GET {path} on port {port}"),
            Wait::Custom(_) => f.write_str("the custom readiness probe"),
            Wait::Exit(code) => write!(f, "the command to exit with code {code}"),
            Wait::Exec(cmd) => write!(
                f,
                "`{}` run in the container to exit with code 0",
                cmd.join(" ")
            ),
        }
    }
}

/// What a custom probe may return: `bool` (`true` is ready) or `Result<(), E: Display>`.
pub trait ProbeOutcome {
    /// `Ok(())` when ready, else why not yet, as the timeout error will show it.
    fn into_probe_result(self) -> Result<(), String>;
}

impl ProbeOutcome for bool {
    fn into_probe_result(self) -> Result<(), String> {
        if self {
            Ok(())
        } else {
            Err("the probe returned false".to_owned())
        }
    }
}

impl<E: fmt::Display> ProbeOutcome for Result<(), E> {
    fn into_probe_result(self) -> Result<(), String> {
        self.map_err(|e| e.to_string())
    }
}

/// The description of one container. Built by `#[docker_test]`, or by hand:
///
/// ```
/// use dockside::ContainerSpec;
/// let spec = ContainerSpec::new("web").image("nginx:1.27").port(80).env("MODE", "test");
/// ```
#[derive(Clone, Debug, Default)]
pub struct ContainerSpec {
    pub(crate) name: String,
    pub(crate) image: Option<String>,
    pub(crate) dockerfile: Option<String>,
    pub(crate) context: Option<String>,
    pub(crate) build_args: Vec<(String, String)>,
    pub(crate) target: Option<String>,
    pub(crate) cmd: Option<Vec<String>>,
    pub(crate) entrypoint: Option<Vec<String>>,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) labels: Vec<(String, String)>,
    pub(crate) ports: Vec<u16>,
    pub(crate) waits: Vec<Wait>,
    pub(crate) healthcheck: Option<Vec<String>>,
    pub(crate) startup_timeout: Option<Duration>,
    pub(crate) user: Option<String>,
    pub(crate) workdir: Option<String>,
    pub(crate) tmpfs: Vec<String>,
    pub(crate) mounts: Vec<Mount>,
    pub(crate) memory: Option<u64>,
    pub(crate) pull: Option<Pull>,
    pub(crate) shared: bool,
}

fn strings<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> Vec<String> {
    items.into_iter().map(|s| s.as_ref().to_owned()).collect()
}

impl ContainerSpec {
    /// A container called `name`: the test parameter's name without leading underscores (an
    /// unused `_db` is still `db`), also its host name on the test's network.
    pub fn new(name: impl Into<String>) -> Self {
        let name = name.into();
        let name = match name.trim_start_matches('_') {
            "" => name,
            trimmed => trimmed.to_owned(),
        };
        ContainerSpec {
            name,
            ..Default::default()
        }
    }

    /// The image to run; pulled when missing. With [`dockerfile`](Self::dockerfile), the tag the build gets.
    pub fn image(mut self, reference: impl Into<String>) -> Self {
        self.image = Some(reference.into());
        self
    }

    /// A Dockerfile to build, relative to the test crate's folder (absolute paths are kept).
    pub fn dockerfile(mut self, path: impl Into<String>) -> Self {
        self.dockerfile = Some(path.into());
        self
    }

    /// The build context folder; defaults to the Dockerfile's folder.
    pub fn context(mut self, dir: impl Into<String>) -> Self {
        self.context = Some(dir.into());
        self
    }

    /// A `--build-arg` for the Dockerfile build; later pairs win over earlier ones of a name.
    pub fn build_arg(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.build_args.push((name.into(), value.into()));
        self
    }

    /// The stage of a multi-stage Dockerfile to build (`--target`).
    pub fn target(mut self, stage: impl Into<String>) -> Self {
        self.target = Some(stage.into());
        self
    }

    /// The command, replacing the image's `CMD`.
    pub fn cmd<S: AsRef<str>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.cmd = Some(strings(args));
        self
    }

    /// The entrypoint, replacing the image's `ENTRYPOINT`.
    pub fn entrypoint<S: AsRef<str>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.entrypoint = Some(strings(args));
        self
    }

    /// An environment variable of the container.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// A label on the container, besides the ones dockside sets.
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.push((key.into(), value.into()));
        self
    }

    /// Publishes a container port on an ephemeral host port: on 127.0.0.1 for a daemon on this
    /// machine (a unix socket, or `tcp://` to a loopback address), on all of the daemon host's
    /// interfaces for a remote one, or on the address `DOCKSIDE_PUBLISH_ADDRESS` names; by
    /// default readiness waits for it.
    pub fn port(mut self, port: u16) -> Self {
        self.ports.push(port);
        self
    }

    /// Adds a readiness condition; all of them must hold. Without any, every published port is
    /// awaited; with no ports either, the container must still run 100 ms after its start (a
    /// container meant to exit awaits [`Wait::exit`]).
    pub fn wait(mut self, wait: Wait) -> Self {
        self.waits.push(wait);
        self
    }

    /// A HEALTHCHECK command (exec form) overriding the image's.
    pub fn healthcheck<S: AsRef<str>>(mut self, test: impl IntoIterator<Item = S>) -> Self {
        self.healthcheck = Some(strings(test));
        self
    }

    /// How long dockside waits, once the container runs, for it to become ready; the default
    /// is `DOCKSIDE_STARTUP_TIMEOUT` (60 s).
    pub fn startup_timeout(mut self, timeout: Duration) -> Self {
        self.startup_timeout = Some(timeout);
        self
    }

    /// The user the command runs as (`name`, `uid` or `uid:gid`).
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// The working directory of the command.
    pub fn workdir(mut self, dir: impl Into<String>) -> Self {
        self.workdir = Some(dir.into());
        self
    }

    /// A tmpfs mounted at `path` in the container.
    pub fn tmpfs(mut self, path: impl Into<String>) -> Self {
        self.tmpfs.push(path.into());
        self
    }

    /// Bind-mounts `host_path` (a path on the daemon's machine) at `container_path`.
    pub fn mount(
        mut self,
        host_path: impl Into<String>,
        container_path: impl Into<String>,
        read_only: bool,
    ) -> Self {
        self.mounts.push(Mount {
            host: host_path.into(),
            container: container_path.into(),
            read_only,
        });
        self
    }

    /// Memory limit in bytes.
    pub fn memory(mut self, bytes: u64) -> Self {
        self.memory = Some(bytes);
        self
    }

    /// When [`image`](Self::image) is pulled; without this, as `DOCKSIDE_PULL` says (default
    /// [`Pull::Missing`]). A [`dockerfile`](Self::dockerfile) build ignores it.
    ///
    /// ```
    /// use dockside::{image::Pull, ContainerSpec};
    /// let spec = ContainerSpec::new("cache").image("redis:7").pull(Pull::Always);
    /// ```
    pub fn pull(mut self, policy: Pull) -> Self {
        self.pull = Some(policy);
        self
    }

    /// One container for every test of the run that asks for the same settings, across
    /// nextest's processes and `cargo test`'s threads, instead of one per test: started once,
    /// ready before any test gets it, used by them concurrently, and removed after the run.
    ///
    /// Tests then see each other's state: give each its own database, schema or key prefix.
    /// The settings that decide which tests share (the image ID, `cmd`, `entrypoint`, `env`,
    /// `labels`, `ports`, `healthcheck`, `user`, `workdir`, `tmpfs`, `mounts`, `memory`) are
    /// compared whole; the name, the waits and the startup timeout are each test's own (each test
    /// awaits its own `wait`s before it gets the container). See the README's `shared` section.
    ///
    /// ```
    /// use dockside::ContainerSpec;
    /// let spec = ContainerSpec::new("pg").dockerfile("pg/Dockerfile").port(5432).shared();
    /// ```
    pub fn shared(mut self) -> Self {
        self.shared = true;
        self
    }

    /// The pull policy in force: the one given, else `DOCKSIDE_PULL`'s.
    pub(crate) fn pull_policy(&self) -> Pull {
        self.pull.unwrap_or_else(Pull::from_env)
    }

    /// This spec (a fixture's defaults) with the keys `settings` gives replacing its own, key by
    /// key; the name is `settings`' (the parameter's). What "given" means per key:
    ///
    /// - `image` or `dockerfile` replaces where the image comes from as a whole: the fixture's
    ///   `image`, `dockerfile`, `context`, `target` and `build_arg`s are dropped, and only the
    ///   ones in `settings` count. So `image = "redis:7"` on a fixture that builds from a
    ///   Dockerfile pulls `redis:7` and builds nothing.
    /// - Without those, `context` and `target` replace the fixture's, and each `build_arg`, `env`
    ///   and `label` replaces the fixture's pair of that name (the others stay).
    /// - `cmd`, `entrypoint`, `healthcheck`, `startup_timeout`, `user`, `workdir`, `memory`,
    ///   `pull` replace the fixture's value.
    /// - A non-empty list of `ports`, `wait`s, `tmpfs` or `mount`s replaces the fixture's list.
    /// - `shared` in either makes the container shared.
    ///
    /// ```
    /// use dockside::ContainerSpec;
    /// let fixture = ContainerSpec::new("pg").dockerfile("pg/Dockerfile").port(5432).env("A", "1");
    /// let spec = fixture.overridden_by(ContainerSpec::new("db").env("B", "2"));
    /// assert_eq!(spec.name(), "db");
    /// ```
    pub fn overridden_by(self, settings: ContainerSpec) -> ContainerSpec {
        fn pairs(
            mut base: Vec<(String, String)>,
            over: Vec<(String, String)>,
        ) -> Vec<(String, String)> {
            for (name, value) in over {
                base.retain(|(n, _)| *n != name);
                base.push((name, value));
            }
            base
        }
        fn list<T>(base: Vec<T>, over: Vec<T>) -> Vec<T> {
            if over.is_empty() {
                base
            } else {
                over
            }
        }
        let base = if settings.image.is_some() || settings.dockerfile.is_some() {
            ContainerSpec {
                image: None,
                dockerfile: None,
                context: None,
                target: None,
                build_args: Vec::new(),
                ..self
            }
        } else {
            self
        };
        ContainerSpec {
            name: settings.name,
            image: settings.image.or(base.image),
            dockerfile: settings.dockerfile.or(base.dockerfile),
            context: settings.context.or(base.context),
            build_args: pairs(base.build_args, settings.build_args),
            target: settings.target.or(base.target),
            cmd: settings.cmd.or(base.cmd),
            entrypoint: settings.entrypoint.or(base.entrypoint),
            env: pairs(base.env, settings.env),
            labels: pairs(base.labels, settings.labels),
            ports: list(base.ports, settings.ports),
            waits: list(base.waits, settings.waits),
            healthcheck: settings.healthcheck.or(base.healthcheck),
            startup_timeout: settings.startup_timeout.or(base.startup_timeout),
            user: settings.user.or(base.user),
            workdir: settings.workdir.or(base.workdir),
            tmpfs: list(base.tmpfs, settings.tmpfs),
            mounts: list(base.mounts, settings.mounts),
            memory: settings.memory.or(base.memory),
            pull: settings.pull.or(base.pull),
            shared: settings.shared || base.shared,
        }
    }

    /// Mount sources written relative, taken from `base` (the test crate's folder): Docker
    /// would read a relative source as the name of a volume.
    pub(crate) fn resolve_mounts(mut self, base: &Path) -> ContainerSpec {
        for mount in &mut self.mounts {
            if Path::new(&mount.host).is_relative() {
                mount.host = base.join(&mount.host).to_string_lossy().into_owned();
            }
        }
        self
    }

    /// The container's name in its test.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where the image comes from, with relative paths taken from `base` (the test crate's folder).
    pub fn image_source(&self, base: &Path) -> Option<Image> {
        match (&self.dockerfile, &self.image) {
            (Some(dockerfile), tag) => {
                let mut build = BuildSpec::new(base.join(dockerfile));
                if let Some(context) = &self.context {
                    build.context = base.join(context);
                }
                build.build_args = self.build_args.clone();
                build.target = self.target.clone();
                build.tag = tag.clone();
                Some(Image::Build(build))
            }
            (None, Some(reference)) => Some(Image::Pull(reference.clone())),
            (None, None) => None,
        }
    }

    /// The readiness conditions in force: the ones given, else every published port.
    pub(crate) fn effective_waits(&self) -> Vec<Wait> {
        if self.waits.is_empty() {
            self.ports.iter().copied().map(Wait::Port).collect()
        } else {
            self.waits.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> ContainerSpec {
        ContainerSpec::new("pg")
            .dockerfile("pg/Dockerfile")
            .context("pg")
            .build_arg("V", "15")
            .port(5432)
            .env("A", "1")
            .env("B", "2")
            .cmd(["postgres"])
    }

    #[test]
    fn settings_override_a_fixture_key_by_key() {
        let spec = fixture().overridden_by(
            ContainerSpec::new("_db")
                .env("B", "3")
                .build_arg("W", "x")
                .startup_timeout(Duration::from_secs(2)),
        );
        assert_eq!(spec.name(), "db");
        assert_eq!(spec.dockerfile.as_deref(), Some("pg/Dockerfile"));
        assert_eq!(spec.context.as_deref(), Some("pg"));
        assert_eq!(
            spec.build_args,
            [("V".into(), "15".into()), ("W".into(), "x".into())]
        );
        assert_eq!(
            spec.env,
            [("A".into(), "1".into()), ("B".into(), "3".into())]
        );
        assert_eq!(spec.ports, [5432]);
        assert_eq!(spec.cmd, Some(vec!["postgres".to_owned()]));
        assert_eq!(spec.startup_timeout, Some(Duration::from_secs(2)));
    }

    #[test]
    fn an_image_replaces_the_fixtures_build_as_a_whole() {
        let spec =
            fixture().overridden_by(ContainerSpec::new("db").image("postgres:16").port(5433));
        assert_eq!(spec.image.as_deref(), Some("postgres:16"));
        assert_eq!(spec.dockerfile, None);
        assert_eq!(spec.context, None);
        assert!(spec.build_args.is_empty());
        assert_eq!(spec.ports, [5433]);
        assert_eq!(spec.env.len(), 2);
    }

    #[test]
    fn relative_mount_sources_are_taken_from_the_crate() {
        let spec = ContainerSpec::new("x")
            .mount("data", "/data", true)
            .mount("/abs", "/abs", false)
            .resolve_mounts(Path::new("/crate"));
        assert_eq!(spec.mounts[0].host, "/crate/data");
        assert_eq!(spec.mounts[1].host, "/abs");
    }
}
