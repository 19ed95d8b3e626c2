//! Typed fixtures: a test parameter whose type says which container it needs and what the test
//! receives instead of the bare [`Container`] (a connected client, a base URL).
//!
//! The container comes first, ready as its spec's `wait`s say; then [`Fixture::setup`] turns it
//! into the value, retried until the container's startup timeout. Keeping the two steps apart is
//! what lets one container serve several setups (a container shared by a run, set up per test).

use std::any::type_name;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use crate::container::{Container, ContainerSpec};
use crate::error::{BoxError, Error, Result};

/// A type a `#[docker_test]` parameter can have: it names the container it needs and makes
/// itself from that container once it is ready.
///
/// ```no_run
/// use dockside::{docker_test, Container, ContainerSpec, Fixture};
///
/// /// An HTTP server's base URL.
/// struct Web {
///     url: String,
///     _container: Container,
/// }
///
/// impl Fixture for Web {
///     fn container() -> ContainerSpec {
///         ContainerSpec::new("web").image("nginx:1.27").port(80)
///     }
///
///     async fn setup(container: Container) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
///         let url = format!("http://{}", container.addr(80));
///         Ok(Web { url, _container: container })
///     }
/// }
///
/// #[docker_test]
/// async fn serves(web: Web) {
///     assert!(web.url.starts_with("http://127.0.0.1:"));
/// }
/// ```
///
/// The parameter's name names the container (its host name on the test's network, its label),
/// whatever name [`container`](Fixture::container) gives. Relative paths in the spec
/// (`dockerfile`, `context`, mount sources) are taken from the test crate's folder, as in the
/// attribute. `#[container(...)]` settings on the parameter override the spec key by key (see
/// [`ContainerSpec::overridden_by`]).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is neither `dockside::Container` nor a `dockside::Fixture`",
    label = "a `#[docker_test]` parameter must be a `dockside::Container` or implement `dockside::Fixture`",
    note = "implement `dockside::Fixture` for `{Self}`, or take a `dockside::Container` with `#[container(...)]` settings"
)]
pub trait Fixture: Sized {
    /// The container this type needs when the parameter carries no settings of its own.
    fn container() -> ContainerSpec;

    /// Makes the test's value from the ready container. An `Err` means "not yet": it is retried
    /// at short intervals until the container's startup timeout (which also covers the wait for
    /// readiness), and the last one is reported, with the container's logs, if it never
    /// succeeds. A panic is not retried: it fails the set-up at once.
    ///
    /// It runs on the test's tokio runtime (current-thread, like `#[tokio::test]`'s, unless the
    /// test asks for `flavor = "multi_thread"`), also for a plain `fn` test; tasks it spawns
    /// keep running while the test body runs.
    // Called only through `block_on` on that runtime, never spawned, so the future needs no
    // `Send` bound; the lint warns of exactly that bound.
    #[allow(async_fn_in_trait)]
    async fn setup(container: Container) -> Result<Self, BoxError>;
}

/// What a `#[docker_test]` parameter's type may be: [`Container`] or a [`Fixture`]. This is the
/// trait the expansion calls; its message names both options.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` is neither `dockside::Container` nor a `dockside::Fixture`",
    label = "a `#[docker_test]` parameter must be a `dockside::Container` or implement `dockside::Fixture`",
    note = "implement `dockside::Fixture` for `{Self}`, or take a `dockside::Container` with `#[container(...)]` settings"
)]
pub trait Param: Sized {
    /// The parameter's container: `settings` (from the attribute, named after the parameter)
    /// on top of the type's own spec, if it has one.
    fn spec(settings: ContainerSpec) -> ContainerSpec;

    /// The parameter's value from its ready container.
    #[allow(async_fn_in_trait)]
    async fn make(container: Container) -> Result<Self, BoxError>;

    /// The type's name in messages, for a fixture.
    fn fixture_name() -> Option<&'static str>;
}

/// Compiles only when `T` may be a parameter's type: the expansion's check outside `cfg(test)`,
/// where the test function (and its calls that need [`Param`]) is compiled out, so `cargo
/// check` and `cargo build` report a bad parameter type too.
pub const fn assert_param<T: Param>() {}

impl Param for Container {
    fn spec(settings: ContainerSpec) -> ContainerSpec {
        settings
    }

    async fn make(container: Container) -> Result<Self, BoxError> {
        Ok(container)
    }

    fn fixture_name() -> Option<&'static str> {
        None
    }
}

impl<T: Fixture> Param for T {
    fn spec(settings: ContainerSpec) -> ContainerSpec {
        T::container().overridden_by(settings)
    }

    fn make(container: Container) -> impl Future<Output = Result<Self, BoxError>> {
        T::setup(container)
    }

    fn fixture_name() -> Option<&'static str> {
        Some(type_name::<T>())
    }
}

/// The longest pause between two `setup` attempts: short, as a test waits on it.
const MAX_PAUSE: Duration = Duration::from_millis(250);

/// Runs `T`'s set-up on `container` until it succeeds or `deadline` passes, on `runtime`.
/// `limit` is the whole startup timeout, for the message. A panic in the set-up is caught and
/// becomes the error, so the caller cleans up as for any failed set-up.
pub(crate) fn set_up<T: Param>(
    runtime: &tokio::runtime::Runtime,
    container: &Container,
    deadline: Instant,
    limit: Duration,
) -> Result<T> {
    let Some(fixture) = T::fixture_name() else {
        // A bare container is ready as it is; no retries, no deadline.
        let made = runtime.block_on(T::make(container.clone()));
        return made.map_err(|e| failure(runtime, "dockside::Container", container, limit, e));
    };
    let attempts = catch_unwind(AssertUnwindSafe(|| {
        runtime.block_on(retry::<T>(container, deadline))
    }));
    match attempts {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(last)) => Err(failure(runtime, fixture, container, limit, last)),
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_owned());
            let last = format!("setup panicked: {message}").into();
            Err(failure(runtime, fixture, container, limit, last))
        }
    }
}

async fn retry<T: Param>(container: &Container, deadline: Instant) -> Result<T, BoxError> {
    let mut pause = Duration::from_millis(25);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        // One attempt that never returns is cut off at the deadline like a failing one.
        let last: BoxError = match tokio::time::timeout(left, T::make(container.clone())).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(e)) => e,
            Err(_) => return Err(format!("setup did not return within the {left:?} left").into()),
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(last);
        }
        tokio::time::sleep(pause.min(left)).await;
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

fn failure(
    runtime: &tokio::runtime::Runtime,
    fixture: &'static str,
    container: &Container,
    limit: Duration,
    last: BoxError,
) -> Error {
    let lines = crate::config::log_lines();
    let logs = runtime.block_on(async {
        let docker = crate::docker::connect().await?;
        container.log_tail(&docker, Some(lines)).await
    });
    Error::Setup {
        fixture,
        container: container.name().to_owned(),
        limit,
        last_error: last,
        logs: logs.unwrap_or_else(|e| format!("(no logs: {e})")),
    }
}
