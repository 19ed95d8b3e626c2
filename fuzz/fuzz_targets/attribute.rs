//! The `#[docker_test]` attribute: parsing, checks and expansion, on any tokens. Never a panic;
//! whatever the input, the output is tokens (the test, or the function plus compile errors).
//!
//! Input: the attribute's arguments, then a NUL byte, then the item (a function).

#![no_main]

use std::str::FromStr;

use libfuzzer_sys::fuzz_target;
use proc_macro2::TokenStream;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let (args, item) = input.split_once('\0').unwrap_or((input, "fn t(c: Container) {}"));
    let (Ok(args), Ok(item)) = (TokenStream::from_str(args), TokenStream::from_str(item)) else {
        return;
    };
    let _ = dockside_fuzz::expand_attribute(args, item);
});
