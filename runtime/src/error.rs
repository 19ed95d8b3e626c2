//! The one error type of dockside.

use std::path::PathBuf;
use std::time::Duration;

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
        "no docker daemon answered at {host}: {reason}\n\
         start one (`sudo systemctl start docker`, or `sudo dockerd &`), \
         or point DOCKER_HOST at a running daemon"
    )]
    NoDaemon { host: String, reason: String },

    /// The daemon answered a request with an error.
    #[error("docker {action} failed: {message}")]
    Docker { action: String, message: String },

    /// A reference the user wrote is not a valid image reference.
    #[error("invalid image reference `{reference}`: {source}")]
    InvalidReference {
        reference: String,
        source: dockside_syntax::ReferenceError,
    },

    /// Pulling an image failed.
    #[error("pulling image {reference} failed: {message}")]
    Pull { reference: String, message: String },

    /// Building an image failed; `output` holds the build's own last lines.
    #[error("building image from {dockerfile} failed: {message}\n--- build output ---\n{output}")]
    Build {
        dockerfile: PathBuf,
        message: String,
        output: String,
    },

    /// The build context could not be read.
    #[error("reading build context {context}: {message}")]
    BuildContext { context: PathBuf, message: String },

    /// A user-named tag exists but dockside did not build it, so it is not ours to replace.
    #[error(
        "image {reference} exists and was not built by dockside; refusing to overwrite it \
         (remove it with `docker rmi {reference}` or choose another `image` tag)"
    )]
    ForeignImage { reference: String },

    /// A file or folder dockside needed could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Starting a container failed.
    #[error("starting a container from image {image} failed: {message}")]
    Start { image: String, message: String },

    /// A container did not become ready in time, or died while dockside waited.
    #[error(
        "container {container} (image {image}) was not ready after {elapsed:?}: \
         waited for {awaited}{exit}\n--- last log lines ---\n{logs}",
        exit = exit_code.map(|c| format!("; it exited with code {c}")).unwrap_or_default()
    )]
    NotReady {
        container: String,
        image: String,
        awaited: String,
        elapsed: Duration,
        /// Container exit codes are 0–255 (−1 when the daemon gave none).
        exit_code: Option<i32>,
        logs: String,
    },

    /// A request to a running container (exec, logs, copy, ...) failed.
    #[error("{action} in container {container} failed: {message}")]
    Container {
        container: String,
        action: String,
        message: String,
    },
}

impl Error {
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

/// The daemon's own message, without bollard's wrapping, where there is one.
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
        other => other.to_string(),
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
