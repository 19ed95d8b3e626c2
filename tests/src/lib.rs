//! Support code for dockside's integration tests, which run against a real Docker daemon.
//!
//! - [`registry`]: registries on loopback, open or password-protected, to pull from.
//! - [`proxy`]: a Docker API proxy on a unix socket that counts requests and injects the faults
//!   a healthy daemon cannot be made to produce: faults are injected at the socket, so bollard
//!   is never mocked.
//! - [`fixture`]: the fixture program every test image runs, and build contexts holding it.
//! - [`docker_cli`]: assertions through the `docker` CLI, independent of dockside's own code;
//!   [`owned`]: what the daemon holds for an owner, the same way.
//! - [`tls`]: a TLS terminator in front of the daemon that checks client certificates.
//! - [`podman`]: a Podman service on a private socket, as the engine of a test or a whole run.
//! - [`isolated`]: a child test run under `unshare` (another PID namespace, no /proc), read
//!   while it runs.
//! - [`watchers`]: the processes that watch a run to remove its shared containers after it.

pub mod child;
pub mod docker_cli;
pub mod figures;
pub mod fixture;
pub mod http;
pub mod isolated;
pub mod net;
pub mod owned;
pub mod podman;
pub mod proxy;
pub mod registry;
pub mod require;
pub mod tls;
pub mod watchers;
