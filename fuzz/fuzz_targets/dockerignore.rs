//! The `.dockerignore` reader and matcher: any text and any path, no panic, no hang, and the
//! answers agree with each other.
//!
//! Input: the ignore file, then a NUL byte, then paths to test, one a line.

#![no_main]

use dockside_fuzz::dockerignore::DockerIgnore;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let (text, paths) = input.split_once('\0').unwrap_or((input, ""));
    let lenient = DockerIgnore::parse(text);
    let strict = DockerIgnore::try_parse(text);
    for path in paths.lines() {
        let excluded = lenient.is_excluded(path);
        // A file that Docker accepts whole is read the same by both parsers.
        if let Ok(strict) = &strict {
            assert_eq!(strict.is_excluded(path), excluded, "path {path:?}");
        }
        // Without `!` lines nothing inside an excluded folder can come back.
        if excluded && !lenient.has_exceptions() {
            let child = format!("{}/x", path.trim_end_matches('/'));
            assert!(lenient.is_excluded(&child), "{child:?} under {path:?}");
        }
    }
});
