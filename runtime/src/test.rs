//! One `#[docker_test]` function: what it asks for, the values its parameters receive, what it
//! returns, and its run from the first container to the last removal.

use std::fmt::Debug;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::path::Path;

use crate::container::{Container, ContainerSpec};
use crate::error::Error;
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

    /// Adds the container of the next parameter.
    pub fn container(mut self, spec: ContainerSpec) -> Self {
        self.containers.push(spec);
        self
    }
}

/// The test's containers, taken in parameter order.
#[derive(Debug)]
pub struct Args {
    containers: std::vec::IntoIter<Container>,
}

impl Args {
    pub(crate) fn new(containers: Vec<Container>) -> Self {
        Args {
            containers: containers.into_iter(),
        }
    }

    /// The next parameter's value.
    pub fn take<T: FromContainer>(&mut self) -> T {
        // The expansion calls `take` once per `ContainerSpec` it registered, and the session
        // starts one container per spec, so there is always one left here.
        let container = self
            .containers
            .next()
            .expect("one container per #[docker_test] parameter");
        T::from_container(container)
    }
}

/// Types a `#[docker_test]` parameter may have.
#[diagnostic::on_unimplemented(
    message = "a `#[docker_test]` parameter must be a `dockside::Container`, not `{Self}`",
    label = "this parameter receives a container"
)]
pub trait FromContainer {
    /// The parameter's value, made from its started container.
    fn from_container(container: Container) -> Self;
}

impl FromContainer for Container {
    fn from_container(container: Container) -> Self {
        container
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
pub fn run_sync<R: Outcome>(spec: TestSpec, body: impl FnOnce(Args) -> R) -> R {
    run(spec, |args, _session| body(args))
}

/// Runs an async test body on a fresh current-thread runtime, like `#[tokio::test]`.
pub fn run_async<R: Outcome, Fut: Future<Output = R>>(
    spec: TestSpec,
    body: impl FnOnce(Args) -> Fut,
) -> R {
    run(spec, |args, session| session.block_on(body(args)))
}

fn run<R: Outcome>(spec: TestSpec, body: impl FnOnce(Args, &Session) -> R) -> R {
    let session = match Session::start(&spec) {
        Ok(Some(session)) => session,
        Ok(None) => return R::passed(),
        Err(error) => setup_failed(spec.name, &error),
    };
    let args = Args::new(session.containers());
    // Catching the panic lets the containers be reported and removed first; resuming the same
    // payload keeps `#[should_panic(expected = "...")]` working.
    let outcome = catch_unwind(AssertUnwindSafe(|| body(args, &session)));
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
