//! The fixture program and the build contexts that hold it.
//!
//! `tests/build.rs` compiles `tests/fixture/fixture.rs` into a static binary at
//! `tests/fixtures/bin/fixture`. `tests/fixtures/Dockerfile` (build context: `tests/fixtures`)
//! is the base test image: `FROM scratch`, the binary at `/fixture` as the entrypoint, and
//! `serve --port 8080` as the default command. Run the binary without arguments for its
//! subcommands.

use std::fs;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

/// The fixture binary built by `tests/build.rs`. Derived from this crate's folder at compile
/// time rather than from a build-script variable, which cargo may replay from a cached run of
/// the same package elsewhere.
pub fn fixture_bin() -> PathBuf {
    fixtures_dir().join("bin/fixture")
}

/// `tests/fixtures`: the build context of the test Dockerfiles, holding `bin/fixture`.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// `tests/fixtures/Dockerfile`, the base test image (context: [`fixtures_dir`]).
pub fn base_dockerfile() -> PathBuf {
    fixtures_dir().join("Dockerfile")
}

/// A fresh build context holding `fixture` (a copy of [`fixture_bin`]) and a `Dockerfile` with
/// the given text, for tests that need a Dockerfile nobody has built before.
///
/// ```no_run
/// let context = dockside_tests::fixture::temp_context(
///     "FROM scratch\nCOPY fixture /fixture\nENTRYPOINT [\"/fixture\"]\n",
/// );
/// assert!(context.path().join("Dockerfile").is_file());
/// ```
///
/// # Panics
/// If the directory or its files cannot be written: a test cannot go on without them.
pub fn temp_context(dockerfile: &str) -> TempDir {
    let dir = tempfile::Builder::new()
        .prefix("dockside-context-")
        .tempdir()
        .unwrap_or_else(|e| panic!("cannot create a temporary build context: {e}"));
    let bin = fixture_bin();
    fs::copy(&bin, dir.path().join("fixture"))
        .unwrap_or_else(|e| panic!("cannot copy the fixture binary {}: {e}", bin.display()));
    fs::write(dir.path().join("Dockerfile"), dockerfile)
        .unwrap_or_else(|e| panic!("cannot write {}/Dockerfile: {e}", dir.path().display()));
    dir
}
