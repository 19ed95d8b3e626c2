//! Holds one test, `tests/renamed.rs`, which uses dockside through a renamed dependency.
