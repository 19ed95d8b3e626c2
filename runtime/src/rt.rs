//! The tokio runtimes dockside makes for its own Docker work and for the tests' async bodies.
//!
//! Each piece of work gets a runtime of its own, so no Docker client outlives the runtime it was
//! made on (see `docker.rs`) and callers need no runtime of their own.

use crate::error::{Error, Result};

/// The kind of runtime a test's async body and its fixtures' set-ups run on, as the `flavor` of
/// `#[tokio::test]` says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Flavor {
    /// One thread: the test's own (`#[tokio::test]`'s default).
    #[default]
    CurrentThread,
    /// A pool of worker threads beside the test's thread.
    MultiThread,
}

/// A current-thread runtime for dockside's own Docker work, like the one `#[tokio::test]` makes.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    runtime_of(Flavor::CurrentThread, None)
}

/// A runtime of the given flavour; a multi-thread one has `workers` worker threads, else one
/// per core (tokio's default).
pub(crate) fn runtime_of(
    flavor: Flavor,
    workers: Option<usize>,
) -> Result<tokio::runtime::Runtime> {
    let mut builder = match flavor {
        Flavor::CurrentThread => tokio::runtime::Builder::new_current_thread(),
        Flavor::MultiThread => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            if let Some(workers) = workers {
                builder.worker_threads(workers);
            }
            builder
        }
    };
    builder
        .enable_all()
        .build()
        .map_err(|e| Error::io("starting a tokio runtime", "", e))
}
