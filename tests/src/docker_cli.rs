//! Checks through the `docker` CLI, so a test's assertions do not depend on the code under test.
//!
//! The CLI talks to whatever `DOCKER_HOST` names, like dockside itself. Every helper panics
//! with the CLI's own words when the CLI cannot run or fails unexpectedly: these are test
//! assertions, and a test cannot go on without their answer.

use std::process::{Command, Output};

/// Runs `docker ARGS` and returns what it printed and how it exited.
///
/// # Panics
/// If the `docker` CLI cannot be started.
pub fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run `docker {}`: {e}", args.join(" ")))
}

/// Runs `docker ARGS`, panicking unless it succeeds, and returns its trimmed stdout.
///
/// # Panics
/// If the command cannot be started or exits unsuccessfully.
pub fn docker_ok(args: &[&str]) -> String {
    let output = docker(args);
    assert!(
        output.status.success(),
        "`docker {}` failed ({}): {}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stderr).trim()
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// Full ids of all containers, running or not, carrying `label` (`key` or `key=value`).
pub fn containers_with_label(label: &str) -> Vec<String> {
    let filter = format!("label={label}");
    docker_ok(&["ps", "--all", "--quiet", "--no-trunc", "--filter", &filter])
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Whether the daemon has an image by this reference (name:tag or id).
pub fn image_exists(reference: &str) -> bool {
    docker(&["image", "inspect", "--format", "{{.Id}}", reference])
        .status
        .success()
}

/// Removes an image reference; a missing one is fine. Only the reference goes when the image
/// has other tags. Other failures are reported on stderr rather than panicking, because this
/// runs in clean-up code, often during unwinding.
///
/// Untagged parent images stay (`--no-prune`): with the classic builder they are the layer
/// cache that a concurrent build of similar content may be building on at this moment.
pub fn remove_image(reference: &str) {
    remove(
        &["image", "rm", "--force", "--no-prune", reference],
        reference,
    );
}

/// Removes every image carrying `label` (`key=value`), intermediate ones included: the classic
/// builder leaves one image per step, and a failed build leaves the steps before the failure.
/// Without `--force`, and so never an image a container uses; parents shared with other images
/// stay, since the daemon only prunes parents nothing else builds on.
pub fn remove_images_labelled(label: &str) {
    let filter = format!("label={label}");
    let ids = docker_ok(&[
        "image",
        "ls",
        "--all",
        "--quiet",
        "--no-trunc",
        "--filter",
        &filter,
    ]);
    // Children first (the listing is newest first), so each removal can prune its own parents.
    for id in ids.lines() {
        remove(&["image", "rm", id], id);
    }
}

/// Removes a container, running or not, with its anonymous volumes; a missing one is fine
/// (see [`remove_image`]).
pub fn remove_container(id: &str) {
    remove(&["container", "rm", "--force", "--volumes", id], id);
}

fn remove(args: &[&str], what: &str) {
    let output = docker(args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() && !stderr.contains("No such") {
        eprintln!("warning: cannot remove {what}: {}", stderr.trim());
    }
}

/// `docker inspect --format FORMAT ID`, trimmed, e.g. `inspect(id, "{{.State.ExitCode}}")`.
///
/// # Panics
/// If the object does not exist or the format is invalid.
pub fn inspect(id: &str, format: &str) -> String {
    docker_ok(&["inspect", "--format", format, id])
}

/// Runs any command and returns its stdout, failing the test with its stderr if it fails.
pub fn run_ok(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Removes what a test created when it goes out of scope, also when the test fails half-way:
/// push each container, image and image label as soon as it exists.
#[derive(Debug, Default)]
pub struct Cleanup {
    /// Containers, removed first, with their anonymous volumes.
    pub containers: Vec<String>,
    /// Image references or ids (see [`remove_image`]).
    pub images: Vec<String>,
    /// Labels (`key=value`) whose images all go, intermediate ones of classic builds included.
    pub labelled: Vec<String>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for id in &self.containers {
            remove_container(id);
        }
        for image in &self.images {
            remove_image(image);
        }
        for label in &self.labelled {
            remove_images_labelled(label);
        }
    }
}
