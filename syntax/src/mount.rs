//! Bind mounts written as `host:container[:ro|:rw]`.

use std::fmt;

use crate::values::not_absolute;

/// A bind mount: a path on the daemon's machine made visible at a path in the container.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Mount {
    /// The path on the daemon's machine, as written (a relative one is resolved by the caller).
    pub host: String,
    /// The absolute path in the container.
    pub container: String,
    /// Whether the container may only read it.
    pub read_only: bool,
}

/// Why a text is not a bind mount.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MountError {
    /// Not two or three `:`-separated fields.
    Format,
    /// The third field is neither `ro` nor `rw`.
    Mode(String),
    /// The host path is empty.
    EmptyHost,
    /// The container path does not start with `/`.
    RelativeContainer(String),
}

impl fmt::Display for MountError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MountError::Format => f.write_str(
                "a mount is `host:container`, `host:container:ro` or `host:container:rw`",
            ),
            MountError::Mode(mode) => write!(f, "mount mode `{mode}` is neither `ro` nor `rw`"),
            MountError::EmptyHost => f.write_str("the host path of a mount must not be empty"),
            MountError::RelativeContainer(path) => f.write_str(&not_absolute(path)),
        }
    }
}

impl std::error::Error for MountError {}

/// Reads `host:container`, optionally followed by `:ro` or `:rw` (the default).
///
/// ```
/// let mount = dockside_syntax::parse_mount("fixtures/data:/data:ro").unwrap();
/// assert_eq!((mount.host.as_str(), mount.container.as_str()), ("fixtures/data", "/data"));
/// assert!(mount.read_only);
/// ```
pub fn parse_mount(text: &str) -> Result<Mount, MountError> {
    let fields: Vec<&str> = text.split(':').collect();
    let (host, container, read_only) = match fields.as_slice() {
        [host, container] | [host, container, "rw"] => (*host, *container, false),
        [host, container, "ro"] => (*host, *container, true),
        [_, _, mode] => return Err(MountError::Mode((*mode).to_owned())),
        _ => return Err(MountError::Format),
    };
    if host.is_empty() {
        return Err(MountError::EmptyHost);
    }
    if !container.starts_with('/') {
        return Err(MountError::RelativeContainer(container.to_owned()));
    }
    Ok(Mount {
        host: host.to_owned(),
        container: container.to_owned(),
        read_only,
    })
}

impl fmt::Display for Mount {
    /// The `host:container:mode` form of Docker's `Binds`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = if self.read_only { "ro" } else { "rw" };
        write!(f, "{}:{}:{mode}", self.host, self.container)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounts() {
        let mount = |host: &str, container: &str, read_only| {
            Ok(Mount {
                host: host.to_owned(),
                container: container.to_owned(),
                read_only,
            })
        };
        let cases: &[(&str, Result<Mount, MountError>)] = &[
            ("data:/data", mount("data", "/data", false)),
            ("/abs/data:/data:rw", mount("/abs/data", "/data", false)),
            ("./d:/d:ro", mount("./d", "/d", true)),
            ("data", Err(MountError::Format)),
            ("a:/b:ro:x", Err(MountError::Format)),
            ("a:/b:rx", Err(MountError::Mode("rx".to_owned()))),
            ("a:/b:", Err(MountError::Mode(String::new()))),
            (":/b", Err(MountError::EmptyHost)),
            ("a:b", Err(MountError::RelativeContainer("b".to_owned()))),
            ("a:", Err(MountError::RelativeContainer(String::new()))),
        ];
        for (text, expected) in cases {
            assert_eq!(&parse_mount(text), expected, "{text:?}");
        }
    }

    #[test]
    fn docker_binds_form() {
        assert_eq!(parse_mount("/a:/b").unwrap().to_string(), "/a:/b:rw");
        assert_eq!(parse_mount("/a:/b:ro").unwrap().to_string(), "/a:/b:ro");
    }
}
