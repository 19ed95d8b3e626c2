//! Part (e): what each tool costs a user's crate before its first test runs. A one-test crate per
//! tool is built from nothing (its own empty target folder, the versions of this crate's
//! `Cargo.lock`), timed, and its compiled crates counted; and dockside's own dependencies are
//! weighed by the crates that only they bring in.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::process::Command;
use std::time::{Duration, Instant};

/// A one-test crate using one tool.
pub struct Tool {
    pub name: &'static str,
    /// Its `[dev-dependencies]`; `{runtime}` stands for dockside's runtime folder.
    dependencies: &'static str,
    /// `tests/one.rs`.
    test: &'static str,
}

pub const TOOLS: [Tool; 3] = [
    Tool {
        name: "dockside",
        dependencies: "dockside = { path = \"{runtime}\" }\n",
        test: "#[dockside::docker_test(image = \"dockside-compare/fixture:latest\", ports = [8080])]\n\
               fn one(web: dockside::Container) {\n    let _ = web.addr(8080);\n}\n",
    },
    Tool {
        name: "testcontainers-rs 0.28",
        dependencies: "testcontainers = { version = \"0.28\", features = [\"blocking\"] }\n",
        test: "use testcontainers::core::{IntoContainerPort, WaitFor};\n\
               use testcontainers::runners::SyncRunner;\n\
               #[test]\nfn one() {\n    let web = testcontainers::GenericImage::new(\"dockside-compare/fixture\", \"latest\")\n\
               \x20       .with_exposed_port(8080.tcp())\n\
               \x20       .with_wait_for(WaitFor::message_on_stdout(\"listening on 8080\"))\n\
               \x20       .start()\n        .unwrap();\n    let _ = web.get_host_port_ipv4(8080);\n}\n",
    },
    Tool {
        name: "bollard 0.21 + tokio",
        dependencies: "bollard = \"0.21\"\ntokio = { version = \"1\", features = [\"rt\", \"macros\"] }\n",
        test: "#[tokio::test]\nasync fn one() {\n    let docker = bollard::Docker::connect_with_local_defaults().unwrap();\n\
               \x20   let _ = docker.version().await;\n}\n",
    },
];

/// One cold build.
pub struct ColdBuild {
    time: Duration,
    crates: usize,
    /// Why it failed, when it did.
    failure: Option<String>,
}

impl ColdBuild {
    pub fn describe(&self) -> String {
        match &self.failure {
            None => format!(
                "{}; {} crates compiled (the test crate included)",
                crate::seconds(self.time),
                self.crates
            ),
            Some(why) => format!("FAILED: {why}"),
        }
    }
}

fn runtime_dir() -> std::path::PathBuf {
    dockside_compare::crate_dir()
        .join("../../runtime")
        .canonicalize()
        .expect("the runtime folder")
}

/// Builds the tests of a fresh one-test crate using `tool`, from an empty target folder.
pub fn build(tool: &Tool) -> ColdBuild {
    let dir = tempfile::Builder::new()
        .prefix("dockside-compare-cold-")
        .tempdir()
        .expect("a temporary folder");
    let root = dir.path();
    let dependencies = tool
        .dependencies
        .replace("{runtime}", &runtime_dir().display().to_string());
    let manifest = format!(
        "[package]\nname = \"one-test\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
         [workspace]\n\n[dev-dependencies]\n{dependencies}"
    );
    let files = [
        ("Cargo.toml", manifest.as_str()),
        ("src/lib.rs", ""),
        ("tests/one.rs", tool.test),
    ];
    for (path, text) in files {
        let path = root.join(path);
        fs::create_dir_all(path.parent().expect("a folder")).expect("a folder");
        fs::write(&path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }
    // The versions this crate was measured with; cargo drops what the one-test crate lacks.
    let _ = fs::copy(
        dockside_compare::crate_dir().join("Cargo.lock"),
        root.join("Cargo.lock"),
    );
    eprintln!("compare: cold build with {}", tool.name);
    let started = Instant::now();
    let output = Command::new(env!("CARGO"))
        .args(["build", "--tests"])
        .current_dir(root)
        .env("CARGO_TARGET_DIR", root.join("target"))
        .env("CARGO_INCREMENTAL", "0")
        .output();
    let time = started.elapsed();
    match output {
        Ok(out) if out.status.success() => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let crates = stderr
                .lines()
                .filter(|line| line.trim_start().starts_with("Compiling "))
                .count();
            ColdBuild {
                time,
                crates,
                failure: None,
            }
        }
        Ok(out) => ColdBuild {
            time,
            crates: 0,
            failure: Some(
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .rev()
                    .take(5)
                    .collect::<Vec<_>>()
                    .join(" | "),
            ),
        },
        Err(e) => ColdBuild {
            time,
            crates: 0,
            failure: Some(e.to_string()),
        },
    }
}

/// dockside's direct dependencies with, for each, the crates only it brings in and all the
/// crates under it (itself included), heaviest first by the first figure: what leaving it out
/// would save.
pub fn subtrees() -> Vec<(String, usize, usize)> {
    let output = Command::new(env!("CARGO"))
        .args([
            "tree",
            "-e",
            "normal,build",
            "--prefix",
            "depth",
            "--no-dedupe",
        ])
        .current_dir(runtime_dir())
        .output()
        .expect("cargo tree");
    let text = String::from_utf8_lossy(&output.stdout);
    let mut under: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut current = None;
    for line in text.lines() {
        let depth_end = line
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(line.len());
        let depth: usize = line[..depth_end].parse().unwrap_or(0);
        let name = line[depth_end..]
            .split(' ')
            .next()
            .unwrap_or_default()
            .to_owned();
        match depth {
            0 => current = None,
            1 => {
                under.entry(name.clone()).or_default().insert(name.clone());
                current = Some(name);
            }
            _ => {
                if let Some(direct) = &current {
                    under.entry(direct.clone()).or_default().insert(name);
                }
            }
        }
    }
    let mut weighed: Vec<(String, usize, usize)> = under
        .iter()
        .map(|(direct, crates)| {
            let only = crates
                .iter()
                .filter(|c| {
                    under
                        .iter()
                        .all(|(other, set)| other == direct || !set.contains(*c))
                })
                .count();
            (direct.clone(), only, crates.len())
        })
        .collect();
    weighed.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.cmp(&a.2)));
    weighed.truncate(8);
    weighed
}
