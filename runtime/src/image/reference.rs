//! Docker image references. The grammar lives in `dockside-syntax`, which the `#[docker_test]`
//! macro also uses, so a reference the macro accepts at compile time is one the runtime accepts.

pub(crate) use dockside_syntax::{Reference, ReferenceError};

/// Parses `s` as Docker does, filling in the default registry and the `library/` namespace of
/// official images.
pub(crate) fn parse(s: &str) -> Result<Reference, ReferenceError> {
    dockside_syntax::parse_reference(s)
}
