//! Tests that need a program from Debian's packages (a registry, Podman): skipped with a note
//! when it is missing, unless the run requires it (CI does), so a missing install step shows.

use std::process::Command;

/// Whether `program` is installed. When it is not: fails the test if the environment variable
/// `required_by` is `1`, else notes the skip on stderr and returns `false`.
pub fn program(program: &str, required_by: &str, package: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        let hint = format!("{program} is not installed (apt-get install {package})");
        assert!(
            std::env::var(required_by).map_or(true, |v| v != "1"),
            "{hint}"
        );
        eprintln!("skipped: {hint}");
    }
    found
}
