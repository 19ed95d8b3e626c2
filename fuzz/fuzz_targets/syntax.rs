//! The grammar the macro and the runtime share (`dockside-syntax`): image references,
//! durations, byte sizes and mounts. Any text: no panic, and what parses reads back the same.

#![no_main]

use dockside_syntax::{parse_duration, parse_mount, parse_reference, parse_size};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(reference) = parse_reference(text) {
        // The normalised and the familiar forms name the same image.
        let normalized = reference.normalized();
        let again = parse_reference(&normalized).expect("a normalised reference parses");
        assert_eq!(again.normalized(), normalized, "from {text:?}");
        let familiar = parse_reference(&reference.familiar()).expect("a familiar reference parses");
        assert_eq!(familiar.normalized(), normalized, "from {text:?}");
    }
    if let Ok(duration) = parse_duration(text) {
        // Zero is refused: a zero timeout would fail every wait at once.
        assert!(!duration.is_zero(), "{text:?}");
    }
    let _ = parse_size(text);
    let _ = parse_mount(text);
});
