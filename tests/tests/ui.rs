//! Compile-fail tests of `#[docker_test]`: every bad input is a compile error pointing at the
//! offending token. Snapshots: `TRYBUILD=overwrite cargo test -p dockside-tests --test ui`.

#[test]
fn ui() {
    trybuild::TestCases::new().compile_fail("ui/fail/*.rs");
}
