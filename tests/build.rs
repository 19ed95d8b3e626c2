//! Builds the fixture program (`fixture/fixture.rs`) into `fixtures/bin/fixture`, where the test
//! Dockerfiles' build context (`fixtures/`) picks it up.
//!
//! It is compiled with the same `rustc` cargo uses, as a static binary, because the test images
//! are `FROM scratch`: no registry is reachable, so there is no base image with a C library.
//! The output is replaced only when its bytes change, so build contexts (and the content-derived
//! image tags dockside computes from them) stay identical across rebuilds.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=fixture/fixture.rs");

    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let source = manifest_dir.join("fixture/fixture.rs");
    let bin_dir = manifest_dir.join("fixtures/bin");
    let target = bin_dir.join("fixture");

    // Compile into OUT_DIR, private to this build, so concurrent builds (other profiles or target
    // directories) never see each other's half-written files.
    let compiled = out_dir.join("fixture");
    let output = Command::new(&rustc)
        .arg(&source)
        .args([
            "--edition",
            "2021",
            "--crate-name",
            "fixture",
            "--crate-type",
            "bin",
        ])
        .args([
            "-O",
            "-C",
            "target-feature=+crt-static",
            "-C",
            "strip=symbols",
        ])
        .arg("-o")
        .arg(&compiled)
        .output()
        .unwrap_or_else(|e| fail(&format!("cannot run {}: {e}", Path::new(&rustc).display())));
    if !output.status.success() {
        fail(&format!(
            "compiling the fixture program {} failed ({}):\n{}{}",
            source.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        ));
    }

    let bytes = fs::read(&compiled)
        .unwrap_or_else(|e| fail(&format!("cannot read {}: {e}", compiled.display())));
    if fs::read(&target).ok().as_deref() != Some(bytes.as_slice()) {
        fs::create_dir_all(&bin_dir)
            .unwrap_or_else(|e| fail(&format!("cannot create {}: {e}", bin_dir.display())));
        // Copy next to the target, then rename: a Docker build reading the context meanwhile
        // sees the old binary or the new one, never a torn one. The temporary name is excluded
        // from the context by fixtures/.dockerignore.
        let staging = bin_dir.join(format!(".fixture.{}.tmp", std::process::id()));
        fs::copy(&compiled, &staging)
            .and_then(|_| fs::rename(&staging, &target))
            .unwrap_or_else(|e| {
                let _ = fs::remove_file(&staging);
                fail(&format!("cannot write {}: {e}", target.display()))
            });
    }

    println!("cargo:rustc-env=DOCKSIDE_FIXTURE_BIN={}", target.display());
}

fn fail(message: &str) -> ! {
    eprintln!("error: dockside-tests build script: {message}");
    std::process::exit(1);
}
