//! The Dockerfile reader that finds base images (`FROM` after `ARG` substitution, `--from=`)
//! and the `# syntax=` directive: any text and any build args, no panic, no hang.
//!
//! Input: the Dockerfile, then a NUL byte, then build args as `NAME=value` lines.

#![no_main]

use std::collections::HashSet;

use dockside_fuzz::dockerfile::{base_images, syntax_directive};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let (dockerfile, args) = input.split_once('\0').unwrap_or((input, ""));
    let build_args: Vec<(String, String)> = args
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
    let bases = base_images(dockerfile, &build_args);
    let mut seen = HashSet::new();
    for base in &bases {
        assert!(!base.is_empty(), "an empty base image in {bases:?}");
        assert!(seen.insert(base), "{base:?} listed twice in {bases:?}");
        assert_ne!(base, "scratch", "scratch is no image to pull");
    }
    let _ = syntax_directive(dockerfile);
});
