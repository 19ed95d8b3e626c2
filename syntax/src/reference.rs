//! Docker image references, read and normalised as Docker Engine does
//! (`distribution/reference`'s `ParseNormalizedNamed`):
//!
//! ```text
//! reference := name [ ":" tag ] [ "@" digest ]
//! name      := [ host [ ":" port ] "/" ] component ( "/" component )*
//! component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
//! tag       := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
//! digest    := "sha256:" 64 hex | "sha384:" 96 hex | "sha512:" 128 hex   (lowercase hex)
//! ```
//!
//! The first component is a registry host when it contains `.` or `:` or is `localhost`; the
//! full name (`docker.io/library/redis` for `redis`) is at most 255 characters. A bare string of
//! 64 hex digits is an image ID, which Docker refuses as a name. An upper-case first component
//! is an upper-case repository name, refused as Docker Engine 20.10 does (newer
//! `distribution/reference` versions read it as a host).

use std::fmt;

/// The registry a reference without a host belongs to.
const DEFAULT_REGISTRY: &str = "docker.io";
/// The name older Docker versions used for the default registry.
const LEGACY_DEFAULT_REGISTRY: &str = "index.docker.io";
/// The namespace of official images on the default registry.
const OFFICIAL_PREFIX: &str = "library/";
/// `distribution/reference`'s `NameTotalLengthMax`, for `registry/repository`.
const NAME_MAX: usize = 255;
const TAG_MAX: usize = 128;

/// Why a text is not an image reference. The message gives the reason only; callers put the
/// reference in front of it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReferenceError {
    /// The text is empty.
    Empty,
    /// 64 hex digits: an image ID, not a name.
    ImageId,
    /// The registry part is not `host[:port]`.
    Registry(String),
    /// The repository path is empty.
    EmptyRepository,
    /// A path component is empty (`a//b`, `a/`).
    EmptyComponent,
    /// The repository path has an upper-case letter.
    Uppercase,
    /// The repository path has a character no component may hold.
    Character(char),
    /// A path component has misplaced separators.
    Component(String),
    /// `registry/repository` is longer than Docker accepts.
    NameTooLong,
    /// The tag does not match `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
    Tag(String),
    /// The digest is malformed, of an unknown algorithm, or of the wrong length.
    Digest(String),
}

impl fmt::Display for ReferenceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReferenceError::Empty => f.write_str("the reference is empty"),
            ReferenceError::ImageId => {
                f.write_str("64 hexadecimal digits are an image id, not a reference; give a name")
            }
            ReferenceError::Registry(host) => write!(f, "invalid registry host `{host}`"),
            ReferenceError::EmptyRepository => f.write_str("the repository name is empty"),
            ReferenceError::EmptyComponent => {
                f.write_str("the repository name has an empty path component")
            }
            ReferenceError::Uppercase => f.write_str("repository name must be lowercase"),
            ReferenceError::Character(c) => {
                write!(f, "invalid character {c:?} in the repository name")
            }
            ReferenceError::Component(component) => write!(
                f,
                "invalid path component `{component}`: separate letters and digits with \
                 `.`, `_`, `__` or dashes"
            ),
            ReferenceError::NameTooLong => write!(
                f,
                "the repository name is longer than {NAME_MAX} characters, counting the \
                 registry (`docker.io/library/` for a short name)"
            ),
            ReferenceError::Tag(tag) => write!(
                f,
                "invalid tag `{tag}`: a tag is 1 to {TAG_MAX} letters, digits, `_`, `.` and `-`, \
                 not starting with `.` or `-`"
            ),
            ReferenceError::Digest(digest) => write!(
                f,
                "invalid digest `{digest}`: expected `sha256:`, `sha384:` or `sha512:` and \
                 64, 96 or 128 lowercase hex digits"
            ),
        }
    }
}

impl std::error::Error for ReferenceError {}

/// A parsed, fully qualified image reference.
///
/// ```
/// let r = dockside_syntax::parse_reference("redis:7").unwrap();
/// assert_eq!(r.registry, "docker.io");
/// assert_eq!(r.repository, "library/redis");
/// assert_eq!(r.normalized(), "docker.io/library/redis:7");
/// assert_eq!(r.familiar(), "redis:7");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    /// Registry host with optional port, e.g. `docker.io` or `localhost:5000`.
    pub registry: String,
    /// Repository path inside the registry, e.g. `library/redis`.
    pub repository: String,
    /// The tag, if one was given.
    pub tag: Option<String>,
    /// The digest (`algorithm:hex`), if one was given.
    pub digest: Option<String>,
}

/// `text` with its repository path in lower case (registry, tag and digest kept as written),
/// when that is a valid reference: the fix to suggest for [`ReferenceError::Uppercase`].
///
/// ```
/// assert_eq!(dockside_syntax::lowercased("Foo/Bar:Latest").as_deref(), Some("foo/bar:Latest"));
/// ```
pub fn lowercased(text: &str) -> Option<String> {
    let (name, digest) = match text.split_once('@') {
        Some((name, digest)) => (name, format!("@{digest}")),
        None => (text, String::new()),
    };
    let slash = name.rfind('/').map_or(0, |i| i + 1);
    let (repository, tag) = match name[slash..].find(':') {
        Some(colon) => name.split_at(slash + colon),
        None => (name, ""),
    };
    let candidate = repository.to_lowercase() + tag + &digest;
    parse_reference(&candidate).is_ok().then_some(candidate)
}

/// Parses `text` as Docker does, filling in the default registry and the `library/` namespace
/// of official images.
pub fn parse_reference(text: &str) -> Result<Reference, ReferenceError> {
    if text.is_empty() {
        return Err(ReferenceError::Empty);
    }
    if text.len() == 64 && text.bytes().all(is_lower_hex) {
        return Err(ReferenceError::ImageId);
    }
    let (name_and_tag, digest) = match text.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (text, None),
    };
    let (registry, remainder) = split_registry(name_and_tag);
    // The registry is gone, so a ':' left over can only start the tag; this is what keeps
    // "localhost:5000/x" from reading as tag "5000/x".
    let (path, tag) = match remainder.split_once(':') {
        Some((path, tag)) => (path, Some(tag)),
        None => (remainder, None),
    };
    if let Some(host) = registry {
        check_host(host)?;
    }
    check_path(path)?;
    let registry = match registry {
        None | Some(LEGACY_DEFAULT_REGISTRY) => DEFAULT_REGISTRY,
        Some(host) => host,
    };
    let repository = if registry == DEFAULT_REGISTRY && !path.contains('/') {
        format!("{OFFICIAL_PREFIX}{path}")
    } else {
        path.to_owned()
    };
    if registry.len() + 1 + repository.len() > NAME_MAX {
        return Err(ReferenceError::NameTooLong);
    }
    if let Some(tag) = tag {
        check_tag(tag)?;
    }
    if let Some(digest) = digest {
        check_digest(digest)?;
    }
    Ok(Reference {
        registry: registry.to_owned(),
        repository,
        tag: tag.map(str::to_owned),
        digest: digest.map(str::to_owned),
    })
}

/// Splits off the registry host, if the first component looks like one.
fn split_registry(name: &str) -> (Option<&str>, &str) {
    match name.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => {
            (Some(first), rest)
        }
        _ => (None, name),
    }
}

fn check_host(host: &str) -> Result<(), ReferenceError> {
    let (address, port) = if let Some(bracketed) = host.strip_prefix('[') {
        let (ipv6, after) = bracketed.split_once(']').unwrap_or(("", ""));
        let ipv6_ok = !ipv6.is_empty() && ipv6.chars().all(|c| c.is_ascii_hexdigit() || c == ':');
        match (ipv6_ok, after) {
            (true, "") => (None, None),
            (true, _) => match after.strip_prefix(':') {
                Some(port) => (None, Some(port)),
                None => return Err(ReferenceError::Registry(host.to_owned())),
            },
            (false, _) => return Err(ReferenceError::Registry(host.to_owned())),
        }
    } else {
        match host.split_once(':') {
            Some((address, port)) => (Some(address), Some(port)),
            None => (Some(host), None),
        }
    };
    let address_ok = address.is_none_or(|address| {
        address.split('.').all(|label| {
            !label.is_empty()
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
    });
    let port_ok =
        port.is_none_or(|port| !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()));
    if address_ok && port_ok {
        Ok(())
    } else {
        Err(ReferenceError::Registry(host.to_owned()))
    }
}

fn check_path(path: &str) -> Result<(), ReferenceError> {
    if path.is_empty() {
        return Err(ReferenceError::EmptyRepository);
    }
    path.split('/').try_for_each(check_component)
}

fn check_component(component: &str) -> Result<(), ReferenceError> {
    if component.is_empty() {
        return Err(ReferenceError::EmptyComponent);
    }
    if component.chars().any(char::is_uppercase) {
        return Err(ReferenceError::Uppercase);
    }
    if let Some(c) = component
        .chars()
        .find(|&c| !is_alphanumeric(c) && !matches!(c, '.' | '_' | '-'))
    {
        return Err(ReferenceError::Character(c));
    }
    let alphanumeric_ends =
        component.starts_with(is_alphanumeric) && component.ends_with(is_alphanumeric);
    let separators_ok = component
        .split(is_alphanumeric)
        .all(|run| matches!(run, "" | "." | "_" | "__") || run.chars().all(|c| c == '-'));
    if alphanumeric_ends && separators_ok {
        Ok(())
    } else {
        Err(ReferenceError::Component(component.to_owned()))
    }
}

fn is_alphanumeric(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

fn is_lower_hex(b: u8) -> bool {
    matches!(b, b'0'..=b'9' | b'a'..=b'f')
}

fn check_tag(tag: &str) -> Result<(), ReferenceError> {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let ok = tag.starts_with(word)
        && tag.len() <= TAG_MAX
        && tag.chars().all(|c| word(c) || c == '.' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(ReferenceError::Tag(tag.to_owned()))
    }
}

/// The algorithms Docker verifies (`opencontainers/go-digest`), each with its exact length.
fn check_digest(digest: &str) -> Result<(), ReferenceError> {
    let ok = digest.split_once(':').is_some_and(|(algorithm, hex)| {
        let expected = match algorithm {
            "sha256" => 64,
            "sha384" => 96,
            "sha512" => 128,
            _ => return false,
        };
        hex.len() == expected && hex.bytes().all(is_lower_hex)
    });
    if ok {
        Ok(())
    } else {
        Err(ReferenceError::Digest(digest.to_owned()))
    }
}

impl Reference {
    /// The fully qualified form, `registry/repository[:tag][@digest]`, with `:latest` added
    /// when neither a tag nor a digest was given (Docker's `TagNameOnly`).
    pub fn normalized(&self) -> String {
        self.with_suffix(self.name())
    }

    /// The short form Docker prints: the default registry and the `library/` namespace are
    /// left out, e.g. `redis:latest`.
    pub fn familiar(&self) -> String {
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
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The tag, or `latest` when none was given (also when only a digest was).
    pub fn tag_or_latest(&self) -> &str {
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

    const HEX64: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn an_uppercase_repository_gets_its_lowercase_form() {
        assert_eq!(lowercased("Redis").as_deref(), Some("redis"));
        let digest = format!("A/B:Tag@sha256:{HEX64}");
        assert_eq!(lowercased(&digest), Some(format!("a/b:Tag@sha256:{HEX64}")));
        // A registry's port is no tag.
        assert_eq!(
            lowercased("localhost:5000/Foo").as_deref(),
            Some("localhost:5000/foo")
        );
        assert_eq!(lowercased("Foo/bar:bad tag"), None);
    }

    #[test]
    fn normalizes_like_docker() {
        let sha = format!("sha256:{HEX64}");
        let sha512 = format!("sha512:{HEX64}{HEX64}");
        let with_digest = format!("redis@{sha}");
        let with_digest_norm = format!("docker.io/library/redis@{sha}");
        let both = format!("ghcr.io/o/r:1@{sha}");
        let with_sha512 = format!("localhost:5000/a@{sha512}");
        // A name of exactly 255 characters once normalised: "docker.io/" + "a/" + 243.
        let longest = format!("a/{}", "b".repeat(243));
        let longest_norm = format!("docker.io/{longest}:latest");
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
                "127.0.0.1:5000/a",
                "127.0.0.1:5000/a:latest",
                "127.0.0.1:5000/a:latest",
                "a",
                None,
            ),
            (
                "my-Registry.example.com/a",
                "my-Registry.example.com/a:latest",
                "my-Registry.example.com/a:latest",
                "a",
                None,
            ),
            (
                "ghcr.io/owner/app:pr-12",
                "ghcr.io/owner/app:pr-12",
                "ghcr.io/owner/app:pr-12",
                "owner/app",
                Some("pr-12"),
            ),
            (
                "[::1]:5000/foo:bar",
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
            (
                "a__b/c.d-e/f---g:Tag_1.x",
                "docker.io/a__b/c.d-e/f---g:Tag_1.x",
                "a__b/c.d-e/f---g:Tag_1.x",
                "a__b/c.d-e/f---g",
                Some("Tag_1.x"),
            ),
            (
                "x:_tag",
                "docker.io/library/x:_tag",
                "x:_tag",
                "library/x",
                Some("_tag"),
            ),
            // 63 hex digits, or upper-case ones, are a name like any other.
            (
                &HEX64[1..],
                &format!("docker.io/library/{}:latest", &HEX64[1..]),
                &format!("{}:latest", &HEX64[1..]),
                &format!("library/{}", &HEX64[1..]),
                None,
            ),
            (
                &with_digest,
                &with_digest_norm,
                &with_digest,
                "library/redis",
                None,
            ),
            (&both, &both, &both, "o/r", Some("1")),
            (&with_sha512, &with_sha512, &with_sha512, "a", None),
            (
                &longest,
                &longest_norm,
                &format!("{longest}:latest"),
                &longest,
                None,
            ),
        ];
        for &(input, normalized, familiar, repository, tag) in cases {
            let r = parse_reference(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(r.normalized(), normalized, "{input}");
            assert_eq!(r.to_string(), normalized, "{input}");
            assert_eq!(r.familiar(), familiar, "{input}");
            assert_eq!(r.repository, repository, "{input}");
            assert_eq!(r.tag.as_deref(), tag, "{input}");
        }
    }

    #[test]
    fn accessors() {
        let r = parse_reference("localhost:5000/a/b").unwrap();
        assert_eq!(r.name(), "localhost:5000/a/b");
        assert_eq!(r.tag_or_latest(), "latest");
        assert_eq!(r.digest, None);
        let sha = format!("sha256:{HEX64}");
        let r = parse_reference(&format!("redis:7@{sha}")).unwrap();
        assert_eq!(r.tag_or_latest(), "7");
        assert_eq!(r.digest.as_deref(), Some(sha.as_str()));
        assert_eq!(r.name(), "docker.io/library/redis");
    }

    #[test]
    fn rejects_what_docker_rejects() {
        use ReferenceError::*;
        let own = str::to_owned;
        // 256 once normalised, though only 246 as written.
        let too_long = format!("a/{}", "b".repeat(244));
        let long_tag = "t".repeat(129);
        let sha_upper = format!("sha256:{}", HEX64.to_uppercase());
        let sha384_short = format!("sha384:{HEX64}");
        let cases: Vec<(String, ReferenceError)> = vec![
            (own(""), Empty),
            (own(HEX64), ImageId),
            (own("Redis"), Uppercase),
            (own("Foo/bar"), Uppercase),
            (own("library/Redis:7"), Uppercase),
            (own("localhost:5000/Foo"), Uppercase),
            (own("docker.io/Foo"), Uppercase),
            (own("a//b"), EmptyComponent),
            (own("a/"), EmptyComponent),
            (own("/a"), EmptyComponent),
            (own(":tag"), EmptyRepository),
            (own("localhost/"), EmptyRepository),
            (own("re dis"), Character(' ')),
            (own("a%b"), Character('%')),
            (own("a-/b"), Component(own("a-"))),
            (own("-a"), Component(own("-a"))),
            (own("a."), Component(own("a."))),
            (own("a..b"), Component(own("a..b"))),
            (own("a___b"), Component(own("a___b"))),
            (own("a_-b"), Component(own("a_-b"))),
            (own("ex.com:/x"), Registry(own("ex.com:"))),
            (own("-ex.com/x"), Registry(own("-ex.com"))),
            (own("reg-.io/a"), Registry(own("reg-.io"))),
            // A '.' makes "a_b.c" a registry, and a host has no '_'.
            (own("a_b.c/x"), Registry(own("a_b.c"))),
            (own("ex.com:port/x"), Registry(own("ex.com:port"))),
            (own("[::1/a"), Registry(own("[::1"))),
            (own("[::1]x/a"), Registry(own("[::1]x"))),
            (too_long, NameTooLong),
            (own("redis:"), Tag(own(""))),
            (own("redis:-x"), Tag(own("-x"))),
            (own("redis:.x"), Tag(own(".x"))),
            (own("redis:a:b"), Tag(own("a:b"))),
            (own("redis:é"), Tag(own("é"))),
            (format!("redis:{long_tag}"), Tag(long_tag)),
            (own("redis@"), Digest(own(""))),
            (own("redis@sha256:abc"), Digest(own("sha256:abc"))),
            (format!("redis@{sha_upper}"), Digest(sha_upper)),
            (format!("redis@{sha384_short}"), Digest(sha384_short)),
            (
                own("redis@md5:e3b0c44298fc1c149afbf4c8996fb924"),
                Digest(own("md5:e3b0c44298fc1c149afbf4c8996fb924")),
            ),
            (
                format!("redis@sha256:{HEX64}@x"),
                Digest(format!("sha256:{HEX64}@x")),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_reference(&input), Err(expected), "{input}");
        }
        let ok_tag = format!("redis:{}", "t".repeat(128));
        assert!(parse_reference(&ok_tag).is_ok());
    }

    #[test]
    fn messages_name_the_part() {
        assert_eq!(
            ReferenceError::Digest("md5:0".to_owned()).to_string(),
            "invalid digest `md5:0`: expected `sha256:`, `sha384:` or `sha512:` and 64, 96 or \
             128 lowercase hex digits"
        );
        assert_eq!(
            ReferenceError::Uppercase.to_string(),
            "repository name must be lowercase"
        );
    }
}
