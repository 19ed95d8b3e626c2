//! Everything the suites need before the clock runs: the fixture image under the tag the other
//! tools use, the `generated/` build contexts, the test binaries, and the proxy.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use dockside::{BuildSpec, Image};
use dockside_compare::{generated, FIXTURE_IMAGE, FRESH_TAG};
use dockside_tests::proxy::{local_daemon_socket, DockerProxy};

use crate::daemon::Daemon;

/// The label on every image a round of suite (b) builds, whatever the tool.
pub const ROUND_LABEL: &str = "dockside-compare.round";
/// The big context: as many files as a real repository's `context = "."`, 400 MB in all.
const BIG_FILES: usize = 20_000;
const BIG_FILE_BYTES: usize = 20 * 1024;
/// What the fixture server's images run, whatever their context holds.
const DOCKERFILE_TAIL: &str = "ENTRYPOINT [\"/fixture\"]\nCMD [\"serve\", \"--port\", \"8080\"]\n";

/// What the driver made, to use and to remove afterwards.
pub struct Prepared {
    /// The daemon's API version, which the proxy caps requests at.
    pub api_version: String,
    /// The proxy every suite talks to the daemon through.
    pub proxy: DockerProxy,
    /// What the big context holds, for the table.
    pub big_context: String,
    /// `cargo nextest list`'s description of the test binaries, to run them without cargo.
    pub binaries: PathBuf,
    /// `cargo metadata` of this crate, which nextest needs with `binaries`.
    pub cargo_metadata: PathBuf,
    /// Images the driver made (the contexts of suite (d)), removed at the end.
    made: Vec<String>,
}

pub fn prepare(daemon: &Daemon, big: bool) -> Prepared {
    let fixture = Image::Build(BuildSpec::new(
        dockside_compare::crate_dir().join("../../tests/fixtures/Dockerfile"),
    ))
    .resolve()
    .unwrap_or_else(|e| panic!("the fixture image: {e}"));
    daemon.tag(&fixture.id, FIXTURE_IMAGE.0, FIXTURE_IMAGE.1);

    // Every test binary is built, so every context's Dockerfile must be there.
    for name in ["small", "big", "fresh"] {
        write_context(name, "");
    }
    let big_context = if big {
        write_big_context()
    } else {
        "not measured".to_owned()
    };
    let (binaries, cargo_metadata) = build_tests();

    let mut made = Vec::new();
    if big {
        // Files written within 3 s of a hashing are not cached (see the README): let them age,
        // so the image's first resolve leaves the digest cache as a user's earlier run would.
        std::thread::sleep(Duration::from_secs(4));
        for name in ["small", "big"] {
            let image = Image::Build(BuildSpec::new(generated(name).join("Dockerfile")))
                .resolve()
                .unwrap_or_else(|e| panic!("the image of generated/{name}: {e}"));
            made.push(image.id);
        }
    }

    let proxy = DockerProxy::start(&local_daemon_socket())
        .unwrap_or_else(|e| panic!("starting the counting proxy: {e}"));
    let api_version = daemon.api_version();
    let (major, minor) = api_version
        .split_once('.')
        .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
        .unwrap_or_else(|| panic!("the daemon's API version {api_version:?}"));
    proxy.cap_api_version(major, minor);
    Prepared {
        api_version,
        proxy,
        big_context,
        binaries,
        cargo_metadata,
        made,
    }
}

impl Prepared {
    /// Removes the images the driver made and its tag on the fixture image (the image itself is
    /// the test suite's, and stays).
    pub fn clean_up(&self, daemon: &Daemon) {
        for id in &self.made {
            daemon.remove_image(id);
        }
        daemon.remove_image(&format!("{}:{}", FIXTURE_IMAGE.0, FIXTURE_IMAGE.1));
    }
}

/// Before each run of a suite (b): a Dockerfile nobody has built, and its tag for the tools that
/// need one, in the environment.
pub fn fresh_round() -> Vec<(String, String)> {
    let nonce = format!(
        "{}",
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    );
    write_context("fresh", &format!("LABEL {ROUND_LABEL}=\"{nonce}\"\n"));
    vec![(FRESH_TAG.to_owned(), nonce)]
}

/// `generated/<name>`: the fixture program and a Dockerfile that runs it, with `extra` lines.
fn write_context(name: &str, extra: &str) {
    let dir = generated(name);
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    let fixture = dir.join("fixture");
    // Copied only when missing or different, so an unchanged context keeps its file stamps.
    let bin = fs::read(dockside_tests::fixture::fixture_bin()).expect("the fixture program");
    if fs::read(&fixture).ok().as_deref() != Some(bin.as_slice()) {
        write(&fixture, &bin);
        set_executable(&fixture);
    }
    let dockerfile = format!("FROM scratch\nCOPY fixture /fixture\n{extra}{DOCKERFILE_TAIL}");
    if fs::read_to_string(dir.join("Dockerfile")).ok() != Some(dockerfile.clone()) {
        write(&dir.join("Dockerfile"), dockerfile.as_bytes());
    }
}

/// `generated/big`: the fixture's context plus `BIG_FILES` files of `BIG_FILE_BYTES` bytes in
/// 200 folders. Written once; a later run finds it complete and keeps it (and its digests).
fn write_big_context() -> String {
    let data = generated("big").join("data");
    let done = generated("big").join(".complete");
    let description = format!(
        "{BIG_FILES} files, {} MB",
        BIG_FILES * BIG_FILE_BYTES / 1_000_000
    );
    if fs::read_to_string(&done).ok().as_deref() == Some(description.as_str()) {
        return description;
    }
    let _ = fs::remove_dir_all(&data);
    let mut content = vec![0u8; BIG_FILE_BYTES];
    for i in 0..BIG_FILES {
        let dir = data.join(format!("d{:03}", i % 200));
        if i < 200 {
            fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        }
        // Every file different, as in a real tree.
        let header = format!("file {i}\n");
        content[..header.len()].copy_from_slice(header.as_bytes());
        for (j, byte) in content[header.len()..].iter_mut().enumerate() {
            *byte = b'a' + ((i + j) % 26) as u8;
        }
        write(&dir.join(format!("f{i:05}.txt")), &content);
    }
    write(&done, description.as_bytes());
    description
}

/// Builds the test binaries once and records what nextest needs to run them without invoking
/// cargo again, so a suite's time is its tests'.
fn build_tests() -> (PathBuf, PathBuf) {
    let dir = generated("");
    let binaries = dir.join("binaries.json");
    let metadata = dir.join("cargo-metadata.json");
    let mut list = Command::new(env!("CARGO"));
    list.args(["nextest", "list", "--list-type", "binaries-only"])
        .args(["--message-format", "json"]);
    write(
        &binaries,
        &output(list.current_dir(dockside_compare::crate_dir())),
    );
    let mut meta = Command::new(env!("CARGO"));
    meta.args(["metadata", "--format-version", "1"]);
    write(
        &metadata,
        &output(meta.current_dir(dockside_compare::crate_dir())),
    );
    (binaries, metadata)
}

fn output(command: &mut Command) -> Vec<u8> {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("running {command:?}: {e}"));
    if !out.status.success() {
        panic!(
            "{command:?} failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out.stdout
}

fn write(path: &Path, bytes: &[u8]) {
    fs::write(path, bytes).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

fn set_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("making {} executable: {e}", path.display()));
}
