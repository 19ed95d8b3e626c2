//! The tokio runtimes dockside makes for its own Docker work.
//!
//! Each piece of work gets a runtime of its own, so no Docker client outlives the runtime it was
//! made on (see `docker.rs`) and callers need no runtime of their own.

use crate::error::{Error, Result};

/// A current-thread runtime for dockside's own Docker work, like the one `#[tokio::test]` makes.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("starting a tokio runtime", "", e))
}
