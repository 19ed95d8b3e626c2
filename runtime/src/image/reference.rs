//! Docker image references, parsed and normalised the way Docker's
//! `distribution/reference` package (`ParseNormalizedNamed`) does it.
//!
//! The grammar, from `distribution/reference`:
//!
//! ```text
//! reference := name [ ":" tag ] [ "@" digest ]
//! name      := [domain '/'] path-component ['/' path-component]*
//! domain    := host [':' port-number]
//! tag       := [\w][\w.-]{0,127}
//! digest    := algorithm ":" hex
//! ```

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;

/// The registry a reference without a domain belongs to.
const DEFAULT_REGISTRY: &str = "docker.io";
/// The name older Docker versions used for the default registry.
const LEGACY_DEFAULT_REGISTRY: &str = "index.docker.io";
/// The namespace of official images on the default registry.
const OFFICIAL_PREFIX: &str = "library/";
/// `distribution/reference`'s `NameTotalLengthMax`.
const NAME_MAX_LEN: usize = 255;

/// Compiles one of this module's constant patterns.
fn anchored(pattern: &str) -> Regex {
    // The patterns are constants of this module, covered by its tests.
    Regex::new(&format!("^(?:{pattern})$")).expect("constant reference pattern is valid")
}

static DOMAIN: LazyLock<Regex> = LazyLock::new(|| {
    let component = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
    let host = format!(r"(?:{component}(?:\.{component})*|\[[a-fA-F0-9:]+\])");
    anchored(&format!("{host}(?::[0-9]+)?"))
});
static PATH: LazyLock<Regex> = LazyLock::new(|| {
    let component = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
    anchored(&format!("{component}(?:/{component})*"))
});
// Go's `\w` is ASCII-only; Rust's is Unicode, hence the explicit class.
static TAG: LazyLock<Regex> = LazyLock::new(|| anchored("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"));
static DIGEST: LazyLock<Regex> = LazyLock::new(|| {
    anchored("[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}")
});
static IMAGE_ID: LazyLock<Regex> = LazyLock::new(|| anchored("[a-f0-9]{64}"));

/// Why a string is not a valid image reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ReferenceError {
    /// The string is empty.
    #[error("invalid image reference \"\": reference is empty")]
    Empty,
    /// The repository path contains an uppercase letter.
    #[error("invalid image reference \"{reference}\": repository name must be lowercase")]
    Uppercase {
        /// The reference as given.
        reference: String,
    },
    /// A bare 64-character hex string is an image ID, not a name.
    #[error("invalid image reference \"{reference}\": cannot specify 64-byte hexadecimal strings")]
    ImageId {
        /// The reference as given.
        reference: String,
    },
    /// The registry part is not a valid host[:port].
    #[error("invalid image reference \"{reference}\": invalid registry \"{registry}\"")]
    Registry {
        /// The reference as given.
        reference: String,
        /// The registry part.
        registry: String,
    },
    /// The repository path has invalid characters or empty components.
    #[error("invalid image reference \"{reference}\": invalid repository name \"{repository}\"")]
    Repository {
        /// The reference as given.
        reference: String,
        /// The repository part.
        repository: String,
    },
    /// The full name is longer than Docker accepts.
    #[error(
        "invalid image reference \"{reference}\": repository name must not be more than 255 characters"
    )]
    NameTooLong {
        /// The reference as given.
        reference: String,
    },
    /// The tag does not match `[\w][\w.-]{0,127}`.
    #[error("invalid image reference \"{reference}\": invalid tag \"{tag}\"")]
    Tag {
        /// The reference as given.
        reference: String,
        /// The tag part.
        tag: String,
    },
    /// The digest is malformed, of the wrong length, or of an unknown algorithm.
    #[error("invalid image reference \"{reference}\": invalid digest \"{digest}\"")]
    Digest {
        /// The reference as given.
        reference: String,
        /// The digest part.
        digest: String,
    },
}

/// A parsed, fully qualified image reference: `parse("redis:7")` has registry `docker.io`,
/// repository `library/redis`, and reads `docker.io/library/redis:7` normalized, `redis:7`
/// familiar.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Reference {
    /// Registry host with optional port, e.g. `docker.io` or `localhost:5000`.
    pub(crate) registry: String,
    /// Repository path inside the registry, e.g. `library/redis`.
    pub(crate) repository: String,
    /// The tag, if one was given.
    pub(crate) tag: Option<String>,
    /// The digest (`algorithm:hex`), if one was given.
    pub(crate) digest: Option<String>,
}

/// Parses `s` as Docker does, filling in the default registry and the
/// `library/` namespace of official images.
pub(crate) fn parse(s: &str) -> Result<Reference, ReferenceError> {
    if s.is_empty() {
        return Err(ReferenceError::Empty);
    }
    if IMAGE_ID.is_match(s) {
        return Err(ReferenceError::ImageId {
            reference: s.into(),
        });
    }
    let reference = || s.to_owned();
    let (name_and_tag, digest) = match s.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (s, None),
    };
    let (registry, remainder) = split_registry(name_and_tag);
    // The registry is gone, so a ':' left over can only start the tag; this is
    // what keeps "localhost:5000/x" from reading as tag "5000/x".
    let (repository, tag) = match remainder.split_once(':') {
        Some((repository, tag)) => (repository, Some(tag)),
        None => (remainder, None),
    };
    if repository.to_lowercase() != repository {
        return Err(ReferenceError::Uppercase {
            reference: reference(),
        });
    }
    let repository = match registry {
        DEFAULT_REGISTRY if !repository.contains('/') => format!("{OFFICIAL_PREFIX}{repository}"),
        _ => repository.to_owned(),
    };
    if !DOMAIN.is_match(registry) {
        return Err(ReferenceError::Registry {
            reference: reference(),
            registry: registry.into(),
        });
    }
    if !PATH.is_match(&repository) {
        return Err(ReferenceError::Repository {
            reference: reference(),
            repository,
        });
    }
    if registry.len() + 1 + repository.len() > NAME_MAX_LEN {
        return Err(ReferenceError::NameTooLong {
            reference: reference(),
        });
    }
    if let Some(tag) = tag.filter(|t| !TAG.is_match(t)) {
        return Err(ReferenceError::Tag {
            reference: reference(),
            tag: tag.into(),
        });
    }
    if let Some(digest) = digest.filter(|d| !is_valid_digest(d)) {
        return Err(ReferenceError::Digest {
            reference: reference(),
            digest: digest.into(),
        });
    }
    Ok(Reference {
        registry: registry.to_owned(),
        repository,
        tag: tag.map(str::to_owned),
        digest: digest.map(str::to_owned),
    })
}

/// Whether `s` parses as an image reference.
#[cfg(test)]
pub(crate) fn is_valid(s: &str) -> bool {
    parse(s).is_ok()
}

/// Splits off the registry the way `splitDockerDomain` does: the first
/// component names a registry only if it looks like a host (has a '.' or a
/// port, is `localhost`, or has uppercase letters, which a repository never
/// has); otherwise the whole name lives on Docker Hub.
fn split_registry(name: &str) -> (&str, &str) {
    let (registry, remainder) = match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.to_lowercase() != first =>
        {
            (first, rest)
        }
        _ => (DEFAULT_REGISTRY, name),
    };
    let registry = if registry == LEGACY_DEFAULT_REGISTRY {
        DEFAULT_REGISTRY
    } else {
        registry
    };
    (registry, remainder)
}

/// Checks a digest as `opencontainers/go-digest` does: the grammar, then an
/// algorithm Docker knows with an encoded part of exactly its length, in
/// lowercase hex.
fn is_valid_digest(digest: &str) -> bool {
    if !DIGEST.is_match(digest) {
        return false;
    }
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return false;
    };
    let expected_len = match algorithm {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return false,
    };
    hex.len() == expected_len && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl Reference {
    /// The fully qualified form, `registry/repository[:tag][@digest]`, with
    /// `:latest` added when neither a tag nor a digest was given (Docker's
    /// `TagNameOnly`).
    pub(crate) fn normalized(&self) -> String {
        self.with_suffix(self.name())
    }

    /// The short form Docker prints: the default registry and the `library/`
    /// namespace are left out, e.g. `redis:latest`.
    pub(crate) fn familiar(&self) -> String {
        let name = if self.registry != DEFAULT_REGISTRY {
            self.name()
        } else {
            match self.repository.strip_prefix(OFFICIAL_PREFIX) {
                Some(official) if !official.contains('/') => official.to_owned(),
                _ => self.repository.clone(),
            }
        };
        self.with_suffix(name)
    }

    /// `registry/repository`, without tag or digest.
    pub(crate) fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The tag, or `latest` when none was given (also when only a digest was).
    pub(crate) fn tag_or_latest(&self) -> &str {
        self.tag.as_deref().unwrap_or("latest")
    }

    fn with_suffix(&self, mut name: String) -> String {
        match (&self.tag, &self.digest) {
            (Some(tag), _) => {
                name.push(':');
                name.push_str(tag);
            }
            (None, None) => name.push_str(":latest"),
            (None, Some(_)) => {}
        }
        if let Some(digest) = &self.digest {
            name.push('@');
            name.push_str(digest);
        }
        name
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.normalized())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_name_is_completed_and_shortened_again() {
        let r = parse("redis:7").unwrap();
        assert_eq!(r.registry, "docker.io");
        assert_eq!(r.repository, "library/redis");
        assert_eq!(r.normalized(), "docker.io/library/redis:7");
        assert_eq!(r.familiar(), "redis:7");
    }

    const SHA: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn normalizes_like_docker() {
        let with_digest = format!("redis@{SHA}");
        let with_digest_norm = format!("docker.io/library/redis@{SHA}");
        let both = format!("ghcr.io/o/r:1@{SHA}");
        let ipv6 = "[::1]:5000/foo:bar";
        let cases: &[(&str, &str, &str, &str, Option<&str>)] = &[
            // input, normalized, familiar, repository, tag
            (
                "redis",
                "docker.io/library/redis:latest",
                "redis:latest",
                "library/redis",
                None,
            ),
            (
                "redis:7",
                "docker.io/library/redis:7",
                "redis:7",
                "library/redis",
                Some("7"),
            ),
            (
                "library/redis",
                "docker.io/library/redis:latest",
                "redis:latest",
                "library/redis",
                None,
            ),
            (
                "docker.io/redis",
                "docker.io/library/redis:latest",
                "redis:latest",
                "library/redis",
                None,
            ),
            (
                "index.docker.io/redis:7",
                "docker.io/library/redis:7",
                "redis:7",
                "library/redis",
                Some("7"),
            ),
            (
                "bitnami/redis",
                "docker.io/bitnami/redis:latest",
                "bitnami/redis:latest",
                "bitnami/redis",
                None,
            ),
            (
                "docker.io/library/a/b",
                "docker.io/library/a/b:latest",
                "library/a/b:latest",
                "library/a/b",
                None,
            ),
            (
                "localhost/x",
                "localhost/x:latest",
                "localhost/x:latest",
                "x",
                None,
            ),
            (
                "localhost:5000/a/b",
                "localhost:5000/a/b:latest",
                "localhost:5000/a/b:latest",
                "a/b",
                None,
            ),
            (
                "localhost:5000/a/b:1.0",
                "localhost:5000/a/b:1.0",
                "localhost:5000/a/b:1.0",
                "a/b",
                Some("1.0"),
            ),
            (
                "ghcr.io/owner/app:pr-12",
                "ghcr.io/owner/app:pr-12",
                "ghcr.io/owner/app:pr-12",
                "owner/app",
                Some("pr-12"),
            ),
            (
                ipv6,
                "[::1]:5000/foo:bar",
                "[::1]:5000/foo:bar",
                "foo",
                Some("bar"),
            ),
            // Without a '/', "localhost:5000" is repository "localhost", tag "5000".
            (
                "localhost:5000",
                "docker.io/library/localhost:5000",
                "localhost:5000",
                "library/localhost",
                Some("5000"),
            ),
            // An uppercase first component is a registry, as in distribution/reference.
            ("Foo/bar", "Foo/bar:latest", "Foo/bar:latest", "bar", None),
            (
                "a__b/c.d-e/f---g:Tag_1.x",
                "docker.io/a__b/c.d-e/f---g:Tag_1.x",
                "a__b/c.d-e/f---g:Tag_1.x",
                "a__b/c.d-e/f---g",
                Some("Tag_1.x"),
            ),
            (
                &with_digest,
                &with_digest_norm,
                &with_digest,
                "library/redis",
                None,
            ),
            (&both, &both, &both, "o/r", Some("1")),
        ];
        for &(input, normalized, familiar, repository, tag) in cases {
            let r = parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(r.normalized(), normalized, "{input}");
            assert_eq!(r.to_string(), normalized, "{input}");
            assert_eq!(r.familiar(), familiar, "{input}");
            assert_eq!(r.repository, repository, "{input}");
            assert_eq!(r.tag.as_deref(), tag, "{input}");
            assert!(is_valid(input), "{input}");
        }
    }

    #[test]
    fn accessors() {
        let r = parse("localhost:5000/a/b").unwrap();
        assert_eq!(r.name(), "localhost:5000/a/b");
        assert_eq!(r.tag_or_latest(), "latest");
        assert_eq!(r.digest, None);
        let r = parse(&format!("redis:7@{SHA}")).unwrap();
        assert_eq!(r.tag_or_latest(), "7");
        assert_eq!(r.digest.as_deref(), Some(SHA));
        assert_eq!(r.name(), "docker.io/library/redis");
    }

    #[test]
    fn rejects_what_docker_rejects() {
        let long_name = format!("a/{}", "b".repeat(250));
        let long_tag = format!("redis:{}", "t".repeat(129));
        let ok_tag = format!("redis:{}", "t".repeat(128));
        assert!(is_valid(&ok_tag));
        let cases: &[(&str, &str)] = &[
            ("", "reference is empty"),
            ("Redis", "must be lowercase"),
            ("library/Redis:7", "must be lowercase"),
            ("localhost:5000/Foo", "must be lowercase"),
            (
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                "64-byte",
            ),
            ("a//b", "invalid repository name"),
            ("a/", "invalid repository name"),
            ("/a", "invalid repository name"),
            ("a-/b", "invalid repository name"),
            ("-a", "invalid repository name"),
            ("a..b", "invalid repository name"),
            ("a_-b", "invalid repository name"),
            ("re dis", "invalid repository name"),
            ("ex.com:/x", "invalid registry"),
            ("-ex.com/x", "invalid registry"),
            // A '.' makes "a_b.c" a registry, and a host has no '_'.
            ("a_b.c/x", "invalid registry"),
            ("ex.com:port/x", "invalid registry"),
            ("redis:", "invalid tag"),
            ("redis:-x", "invalid tag"),
            ("redis:.x", "invalid tag"),
            ("redis:a:b", "invalid tag"),
            ("redis:é", "invalid tag"),
            (&long_tag, "invalid tag"),
            (&long_name, "255 characters"),
            ("redis@", "invalid digest"),
            ("redis@sha256:abc", "invalid digest"),
            (
                "redis@sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
                "invalid digest",
            ),
            (
                "redis@md5:e3b0c44298fc1c149afbf4c8996fb924",
                "invalid digest",
            ),
            (
                "redis@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855@x",
                "invalid digest",
            ),
        ];
        for &(input, message) in cases {
            let err = parse(input).expect_err(input).to_string();
            assert!(err.contains(message), "{input}: {err}");
            assert!(err.contains(&format!("\"{input}\"")), "{input}: {err}");
            assert!(!is_valid(input), "{input}");
        }
    }
}
