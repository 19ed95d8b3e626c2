//! The pure parsers the fuzz targets drive, compiled from their own source files in `runtime/`
//! so a fuzz build needs neither the Docker client nor the rest of the runtime: the code fuzzed
//! is the code that ships, built without what it never calls.

#![allow(dead_code, unreachable_pub)]

/// The `.dockerignore` reader and matcher (`runtime/src/image/dockerignore.rs`).
#[path = "../../runtime/src/image/dockerignore.rs"]
pub mod dockerignore;

/// Image references, as the runtime reads them (`dockerfile.rs` reaches them as `super::reference`).
#[path = "../../runtime/src/image/reference.rs"]
mod reference;

/// The Dockerfile reader: base images and the `# syntax=` directive.
#[path = "../../runtime/src/image/dockerfile.rs"]
pub mod dockerfile;
