//! The container keys: one row per key. Parsing (`attr.rs`), the checks (`valid.rs`) and the
//! expansion (`expand.rs`) read this table, so a new key is a row here and a builder method on
//! the runtime's `ContainerSpec`, which stays the authority on what a setting means.

/// How a key's value is written and checked.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `"ref"`: an image reference in the grammar of `dockside-syntax`.
    Image,
    /// `"path"`: an existing file, relative to the crate directory.
    File,
    /// `"path"`: an existing directory, relative to the crate directory.
    Directory,
    /// `"text"`, not empty.
    Text,
    /// `"/path"`: absolute in the container.
    AbsolutePath,
    /// `["a", "b"]`, not empty; passed as one slice.
    Command,
    /// `["a", "b"]`, maybe empty; passed as one slice.
    Strings,
    /// `["/a", "/b"]`: absolute, unique; one call per path.
    Paths,
    /// `["host:/container:ro"]`: bind mounts; one call per mount.
    Mounts,
    /// `key(NAME = "value", ...)`, repeatable; the words name one pair in messages.
    Pairs(&'static str),
    /// `[8080, 5432]`: unique port numbers; one call per port.
    Ports,
    /// `port(N)`, `log("re")`, `healthy`, `http(N, "/p")` or `custom(path)`.
    Wait,
    /// `"1m30s"`: passed as a `Duration`.
    Duration,
    /// `"512m"`: passed as bytes.
    Size,
    /// A bare word, no value: on when written; the builder method takes no argument.
    Flag,
    /// `"word"`: one of the words, passed as the variant of the same name (capitalised) of the
    /// runtime enum `__private::<type>`.
    Choice(&'static str, &'static [&'static str]),
}

/// One container key.
pub(crate) struct Key {
    /// The name written in the attribute.
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    /// The `ContainerSpec` builder method the value goes to.
    pub(crate) method: &'static str,
    /// The key only means something for a built image.
    pub(crate) needs_dockerfile: bool,
    /// The key only means something for an image that is pulled (`image` without `dockerfile`).
    pub(crate) needs_pulled_image: bool,
}

const fn key(name: &'static str, kind: Kind, method: &'static str) -> Key {
    Key {
        name,
        kind,
        method,
        needs_dockerfile: false,
        needs_pulled_image: false,
    }
}

const fn build_key(name: &'static str, kind: Kind, method: &'static str) -> Key {
    Key {
        needs_dockerfile: true,
        ..key(name, kind, method)
    }
}

const fn pull_key(name: &'static str, kind: Kind, method: &'static str) -> Key {
    Key {
        needs_pulled_image: true,
        ..key(name, kind, method)
    }
}

/// Every container key, in the order the builder calls are emitted and the keys are listed.
pub(crate) const KEYS: &[Key] = &[
    key("image", Kind::Image, "image"),
    key("dockerfile", Kind::File, "dockerfile"),
    build_key("context", Kind::Directory, "context"),
    build_key("target", Kind::Text, "target"),
    build_key("build_arg", Kind::Pairs("build argument"), "build_arg"),
    key("cmd", Kind::Command, "cmd"),
    key("entrypoint", Kind::Strings, "entrypoint"),
    key("env", Kind::Pairs("environment variable"), "env"),
    key("labels", Kind::Pairs("label"), "label"),
    key("ports", Kind::Ports, "port"),
    key("wait", Kind::Wait, "wait"),
    key("healthcheck", Kind::Command, "healthcheck"),
    key("startup_timeout", Kind::Duration, "startup_timeout"),
    key("user", Kind::Text, "user"),
    key("workdir", Kind::AbsolutePath, "workdir"),
    key("tmpfs", Kind::Paths, "tmpfs"),
    key("mounts", Kind::Mounts, "mount"),
    key("memory", Kind::Size, "memory"),
    pull_key(
        "pull",
        Kind::Choice("Pull", &["missing", "always", "never"]),
        "pull",
    ),
    key("shared", Kind::Flag, "shared"),
];

/// The row of `name`, if it is a container key.
pub(crate) fn find(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|key| key.name == name)
}
