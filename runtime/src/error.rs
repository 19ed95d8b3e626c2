//! dockside's error type: [`Error`] is the one error enum dockside's API returns.
//!
//! An error's message says everything by itself, the daemon's words included once, because a
//! failing test shows only that message. The cause is kept as the
//! [`source`](std::error::Error::source) too, for code that inspects it: the client's
//! `bollard::errors::Error` (and below it the I/O error, where the connection failed), an
//! [`std::io::Error`], the reference parser's [`ReferenceError`](crate::ReferenceError), a build
//! context's or `.dockerignore`'s error (types internal to dockside), or a fixture's own error.
//! A reporter that prints the whole chain (such as anyhow's `{:#}`) therefore shows the cause's
//! words a second time, after the message.

use std::path::PathBuf;
use std::time::Duration;

/// A cause kept as an error's source when its type varies (the client's error, a parser's, a
/// fixture's) or is internal to dockside. [`std::error::Error::source`] returns the cause itself,
/// not the box, so `downcast_ref::<bollard::errors::Error>()` on it works.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result` with dockside's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong between asking for a container and removing it.
///
/// Messages name the thing concerned (image reference, container id, path, duration) and carry
/// the daemon's own words, so a failing test says what happened without a debugger.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No Docker daemon answered.
    #[error(
        "no docker daemon answered at {host}: {reason}\n{advice}",
        advice = no_daemon_advice(source)
    )]
    NoDaemon {
        /// The daemon's address (`DOCKER_HOST`, a context's endpoint, or a local socket).
        host: String,
        /// What the connection attempt answered, in the daemon's or the OS's words, then every
        /// place looked at for a daemon, in order (a line of its own, kept in this field so
        /// `Error` stays small).
        reason: String,
        /// The client's error.
        #[source]
        source: bollard::errors::Error,
    },

    /// The daemon answered a request with an error.
    #[error("docker {action} failed: {words}", words = daemon_words(source))]
    Docker {
        /// The request, naming what it was about (`inspect of image redis:7`).
        action: String,
        /// The client's error, carrying the daemon's own words.
        #[source]
        source: bollard::errors::Error,
    },

    /// A reference the user wrote is not a valid image reference.
    #[error("invalid image reference `{reference}`: {source}")]
    InvalidReference {
        /// The reference as written.
        reference: String,
        /// Why it is not valid.
        source: dockside_syntax::ReferenceError,
    },

    /// Pulling an image failed.
    #[error("pulling image {reference} failed: {message}")]
    Pull {
        /// The image reference.
        reference: String,
        /// The registry's or daemon's own words, and what to do where that is known.
        message: String,
        /// The client's error, when the daemon's answer was an error (not for a pull policy
        /// that forbids the pull, or credentials that could not be looked up).
        #[source]
        source: Option<BoxError>,
    },

    /// A base image a Dockerfile names could not be had.
    #[error(
        "base image {reference} (FROM in {dockerfile}, line {line}) {message}",
        dockerfile = dockerfile.display()
    )]
    BaseImage {
        /// The base image, as the Dockerfile names it.
        reference: String,
        /// The Dockerfile, relative to the current folder when it is inside it.
        dockerfile: PathBuf,
        /// The line of the instruction naming the image.
        line: usize,
        /// What went wrong, in the registry's or daemon's words.
        message: String,
        /// The error resolving the image.
        #[source]
        source: Box<Error>,
    },

    /// Building an image failed; `output` holds the build's own last lines.
    #[error(
        "building image from {dockerfile} failed: {message}{output}",
        dockerfile = dockerfile.display(),
        output = build_output(message, output)
    )]
    Build {
        /// The Dockerfile.
        dockerfile: PathBuf,
        /// What failed, in the builder's words.
        message: String,
        /// The build's last output lines.
        output: String,
        /// The client's error, or the error confirming the result, when there was one (not for
        /// a refused Dockerfile, nor for a failure replayed from an earlier build).
        #[source]
        source: Option<BoxError>,
    },

    /// The build context could not be read.
    #[error("reading build context {context}: {source}")]
    BuildContext {
        /// The context folder.
        context: PathBuf,
        /// What could not be read, or which `.dockerignore` line is invalid.
        source: BoxError,
    },

    /// A user-named tag exists but dockside did not build it, so it is not ours to replace.
    #[error(
        "image {reference} exists and was not built by dockside; refusing to overwrite it \
         (remove it with `docker rmi {reference}` or choose another `image` tag)"
    )]
    ForeignImage {
        /// The tag the user chose.
        reference: String,
    },

    /// The lock folder could be used or changed by someone else, so dockside does not trust it.
    #[error(
        "lock folder {path} {reason}; dockside only uses a folder that it owns and that no other \
         user can write: remove it (`rm -rf {path}`) or set DOCKSIDE_LOCK_DIR to such a folder"
    )]
    UnsafeLockDir {
        /// The lock folder.
        path: PathBuf,
        /// What is wrong with it (its owner or mode).
        reason: String,
    },

    /// A lock file is not a regular file of this user (for example a planted symlink).
    #[error(
        "lock file {path} {reason}; dockside neither follows nor writes it: remove it \
         (`rm {path}`) if you did not put it there on purpose"
    )]
    UnsafeLockFile {
        /// The lock file.
        path: PathBuf,
        /// What it is instead of a regular file of this user.
        reason: String,
    },

    /// Something dockside waited for did not finish within its time limit.
    #[error("{what} did not finish within {limit:?}; {variable} sets this limit")]
    Timeout {
        /// What was waited for, naming the image, container or lock.
        what: String,
        /// The limit that ran out.
        limit: Duration,
        /// The environment variable that sets the limit.
        variable: &'static str,
    },

    /// A file or folder dockside needed could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        /// What dockside was doing (`reading`, `creating lock folder`, ...).
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },

    /// Starting a container failed.
    #[error("starting a container from image {image} failed: {message}")]
    Start {
        /// The image reference.
        image: String,
        /// What failed, in the daemon's words where it answered.
        message: String,
        /// The client's error, or the log pattern's parse error, when there was one.
        #[source]
        source: Option<BoxError>,
    },

    /// A container did not become ready in time, or died while dockside waited.
    #[error(
        "container {container} (image {image}) was not ready after {elapsed}: \
         waited for {awaited}{exit}\n{logs}",
        elapsed = seconds(*elapsed),
        exit = exit_code.map(|c| format!("; it exited with code {c}")).unwrap_or_default(),
        logs = delimited(&format!("last log lines of {container}"), logs)
    )]
    NotReady {
        /// The container's name.
        container: String,
        /// Its image reference.
        image: String,
        /// The readiness conditions still pending.
        awaited: String,
        /// How long dockside waited.
        elapsed: Duration,
        /// The exit code, when the container exited while awaited. Container exit codes are
        /// 0–255 (−1 when the daemon gave none).
        exit_code: Option<i32>,
        /// The container's last log lines.
        logs: String,
    },

    /// A fixture's `setup` did not succeed on its ready container within the startup timeout,
    /// or panicked.
    #[error(
        "setup of fixture {fixture} on container {container} did not succeed within \
         {limit:?}: {last_error}\n--- last log lines ---\n{logs}"
    )]
    Setup {
        /// The fixture type's name.
        fixture: &'static str,
        /// The container's name.
        container: String,
        /// The startup timeout, which covers readiness and the set-up.
        limit: Duration,
        /// The last error `setup` returned (or its panic message).
        #[source]
        last_error: BoxError,
        /// The container's last log lines.
        logs: String,
    },

    /// A shared container of the run is no longer running: every test that needs it afterwards
    /// fails with this report (shared containers are not restarted within a run).
    #[error(
        "shared container {container}, started for this run by test \
         {started_by}, is {state}; it is not restarted within the run (the state tests put in \
         it is gone), so the tests that need it fail; the run's other failures may say why it \
         stopped\n{logs}",
        logs = delimited(&format!("last log lines of {container}"), logs)
    )]
    SharedStopped {
        /// The container's name in this test, its short ID and its image reference.
        container: String,
        /// The test that started it.
        started_by: String,
        /// What the daemon says it is (`exited (exit code 137)`, `paused`, `dead`, ...).
        state: String,
        /// Its last log lines.
        logs: String,
    },

    /// A request to a running container (exec, logs, copy, ...) failed.
    #[error("{action} in container {container} failed: {message}")]
    Container {
        /// The container's name.
        container: String,
        /// The request (`inspect`, `start`, ...).
        action: String,
        /// The daemon's own words, or what dockside refused before asking it.
        message: String,
        /// The client's error, when the daemon's answer was an error.
        #[source]
        source: Option<BoxError>,
    },
}

/// What to do when no daemon answered: start one, unless something answered and the TLS
/// handshake failed, where starting a daemon would not help.
fn no_daemon_advice(source: &bollard::errors::Error) -> &'static str {
    let words = daemon_words(source).to_lowercase();
    let tls = ["certificate", "tls", "handshake", "fatal alert"];
    if tls.iter().any(|word| words.contains(word)) {
        "the TLS handshake failed: check that the CA in ca.pem (of the Docker context, or in \
         DOCKER_CERT_PATH) signed the daemon's certificate, and that the daemon trusts the CA \
         that signed cert.pem"
    } else {
        "start one (`sudo systemctl start docker`, or `sudo dockerd &`), or point DOCKER_HOST \
         at a running daemon"
    }
}

impl Error {
    /// No daemon answered at `host`: the daemon's words and the places `tried`, in order, with the
    /// client's error as the source.
    pub(crate) fn no_daemon(
        host: String,
        tried: Vec<String>,
        source: bollard::errors::Error,
    ) -> Self {
        Error::NoDaemon {
            host,
            reason: format!(
                "{}\nlooked for a daemon at, in order: {}",
                daemon_words(&source),
                tried.join("; ")
            ),
            source,
        }
    }

    /// `reference` is not a valid image reference, for the reason `source` gives.
    pub(crate) fn invalid_reference(
        reference: &str,
        source: dockside_syntax::ReferenceError,
    ) -> Self {
        Error::InvalidReference {
            reference: reference.to_owned(),
            source,
        }
    }

    /// The build context folder `context` could not be read, for the reason `source` gives.
    pub(crate) fn build_context(context: impl Into<PathBuf>, source: impl Into<BoxError>) -> Self {
        Error::BuildContext {
            context: context.into(),
            source: source.into(),
        }
    }

    /// The base image `reference`, named on `line` of `dockerfile`, could not be resolved.
    pub(crate) fn base_image(
        reference: &str,
        dockerfile: &std::path::Path,
        line: usize,
        source: Error,
    ) -> Self {
        let message = match &source {
            Error::Pull { message, .. } => format!("is missing and pulling it failed: {message}"),
            other => format!("could not be had: {other}"),
        };
        let dockerfile = std::env::current_dir()
            .ok()
            .and_then(|here| dockerfile.strip_prefix(here).ok().map(PathBuf::from))
            .unwrap_or_else(|| dockerfile.to_owned());
        Error::BaseImage {
            reference: reference.to_owned(),
            dockerfile,
            line,
            message,
            source: Box::new(source),
        }
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

/// A duration as people read it in a message: seconds with one decimal (`2.1s`).
pub(crate) fn seconds(duration: Duration) -> String {
    format!("{:.1}s", duration.as_secs_f64())
}

/// A long part of a message (logs, build output) after the sentence that says what failed,
/// between lines that say where it starts and ends; `(no output)` rather than nothing.
pub(crate) fn delimited(title: &str, text: &str) -> String {
    let text = text.trim_end();
    let text = if text.trim().is_empty() {
        "(no output)"
    } else {
        text
    };
    format!("--- {title} ---\n{text}\n--- end of {title} ---")
}

/// The build's output under the error's first line, with a line repeated in a row printed once
/// and without a last line that only repeats the message.
fn build_output(message: &str, output: &str) -> String {
    if output.trim().is_empty() {
        return String::new();
    }
    let mut kept: Vec<&str> = output.lines().collect();
    kept.dedup();
    // The builder may end its output with the very error the first line already gives; a
    // step's own output is kept even when the message quotes it (the step's command may).
    if kept
        .last()
        .is_some_and(|last| last.trim() == message.trim())
    {
        kept.pop();
    }
    format!("\n{}", delimited("build output", &kept.join("\n")))
}

/// The daemon's own message, without bollard's wrapping, where there is one; for a failure on
/// this side (no answer at all) the innermost cause, whose words are the OS's
/// (`Connection refused (os error 111)`): the layers above it name only the client's step
/// (`client error (Connect)`); a broken pipe or a reset is said to be the daemon's hang-up.
pub(crate) fn daemon_words(err: &bollard::errors::Error) -> String {
    use bollard::errors::Error as B;
    match err {
        B::DockerResponseServerError {
            status_code,
            message,
        } => {
            format!("{message} (HTTP {status_code})")
        }
        B::DockerStreamError { error } => error.clone(),
        // The message names the socket already: bollard's text would repeat its path.
        B::SocketNotFoundError(_) => "the socket does not exist".to_owned(),
        other => {
            let mut innermost: &(dyn std::error::Error + 'static) = other;
            while let Some(cause) = innermost.source() {
                innermost = cause;
            }
            // `Broken pipe` alone does not say which pipe: the daemon hung up mid-request.
            // (bollard's `IOError` is transparent: it is its own innermost link.)
            let kind = innermost
                .downcast_ref::<std::io::Error>()
                .or(match innermost.downcast_ref::<B>() {
                    Some(B::IOError { err }) => Some(err),
                    _ => None,
                })
                .map(std::io::Error::kind);
            use std::io::ErrorKind as K;
            let closed = matches!(
                kind,
                Some(K::BrokenPipe | K::ConnectionReset | K::ConnectionAborted | K::UnexpectedEof)
            );
            if closed {
                format!("the daemon closed the connection: {innermost}")
            } else {
                innermost.to_string()
            }
        }
    }
}

/// Whether the error is the daemon's "not found" (HTTP 404).
pub(crate) fn is_not_found(err: &bollard::errors::Error) -> bool {
    matches!(
        err,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[test]
    fn durations_are_rounded_to_a_tenth_of_a_second() {
        assert_eq!(seconds(Duration::from_nanos(2_108_043_710)), "2.1s");
        assert_eq!(seconds(Duration::from_secs(60)), "60.0s");
    }

    #[test]
    fn a_connection_the_daemon_dropped_is_named_as_such() {
        let broken = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        let words = daemon_words(&bollard::errors::Error::IOError { err: broken });
        assert!(
            words.starts_with("the daemon closed the connection: "),
            "{words}"
        );
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let words = daemon_words(&bollard::errors::Error::IOError { err: refused });
        assert!(!words.contains("closed"), "{words}");
    }

    #[test]
    fn an_invalid_reference_is_named_once_and_keeps_its_cause() {
        let err = crate::image::parse_reference("Redis").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid image reference `Redis`: repository name must be lowercase"
        );
        assert!(matches!(&err, Error::InvalidReference { reference, .. } if reference == "Redis"));
        let cause = err.source().expect("the parser's error as the source");
        assert_eq!(cause.to_string(), "repository name must be lowercase");
    }

    #[test]
    fn empty_logs_say_so_and_long_parts_are_delimited() {
        assert_eq!(
            delimited("last log lines of web (abc)", "\n"),
            "--- last log lines of web (abc) ---\n(no output)\n--- end of last log lines of web (abc) ---"
        );
    }

    #[test]
    fn a_build_error_prints_its_failing_line_once() {
        let failing = "executor failed running [/fixture exit --code 3]: exit code: 3";
        let err = Error::Build {
            dockerfile: PathBuf::from("fixtures/bad/Dockerfile"),
            message: failing.to_owned(),
            output: format!("output of the step\nok\nok\n{failing}"),
            source: None,
        };
        let text = err.to_string();
        assert_eq!(text.matches(failing).count(), 1, "{text}");
        assert!(text.starts_with("building image from fixtures/bad/Dockerfile failed: executor"));
        assert!(
            text.contains(
                "--- build output ---\noutput of the step\nok\n--- end of build output ---"
            ),
            "{text}"
        );
    }

    #[test]
    fn an_unreadable_context_keeps_its_cause() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let spec = crate::BuildSpec::new(missing.join("Dockerfile"));
        let err = crate::Image::Build(spec).resolve().unwrap_err();
        assert!(matches!(err, Error::BuildContext { .. }), "{err:?}");
        let message = err.to_string();
        assert!(message.starts_with("reading build context"), "{message}");
        assert!(message.contains("missing"), "{message}");
        let cause = err.source().expect("the context's error as the source");
        assert!(
            cause.to_string().contains("cannot read dockerfile"),
            "{cause}"
        );
    }
}
