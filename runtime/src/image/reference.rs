//! Docker image references. The grammar lives in `dockside-syntax`, which the `#[docker_test]`
//! macro also uses, so a reference the macro accepts at compile time is one the runtime accepts.

pub use dockside_syntax::{Reference, ReferenceError};

/// Parses `s` as Docker does, filling in the default registry and the `library/` namespace of
/// official images.
///
/// ```
/// let r = dockside::image::reference::parse("redis:7").unwrap();
/// assert_eq!(r.normalized(), "docker.io/library/redis:7");
/// assert_eq!(r.familiar(), "redis:7");
/// ```
pub fn parse(s: &str) -> Result<Reference, ReferenceError> {
    dockside_syntax::parse_reference(s)
}

/// Whether `s` parses as an image reference.
pub fn is_valid(s: &str) -> bool {
    parse(s).is_ok()
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    #[test]
    fn the_error_says_once_what_is_wrong_and_keeps_its_source() {
        let error = crate::image::parse_reference("Redis").unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid image reference `Redis`: repository name must be lowercase"
        );
        let source = error.source().expect("the parser's error is the source");
        assert_eq!(source.to_string(), "repository name must be lowercase");
    }
}
