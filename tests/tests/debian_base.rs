//! The examples' base-image step (`tests/fixture/debian_base.rs`, run by `examples/build.rs`)
//! against the real daemon, where the image is missing and cannot be pulled: without mmdebstrap
//! it stops, carries the daemon's words, says what to install, and makes nothing.

#[path = "../fixture/debian_base.rs"]
mod debian_base;

use dockside_tests::docker_cli;

/// Not on this daemon, and no registry has it.
const MISSING: &str = "dockside-test/missing-base:never";

#[test]
fn without_mmdebstrap_it_says_what_to_install() {
    // A PATH holding only `docker`, so mmdebstrap cannot be found even where it is installed.
    let docker = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join("docker"))
        .find(|path| path.is_file())
        .expect("the docker CLI is on PATH");
    let bin = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(&docker, bin.path().join("docker")).unwrap();
    // The only test in this binary, so no other thread reads the environment meanwhile.
    std::env::set_var("PATH", bin.path());

    let outcome = debian_base::ensure(MISSING, "bookworm");

    let message = match outcome {
        Err(message) => message,
        Ok(debian_base::Outcome::NoDocker(why)) => panic!("the daemon did not answer: {why}"),
        Ok(debian_base::Outcome::Present | debian_base::Outcome::Pulled) => {
            panic!("{MISSING} was found or pulled")
        }
        Ok(debian_base::Outcome::Made(took)) => panic!("{MISSING} was made in {took:?}"),
    };
    assert!(
        message.contains(&format!("{MISSING} is not present and pulling it failed (")),
        "{message}"
    );
    assert!(
        message.ends_with("install it with `apt-get install mmdebstrap`"),
        "{message}"
    );
    assert!(!docker_cli::image_exists(MISSING), "{MISSING} was created");
}
