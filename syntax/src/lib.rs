//! The syntax that [dockside](https://docs.rs/dockside)'s `#[docker_test]` macro and its runtime
//! both read: image references, durations, byte sizes, bind mounts, and the rules of the other
//! values a test writes (container paths, ports, pair names, log patterns, HTTP paths, the
//! pull-policy words).
//!
//! The macro checks a value at compile time with the same function the runtime uses at run
//! time, so the two can never disagree about what is valid. Depend on `dockside` rather than on
//! this crate.
//!
//! ```
//! use std::time::Duration;
//!
//! let reference = dockside_syntax::parse_reference("redis:7").unwrap();
//! assert_eq!(reference.normalized(), "docker.io/library/redis:7");
//! assert_eq!(dockside_syntax::parse_duration("1m30s"), Ok(Duration::from_secs(90)));
//! assert_eq!(dockside_syntax::parse_size("512m"), Ok(512 << 20));
//! let mount = dockside_syntax::parse_mount("fixtures:/data:ro").unwrap();
//! assert!(mount.read_only);
//! ```

#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

mod mount;
mod reference;
mod units;
mod values;

pub use mount::{parse_mount, Mount, MountError};
pub use reference::{lowercased, parse_reference, Reference, ReferenceError};
pub use units::{parse_duration, parse_size, DurationError, SizeError};
pub use values::{
    container_path, http_path, log_pattern, one_of, pair_name, parse_port, PULL_POLICIES,
};
