//! The attribute's keys: one row per key. Parsing and checking (`attr.rs`), the rules across
//! keys (`valid.rs`) and the expansion (`expand.rs`) read these tables, so a new key is a row
//! here and a builder method on the runtime's `ContainerSpec` (or `TestSpec`, for a key of the
//! test), which stays the authority on what a setting means.

/// How a key's value is written, checked and passed on.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `"ref"`: an image reference in the grammar of `dockside-syntax`.
    Image,
    /// `"path"`: an existing `"file"` or `"directory"`, as the word says, relative to the crate
    /// directory.
    Local(&'static str),
    /// `"text"`, not empty.
    Text,
    /// `"/path"`: absolute in the container.
    AbsolutePath,
    /// `["a", b]`: expressions of a type `impl Into<String>`, passed as one array; not empty
    /// when `true`.
    Strings(bool),
    /// `["/a", "/b"]`: absolute, unique; one call per path.
    Paths,
    /// `["host:/container:ro"]`: bind mounts; one call per mount.
    Mounts,
    /// `key(NAME = value, ...)`, repeatable, values `impl Into<String>`; the words name one pair
    /// in messages.
    Pairs(&'static str),
    /// `[8080, 5432]`: unique port numbers; one call per port.
    Ports,
    /// `port(N)`, `log(..)`, `healthy`, `http(..)`, `custom(..)`, `exit(..)`, `exec([..])`, or
    /// `all(..)` of these; one call per wait.
    Wait,
    /// `"1m30s"`: passed as a `Duration`.
    Duration,
    /// `"512m"`: passed as bytes.
    Size,
    /// A bare word, no value: on when written; the builder method takes no argument.
    Flag,
    /// `"word"`: one of the words, passed as the variant of the runtime enum `__private::<type>`
    /// that is the word in CamelCase (`"multi_thread"`: `MultiThread`).
    Choice(&'static str, &'static [&'static str]),
    /// `N`: a whole number, at least 1.
    Count,
    /// `"path"`: the runtime's path, for a renamed dependency; the expansion's root, not a call.
    Crate,
}

/// What a key asks of the other keys of its attribute.
#[derive(Clone, Copy)]
pub(crate) enum Needs {
    Nothing,
    /// This key must be set too, with this word if one is given.
    Key(&'static str, Option<&'static str>),
    /// This key must not be set; the words say why.
    Not(&'static str, &'static str),
}

/// One key.
pub(crate) struct Key {
    /// The name written in the attribute.
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    /// The builder method the value goes to.
    pub(crate) method: &'static str,
    pub(crate) needs: Needs,
}

const fn key(name: &'static str, kind: Kind, method: &'static str, needs: Needs) -> Key {
    Key {
        name,
        kind,
        method,
        needs,
    }
}

use Kind::*;
use Needs::Nothing;

/// Only meaningful for a built image.
const BUILD: Needs = Needs::Key("dockerfile", None);

/// Only meaningful for a pulled image.
const PULLED: Needs = Needs::Not(
    "dockerfile",
    "applies to a pulled `image`, not to a `dockerfile` build (its `FROM` images follow \
     DOCKSIDE_PULL)",
);

const PULL: Kind = Choice("Pull", &dockside_syntax::PULL_POLICIES);
const FLAVOR: Kind = Choice("Flavor", &["current_thread", "multi_thread"]);
const MULTI_THREAD: Needs = Needs::Key("flavor", Some("multi_thread"));

/// Every container key, in the order the builder calls are emitted and the keys are listed.
pub(crate) const KEYS: &[Key] = &[
    key("image", Image, "image", Nothing),
    key("dockerfile", Local("file"), "dockerfile", Nothing),
    key("context", Local("directory"), "context", BUILD),
    key("target", Text, "target", BUILD),
    key("build_arg", Pairs("build argument"), "build_arg", BUILD),
    key("cmd", Strings(true), "cmd", Nothing),
    key("entrypoint", Strings(false), "entrypoint", Nothing),
    key("env", Pairs("environment variable"), "env", Nothing),
    key("labels", Pairs("label"), "label", Nothing),
    key("ports", Ports, "port", Nothing),
    key("wait", Wait, "wait", Nothing),
    key("healthcheck", Strings(true), "healthcheck", Nothing),
    key("startup_timeout", Duration, "startup_timeout", Nothing),
    key("user", Text, "user", Nothing),
    key("workdir", AbsolutePath, "workdir", Nothing),
    key("tmpfs", Paths, "tmpfs", Nothing),
    key("mounts", Mounts, "mount", Nothing),
    key("memory", Size, "memory", Nothing),
    key("pull", PULL, "pull", PULLED),
    key("shared", Flag, "shared", Nothing),
];

/// The keys of the test itself, only in `#[docker_test(...)]`: `crate`, which names the runtime,
/// then those only for an `async fn`, whose methods are `TestSpec`'s.
pub(crate) const TEST_KEYS: &[Key] = &[
    key("crate", Crate, "", Nothing),
    key("flavor", FLAVOR, "flavor", Nothing),
    key("worker_threads", Count, "worker_threads", MULTI_THREAD),
];

/// The row of `name` in `table`.
pub(crate) fn find(table: &'static [Key], name: &syn::Ident) -> Option<&'static Key> {
    table.iter().find(|key| name == key.name)
}
