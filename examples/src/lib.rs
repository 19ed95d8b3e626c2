//! Example tests of dockside live in `tests/`; this crate has no code of its own.
//!
//! Its build script compiles the small static server the examples run (`FROM scratch` images
//! need no registry) into `fixtures/bin/`.
