//! What `#[docker_test]` expands to calls. Not a public API: names here may change in any release.
//!
//! Only re-exports: the items live in the modules that own them.

pub use crate::container::{Container, ContainerSpec, Wait};
pub use crate::fixture::{assert_param, Param};
pub use crate::image::Pull;
pub use crate::rt::Flavor;
pub use crate::test::{assert_outcome, run_async, run_sync, Args, Outcome};
pub use crate::test_spec::TestSpec;
/// The type list items (`cmd`, `exec`) are converted to, named from here so the expansion needs
/// no path of its own to `std`.
pub use std::string::String;
