//! The process's own resources, which belong to no one container: the registry of what this
//! process created and has not removed yet, the signal handler that removes it on an
//! interrupt, the start-up reaper that removes what processes killed outright left behind, and
//! the detached helper processes that work on after it.

pub(crate) mod detached;
pub(crate) mod owner;
pub(crate) mod reaper;
pub(crate) mod registry;
pub(crate) mod signals;
