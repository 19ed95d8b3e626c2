//! The labels dockside puts on what it creates. The owner identity [`OWNER`] records is
//! [`crate::process::owner::Owner`].
//!
//! Labels are how dockside tells its own containers from anyone else's: cleanup only ever
//! touches objects carrying [`MANAGED`], and of those only ones whose owning process is gone.

/// On every container, network and image dockside creates.
pub(crate) const MANAGED: &str = "dockside.managed";
/// The nextest run (`NEXTEST_RUN_ID`) that created a container.
pub(crate) const SESSION: &str = "dockside.session";
/// The creating process, as [`crate::process::owner::Owner::label`] writes it.
pub(crate) const OWNER: &str = "dockside.owner";
/// On shared containers, instead of [`OWNER`]: the run that owns them, as
/// [`crate::run::Run::label`] writes it (the run's process, in the owner label's form). The
/// run's watcher removes them once that process has exited, and so does the start-up reaper.
/// A shared container kept under `DOCKSIDE_KEEP=always` has neither label.
pub(crate) const RUN: &str = "dockside.run";
/// On shared containers: the hash of their settings, image ID and run, by which the run's tests
/// find them.
pub(crate) const SHARED: &str = "dockside.shared";
/// On containers created under `DOCKSIDE_KEEP`: `always` or `on-failure`. Labels cannot change
/// after creation, so the policy is recorded up front, and the reaper never removes a container
/// carrying it: the test's own process removes an `on-failure` container after a pass.
pub(crate) const KEEP: &str = "dockside.keep";
/// The test that created a container.
pub(crate) const TEST: &str = "dockside.test";
/// The test parameter a container was handed to.
pub(crate) const NAME: &str = "dockside.name";
/// On built images: the hash of everything the build used.
pub(crate) const CONTENT_HASH: &str = "dockside.content-hash";
/// On built images: the Dockerfile they were built from.
pub(crate) const DOCKERFILE: &str = "dockside.dockerfile";
/// On built images: the tag dockside built them for. Images built `FROM` a dockside image inherit
/// every `dockside.*` label; this one then names the parent's tag, which tells the two apart.
pub(crate) const TAG: &str = "dockside.tag";
