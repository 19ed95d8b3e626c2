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

// The attribute parser: the macro's modules work on `proc_macro2` types only (just the macro
// crate's `lib.rs` touches `proc_macro`), so they compile here as they are.
#[path = "../../macros/src/attr.rs"]
mod attr;
#[path = "../../macros/src/expand.rs"]
mod expand;
#[path = "../../macros/src/keys.rs"]
mod keys;
#[path = "../../macros/src/valid.rs"]
mod valid;

/// Expands `#[docker_test(args)] item` as the macro does, with relative paths resolved against
/// this crate's folder.
pub fn expand_attribute(
    args: proc_macro2::TokenStream,
    item: proc_macro2::TokenStream,
) -> proc_macro2::TokenStream {
    expand::expand(
        args,
        item,
        Some(std::path::Path::new(env!("CARGO_MANIFEST_DIR"))),
        None,
    )
}
