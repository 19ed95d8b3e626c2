//! Real Docker containers for Rust tests, with one attribute.
//!
//! ```no_run
//! use dockside::{docker_test, Container};
//!
//! #[docker_test(image = "nginx:1.27", ports = [80])]
//! async fn serves_index(web: Container) {
//!     let stream = std::net::TcpStream::connect(web.addr(80)).unwrap();
//!     drop(stream);
//! }
//! ```
//!
//! `#[docker_test]` expands to a plain `#[test]` that makes sure the image exists (pulling or
//! building it once per run across all test processes), starts the container, waits until it is
//! really ready, hands it to the test, and removes it afterwards. See the README for every
//! argument and environment variable.

#![warn(missing_docs, unreachable_pub, missing_debug_implementations)]

mod config;
mod container;
mod docker;
mod endpoint;
mod engine;
mod error;
mod fixture;
pub mod image;
mod labels;
mod names;
mod process;
mod reaper;
mod rt;
mod run;
mod session;
mod state_file;
mod test;
mod test_spec;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use container::{Container, ContainerSpec, ExecOutput, Probe, ProbeOutcome, Wait};
pub use dockside_macros::docker_test;
/// Why a text is not an image reference: the source of [`Error::InvalidReference`].
pub use dockside_syntax::ReferenceError;
pub use error::{Error, Result};
pub use fixture::Fixture;
pub use image::{BuildSpec, Image, ResolvedImage};
