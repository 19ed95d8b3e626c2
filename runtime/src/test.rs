//! One `#[docker_test]` function: what it asks for, the values its parameters receive, what it
//! returns, and its run from the first container to the last removal.
//!
//! `#[should_panic]` is judged here, not by libtest: the expansion takes the attribute off the
//! `#[test]` and passes it on as [`TestSpec::should_panic`]. libtest would count any panic,
//! including dockside's own set-up failure ("no docker daemon"), as the expected one; here only
//! the body's panic can satisfy it. So:
//!
//! | set-up | body | result |
//! |---|---|---|
//! | ok | panics (message contains `expected`, if given) | passes; no log dump; `DOCKSIDE_KEEP=on-failure` keeps nothing |
//! | ok | panics with another message | fails, showing the panic message and the expected substring |
//! | ok | returns | fails: "test did not panic as expected" |
//! | fails (no daemon, build, readiness, a panicking probe) | not run | fails with the set-up error |
//! | skipped (`DOCKSIDE_SKIP_WITHOUT_DOCKER=1`) | not run | passes, with the skip note |

use crate::error::Error;
use crate::fixture::{self, Param};
use crate::process::signals;
use crate::session::Session;
use crate::test_spec::TestSpec;
use std::any::Any;
use std::fmt::Debug;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

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

/// What a `#[docker_test]` function may return: `()`, or `Result<(), E>` where `E: Debug`
/// (an `Err` fails the test, showing the error as `#[test]` does).
#[diagnostic::on_unimplemented(
    message = "`#[docker_test]` functions return `()` or `Result<(), E>` where `E: Debug`, not `{Self}`",
    label = "not `()` or `Result<(), E>` with `E: Debug`",
    note = "a `#[docker_test]` function returns `()` or `Result<(), E>`, and `E` implements `Debug`"
)]
pub trait Outcome {
    /// Whether the test failed, so its containers' logs are reported.
    fn is_failure(&self) -> bool;
    /// What a test that was skipped (no daemon, and skipping was asked for) returns.
    fn passed() -> Self;
}

/// Compiles only when `R` may be a test function's return type: the expansion's check outside
/// `cfg(test)`, as [`assert_param`](crate::fixture::assert_param) is for parameters.
pub const fn assert_outcome<R: Outcome>() {}

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

/// Runs an async test body on a fresh runtime, like `#[tokio::test]`: current-thread unless the
/// spec asks for [`Flavor::MultiThread`](crate::rt::Flavor::MultiThread).
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
    // Catching the panic lets the containers be reported and removed first.
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
    let end = judge(spec.should_panic, outcome);
    if !matches!(end, End::Passed(_)) {
        signals::await_exit_if_interrupted();
    }
    session.finish(!matches!(end, End::Passed(_)));
    match end {
        End::Passed(value) | End::Failed(value) => value,
        // The same payload, so the panic reads as the body wrote it.
        End::Panicked(payload) => resume_unwind(payload),
        End::Wrong(message) => panic!("dockside: {}: {message}", spec.name),
    }
}

/// How a test ended, once the body ran.
enum End<R> {
    /// Passed: the body returned a success, or panicked as expected.
    Passed(R),
    /// The body returned a failure (`Err`), which the test returns.
    Failed(R),
    /// The body panicked and no panic was expected: the panic goes on.
    Panicked(Box<dyn Any + Send>),
    /// A panic was expected and did not come, or came with another message.
    Wrong(String),
}

fn judge<R: Outcome>(
    should_panic: Option<Option<&'static str>>,
    outcome: std::thread::Result<R>,
) -> End<R> {
    match (should_panic, outcome) {
        (None, Ok(value)) if value.is_failure() => End::Failed(value),
        (None, Ok(value)) => End::Passed(value),
        (None, Err(payload)) => End::Panicked(payload),
        (Some(_), Ok(_)) => End::Wrong("test did not panic as expected".to_owned()),
        (Some(expected), Err(payload)) => match panic_mismatch(expected, payload.as_ref()) {
            None => End::Passed(R::passed()),
            Some(message) => End::Wrong(message),
        },
    }
}

/// Why a panic does not satisfy `#[should_panic(expected = ...)]`, in libtest's words; `None`
/// when it does. As libtest: a substring match on a `&str` or `String` payload.
fn panic_mismatch(expected: Option<&str>, payload: &(dyn Any + Send)) -> Option<String> {
    let expected = expected?;
    let message = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied());
    match message {
        Some(message) if message.contains(expected) => None,
        Some(message) => Some(format!(
            "panic did not contain expected string\n      panic message: {message:?}\n \
             expected substring: {expected:?}"
        )),
        None => Some(format!(
            "expected panic with string value,\n found non-string value: {:?}\n     \
             expected substring: {expected:?}",
            payload.type_id()
        )),
    }
}

/// Fails the test whose set-up failed. The report names the test and says what failed first;
/// `resume_unwind` skips the panic hook, so no "panicked at" line points into dockside (the
/// fault is in the test's containers, not at a line of ours). The payload is the report, for
/// `#[should_panic(expected = "...")]` and for runners that print it.
fn setup_failed(test: &str, error: &Error) -> ! {
    signals::await_exit_if_interrupted();
    let report = format!("dockside: setting up test {test} failed: {error}");
    eprintln!("{report}");
    resume_unwind(Box::new(report))
}

#[cfg(test)]
mod tests {
    use std::panic::catch_unwind;

    use super::*;

    fn panicking<R>(payload: impl Any + Send) -> std::thread::Result<R> {
        Err(Box::new(payload))
    }

    fn verdict(end: End<()>) -> Result<(), String> {
        match end {
            End::Passed(()) => Ok(()),
            End::Failed(()) => Err("failed".to_owned()),
            End::Panicked(_) => Err("panicked".to_owned()),
            End::Wrong(message) => Err(message),
        }
    }

    #[test]
    fn without_should_panic_a_panic_goes_on() {
        assert_eq!(verdict(judge(None, Ok(()))), Ok(()));
        assert_eq!(
            verdict(judge(None, panicking("boom"))),
            Err("panicked".to_owned())
        );
        assert!(matches!(
            judge::<Result<(), ()>>(None, Ok(Err(()))),
            End::Failed(Err(()))
        ));
    }

    #[test]
    fn any_panic_of_the_body_satisfies_a_bare_should_panic() {
        assert_eq!(verdict(judge(Some(None), panicking("boom"))), Ok(()));
        assert_eq!(verdict(judge(Some(None), panicking(7_u8))), Ok(()));
        assert!(matches!(
            judge::<Result<(), ()>>(Some(None), panicking("boom")),
            End::Passed(Ok(()))
        ));
    }

    #[test]
    fn a_returning_body_does_not_satisfy_should_panic() {
        assert_eq!(
            verdict(judge(Some(None), Ok(()))),
            Err("test did not panic as expected".to_owned())
        );
        // An `Err` is no panic either.
        assert!(matches!(
            judge::<Result<(), ()>>(Some(None), Ok(Err(()))),
            End::Wrong(_)
        ));
    }

    #[test]
    fn expected_is_a_substring_of_a_string_payload() {
        let expected = Some(Some("divide by zero"));
        assert_eq!(
            verdict(judge(expected, panicking("attempt to divide by zero"))),
            Ok(())
        );
        let formatted = catch_unwind(|| panic!("attempt to {} by zero", "divide"));
        assert_eq!(verdict(judge(expected, formatted)), Ok(()));
        assert_eq!(
            verdict(judge(expected, panicking("overflow"))),
            Err(
                "panic did not contain expected string\n      panic message: \"overflow\"\n \
                 expected substring: \"divide by zero\""
                    .to_owned()
            )
        );
        let other = verdict(judge(expected, panicking(7_u8))).unwrap_err();
        assert!(
            other.starts_with("expected panic with string value,\n found non-string value: "),
            "{other}"
        );
    }
}
