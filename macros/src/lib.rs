//! The `#[docker_test]` attribute of [dockside](https://docs.rs/dockside). Depend on `dockside`,
//! which re-exports it, rather than on this crate.
//!
//! This crate only parses, checks and emits glue; everything that talks to Docker lives in the
//! `dockside` runtime. Layout: `keys.rs` declares the keys, `attr.rs` reads the arguments and
//! checks each value, `valid.rs` checks the rules across keys and parameters, `expand.rs` writes
//! the test. Image references,
//! durations, sizes and mounts are read by `dockside-syntax`, the parser the runtime uses too.
//! Only this file touches `proc_macro`; the rest works on `proc_macro2` types, so it can be
//! unit-tested and fuzzed outside a compiler.

extern crate proc_macro;

mod attr;
mod expand;
mod keys;
mod valid;

/// Turns a function that takes containers into a test that starts them.
///
/// ```ignore
/// use dockside::{docker_test, Container};
///
/// // One container: its arguments go in the attribute.
/// #[docker_test(image = "redis:7-alpine", ports = [6379])]
/// async fn caches(redis: Container) {
///     let addr = redis.addr(6379);
///     // ...
/// }
///
/// // Built from a Dockerfile in this crate; sync functions and `Result` returns work too.
/// #[docker_test(dockerfile = "fixtures/web/Dockerfile", ports = [8080], wait = http(8080, "/health"))]
/// fn serves(web: Container) -> Result<(), String> {
///     Ok(())
/// }
///
/// // Several containers: one `#[container(...)]` per parameter.
/// #[docker_test]
/// async fn replicates(
///     #[container(image = "postgres:16", env(POSTGRES_PASSWORD = "pw"), ports = [5432])] primary: Container,
///     #[container(dockerfile = "fixtures/replica/Dockerfile", ports = [5432])] replica: Container,
/// ) {
/// }
/// ```
///
/// The attribute expands to a plain `#[test]` function: it asks the runtime for the images,
/// starts the containers, waits until they are ready, calls the function with them, and removes
/// them afterwards. The function itself is kept intact inside the test; the attributes on it
/// (`#[ignore]`, docs, lint levels) apply to the test. `#[should_panic]` and
/// `#[should_panic(expected = "...")]` are judged by the runtime, against the body's panic
/// only: a set-up failure (no daemon, a failed build, a readiness timeout) fails the test, and a
/// test skipped for want of a daemon passes. The parameter's name
/// names the container; its type is anything the runtime can make from a container
/// (`dockside::Container`).
///
/// # Arguments
///
/// The container arguments are the same in `#[docker_test(...)]`, which configures the
/// function's single parameter, and in `#[container(...)]` on each parameter (then
/// `#[docker_test]` takes no container arguments, and every parameter needs one). Each key may
/// appear once, except `env`, `labels` and `build_arg`, whose lists add up. Checks marked
/// *compile time* fail the build, pointing at the offending token.
///
/// | Argument | Example | Meaning |
/// |---|---|---|
/// | `image` | `image = "ghcr.io/o/app:1.2"` | Image to run (pulled when missing). A Docker reference: `[host[:port]/]path[:tag][@digest]` (digest `sha256:`, `sha384:` or `sha512:` with its lowercase hex), lowercase path, at most 255 characters with the registry, not a bare 64-hex image ID; checked at compile time by the parser the runtime uses. With `dockerfile`, the built image is also known by this name. |
/// | `dockerfile` | `dockerfile = "fixtures/web/Dockerfile"` | Build the image from this Dockerfile, relative to the crate's directory (`CARGO_MANIFEST_DIR`); must exist at compile time. |
/// | `context` | `context = "fixtures"` | Build context directory, relative to the crate's directory; must exist. Default: the Dockerfile's directory. Needs `dockerfile`. |
/// | `target` | `target = "runtime"` | Build stage to stop at. Needs `dockerfile`. |
/// | `build_arg` | `build_arg(VERSION = "1.2", "MIRROR" = "...")` | Build arguments. Needs `dockerfile`. |
/// | `cmd` | `cmd = ["sh", "-c", "exec server"]` | Command, replacing the image's `CMD`; not empty. |
/// | `entrypoint` | `entrypoint = ["/bin/server"]` | Entrypoint, replacing the image's; `[]` is passed on as an empty list. |
/// | `env` | `env(RUST_LOG = "debug", "MY.VAR" = "1")` | Environment variables. |
/// | `labels` | `labels(team = "core", "com.example.kind" = "db")` | Container labels. |
/// | `ports` | `ports = [8080, 5432]` | Container ports to publish (on ephemeral host ports, 127.0.0.1 for a daemon on this machine): integers 1 to 65535, no repeats. Unless `wait` says otherwise, the test starts once the server inside accepts on every one. |
/// | `wait` | `wait = http(8080, "/health")` | Readiness: `port(N)` (the server accepts on `N`), `log("regex")` (a log line matches; the pattern is checked at compile time), `log("regex", times = N)` (`N` lines match), `healthy` (the Docker healthcheck passes), `http(N, "/path")` (a request succeeds), `custom(path::to::probe)` (an `async fn(Container)` returning `bool` or `Result<(), E: Display>`, called until it reports ready), `exit(N)` (the command exited with `N`), `exec(["cmd", "arg"])` (the command, run in the container, exits with 0), `all(w1, w2, ...)` (every one of them). The ports of `port` and `http` must be in `ports`. |
/// | `healthcheck` | `healthcheck = ["/bin/check", "--quick"]` | Healthcheck command (for `wait = healthy`), replacing the image's. |
/// | `startup_timeout` | `startup_timeout = "1m30s"` | Longest wait for readiness: numbers with units `h`, `m`, `s`, `ms`, largest first (`"500ms"`, `"30s"`, `"2m"`, `"1m30s"`). |
/// | `user` | `user = "1000:1000"` | User to run as. |
/// | `workdir` | `workdir = "/srv"` | Working directory; absolute. |
/// | `tmpfs` | `tmpfs = ["/tmp", "/run"]` | Mount a tmpfs at each path; absolute. |
/// | `mounts` | `mounts = ["fixtures/data:/data:ro"]` | Bind mounts, `host:container` with an optional `:ro` or `:rw`; the host path is relative to the crate's directory (or absolute) and must exist at compile time; the container path is absolute. |
/// | `memory` | `memory = "512m"` | Memory limit: bytes, or with a `b`, `k`, `m` or `g` suffix (any case, powers of 1024). |
/// | `pull` | `pull = "always"` | When to pull `image`: `"missing"` (when not present locally), `"always"` (once per run, even when present), `"never"` (fail when missing). Default: `DOCKSIDE_PULL`, else `"missing"`. Not with `dockerfile`. |
///
/// `image` or `dockerfile` (or both) is required. In `env`, `labels` and `build_arg`, a name is
/// an identifier or a string literal (for names such as `com.example.kind`); a name may appear
/// only once per container.
///
/// Only in `#[docker_test(...)]`:
///
/// | Argument | Example | Meaning |
/// |---|---|---|
/// | `crate` | `crate = "dockside2"` | Path to the `dockside` crate, for a renamed dependency. Default: `::dockside`. |
/// | `flavor` | `flavor = "multi_thread"` | The runtime an `async fn` runs on: `"current_thread"` (default) or `"multi_thread"`, as in `#[tokio::test]`. |
/// | `worker_threads` | `worker_threads = 4` | With `flavor = "multi_thread"`: how many worker threads (default: one per core). |
///
/// The values of `env`, `labels` and `build_arg`, and the items of `cmd`, `entrypoint`,
/// `healthcheck` and `exec([...])`, may be any expression of a type `impl Into<String>`,
/// evaluated when the test runs; every other value is a literal, checked at compile time.
///
/// # Rules
///
/// - Parameters are `name: Type`, taken by value: no patterns, no `self`, no `&`. The function
///   takes no generics.
/// - The function returns `()` or `Result<(), E>` where `E: Debug`.
/// - Put no `#[test]` on the function: the attribute makes it one. A `#[test]` above
///   `#[docker_test]` runs first and fails with rustc's "functions used as tests can not have any
///   arguments".
/// - Relative paths are checked when the crate compiles. Creating a missing Dockerfile does not
///   by itself rebuild the crate; touch the test file.
#[proc_macro_attribute]
pub fn docker_test(
    args: proc_macro::TokenStream,
    item: proc_macro::TokenStream,
) -> proc_macro::TokenStream {
    let before = source_before(&proc_macro::Span::call_site());
    expand::docker_test(args.into(), item.into(), before.as_deref()).into()
}

/// The source text before the attribute, when the compiler says where it is. A `#[test]` above
/// `#[docker_test]` expands first and leaves no trace in the tokens this macro receives; only
/// the source shows it.
fn source_before(attribute: &proc_macro::Span) -> Option<String> {
    let source = std::fs::read_to_string(attribute.local_file()?).ok()?;
    let mut lines: Vec<&str> = source.lines().take(attribute.line()).collect();
    let last = lines.pop()?;
    let column = attribute.column().saturating_sub(1);
    let end = last
        .char_indices()
        .nth(column)
        .map_or(last.len(), |(at, _)| at);
    Some(lines.join("\n") + "\n" + &last[..end])
}
