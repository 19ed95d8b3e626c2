//! `with_podman COMMAND [ARG...]`: runs COMMAND with `DOCKER_HOST` naming a Podman service of its
//! own (private socket, configuration and storage, see `dockside_tests::podman`), then stops the
//! service and removes what it held. Exits with COMMAND's status.
//!
//! CI runs the core tests and the examples a second time this way, so they prove dockside
//! against Podman as well as Docker. Without the `podman` program it runs nothing and says so,
//! unless `DOCKSIDE_TEST_REQUIRE_PODMAN=1`, which makes that a failure.

use std::process::{Command, ExitCode};

use dockside_tests::podman::Podman;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let Some(program) = args.next() else {
        eprintln!("usage: with_podman COMMAND [ARG...]");
        return ExitCode::from(2);
    };
    let Some(podman) = Podman::start() else {
        return ExitCode::SUCCESS;
    };
    let host = podman.docker_host();
    eprintln!("with_podman: DOCKER_HOST={host}");
    let status = Command::new(&program)
        .args(args)
        .env("DOCKER_HOST", &host)
        .status();
    let code = match status {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("with_podman: {program:?} ended with {status}");
            eprintln!("with_podman: the Podman service's log:\n{}", podman.log());
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("with_podman: cannot run {program:?}: {e}");
            ExitCode::FAILURE
        }
    };
    drop(podman);
    code
}
