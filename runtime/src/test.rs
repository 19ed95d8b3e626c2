//! One `#[docker_test]` function: what it asks for, the values its parameters receive, what it
//! returns, and its run from the first container to the last removal.

use std::fmt::Debug;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::path::Path;

use crate::container::ContainerSpec;
use crate::error::Error;
use crate::fixture::{self, Param};
use crate::session::Session;

/// One `#[docker_test]` function: its name, its crate's folder, its containers.
#[derive(Debug)]
pub struct TestSpec {
    pub(crate) name: &'static str,
    pub(crate) manifest_dir: &'static Path,
    pub(crate) containers: Vec<ContainerSpec>,
}

impl TestSpec {
    /// A test named `name` (for labels and messages) in the crate whose folder is
    /// `manifest_dir`, against which relative Dockerfile paths are resolved.
    pub fn new(name: &'static str, manifest_dir: &'static str) -> Self {
        TestSpec {
            name,
            manifest_dir: Path::new(manifest_dir),
            containers: Vec::new(),
        }
    }

    /// Adds the container of the next parameter, a plain [`Container`](crate::Container).
    pub fn container(self, spec: ContainerSpec) -> Self {
        self.param::<crate::Container>(spec)
    }

    /// Adds the container of the next parameter, of type `T`: `settings` are the parameter's
    /// (named after it), on top of a fixture type's own spec.
    pub fn param<T: Param>(mut self, settings: ContainerSpec) -> Self {
        self.containers
            .push(T::spec(settings).resolve_mounts(self.manifest_dir));
        self
    }
}

/// The test's containers, taken in parameter order.
pub struct Args<'a> {
    session: &'a Session,
    next: usize,
}

/// The unwinding payload of a failed fixture set-up, so [`run`] can tell it from the body's
/// panic.
struct SetupFailed(Error);

impl std::fmt::Debug for Args<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Args")
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

impl<'a> Args<'a> {
    fn new(session: &'a Session) -> Self {
        Args { session, next: 0 }
    }

    /// The next parameter's value: its container, or what its fixture's set-up made of it.
    pub fn take<T: Param>(&mut self) -> T {
        // The expansion calls `take` once per `param` it registered, and the session starts one
        // container per spec, so there is always one left here.
        let (container, deadline, limit) = self
            .session
            .container(self.next)
            .expect("one container per #[docker_test] parameter");
        self.next += 1;
        fixture::set_up(self.session.runtime(), &container, deadline, limit)
            // Unwinding (without the panic hook) reaches `run`, which removes the containers
            // before reporting the error like a failed start.
            .unwrap_or_else(|error| resume_unwind(Box::new(SetupFailed(error))))
    }
}

/// Return types of test functions: `()` or `Result<(), E>`, as for `#[test]`.
pub trait Outcome {
    /// Whether the test failed, so its containers' logs are reported.
    fn is_failure(&self) -> bool;
    /// What a test that was skipped (no daemon, and skipping was asked for) returns.
    fn passed() -> Self;
}

impl Outcome for () {
    fn is_failure(&self) -> bool {
        false
    }
    fn passed() -> Self {}
}

impl<E: Debug> Outcome for Result<(), E> {
    fn is_failure(&self) -> bool {
        self.is_err()
    }
    fn passed() -> Self {
        Ok(())
    }
}

/// Runs a synchronous test body. The body runs on the test's own thread outside any tokio
/// runtime, so a body that builds its own runtime does not nest one inside ours.
///
/// Meanwhile a helper thread drives the runtime, so tasks a fixture's set-up spawned (a database
/// client's connection) keep working for the body.
pub fn run_sync<R: Outcome>(spec: TestSpec, body: impl FnOnce(Args<'_>) -> R) -> R {
    run(spec, |args, session| {
        let (done, finished) = tokio::sync::oneshot::channel::<()>();
        std::thread::scope(|scope| {
            // The body's `take`s call `block_on` too while the helper holds the runtime:
            // tokio polls their set-ups on this thread, and the helper drives their I/O.
            scope.spawn(|| session.block_on(finished));
            // Dropping `done` (also when the body unwinds) ends the helper.
            let _done = done;
            body(args)
        })
    })
}

/// Runs an async test body on a fresh current-thread runtime, like `#[tokio::test]`.
pub fn run_async<R: Outcome, Fut: Future<Output = R>>(
    spec: TestSpec,
    body: impl FnOnce(Args<'_>) -> Fut,
) -> R {
    run(spec, |args, session| session.block_on(body(args)))
}

fn run<R: Outcome>(spec: TestSpec, body: impl FnOnce(Args<'_>, &Session) -> R) -> R {
    let session = match Session::start(&spec) {
        Ok(Some(session)) => session,
        Ok(None) => return R::passed(),
        Err(error) => setup_failed(spec.name, &error),
    };
    let args = Args::new(&session);
    // Catching the panic lets the containers be reported and removed first; resuming the same
    // payload keeps `#[should_panic(expected = "...")]` working.
    let outcome = catch_unwind(AssertUnwindSafe(|| body(args, &session)));
    let outcome = match outcome {
        Err(payload) => match payload.downcast::<SetupFailed>() {
            Ok(setup) => {
                // A failed set-up is a failed start, not the body's failure: its error carries
                // the container's logs, and nothing is kept.
                session.abort();
                setup_failed(spec.name, &setup.0)
            }
            Err(payload) => Err(payload),
        },
        Ok(value) => Ok(value),
    };
    let failed = outcome.as_ref().map_or(true, Outcome::is_failure);
    session.finish(failed);
    match outcome {
        Ok(value) => value,
        Err(payload) => resume_unwind(payload),
    }
}

/// Fails the test whose set-up failed. The report names the test and says what failed first;
/// `resume_unwind` skips the panic hook, so no "panicked at" line points into dockside (the
/// fault is in the test's containers, not at a line of ours). The payload is the report, for
/// `#[should_panic(expected = "...")]` and for runners that print it.
fn setup_failed(test: &str, error: &Error) -> ! {
    let report = format!("dockside: setting up test {test} failed: {error}");
    eprintln!("{report}");
    resume_unwind(Box::new(report))
}
