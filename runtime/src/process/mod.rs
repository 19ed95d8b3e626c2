//! The process's own resources, which belong to no one container: the registry of what this
//! process created and has not removed yet, the removal that takes a container or network out
//! of it, the signal handler that removes it all on an interrupt, the identity its labels
//! carry, and the detached helper processes that work on after it. (What processes killed
//! outright left behind is the start-up reaper's, `reaper.rs`.)

pub(crate) mod cleanup;
pub(crate) mod detached;
pub(crate) mod owner;
pub(crate) mod registry;
pub(crate) mod signals;
