//! Which daemon to talk to, found in the order the Docker CLI and Testcontainers use:
//! `DOCKER_HOST`; the Docker context named by `DOCKER_CONTEXT` or the config's `currentContext`;
//! then the first of the usual sockets that exists (Docker, rootless Docker, Docker Desktop,
//! Colima, Podman rootless and rootful). Where ports are published and reached follows from it.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::config;

/// The daemon to connect to, and how it was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Endpoint {
    /// `unix:///path`, `tcp://host:port`, as bollard takes it.
    pub(crate) host: String,
    /// A context's TLS folder holding `ca.pem`, `cert.pem` and `key.pem`, when it has one.
    pub(crate) tls: Option<PathBuf>,
    /// Every place looked at, in order, ending with the one chosen: for the no-daemon message.
    pub(crate) tried: Vec<String>,
}

/// A context that cannot be read: it was named, so falling back to a socket would talk to a
/// daemon the user did not choose.
#[derive(Debug)]
pub(crate) struct BadContext {
    pub(crate) tried: Vec<String>,
    pub(crate) error: std::io::Error,
}

/// The default socket, also what is tried when no candidate exists (the connection then fails
/// with the OS's words).
const DEFAULT_SOCKET: &str = "/var/run/docker.sock";

/// The daemon's address (`unix:///…`, `tcp://…`), found as [`find`] says; a context that cannot
/// be read shows as its name, and connecting then fails with the reason.
pub(crate) fn docker_host() -> String {
    match find() {
        Ok(endpoint) => endpoint.host,
        Err(bad) => bad.tried.last().cloned().unwrap_or_default(),
    }
}

/// Finds the daemon from this process's environment and files.
pub(crate) fn find() -> Result<Endpoint, BadContext> {
    find_with(&|name| config::env(name), &|path| is_socket(path))
}

fn is_socket(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::metadata(path).is_ok_and(|m| m.file_type().is_socket())
}

/// [`find`] with the environment and the socket test given, so the order is testable.
fn find_with(
    env: &dyn Fn(&str) -> Option<String>,
    socket_exists: &dyn Fn(&Path) -> bool,
) -> Result<Endpoint, BadContext> {
    let mut tried = Vec::new();
    if let Some(host) = env("DOCKER_HOST") {
        tried.push(format!("DOCKER_HOST={host}"));
        return Ok(Endpoint {
            host,
            tls: None,
            tried,
        });
    }
    tried.push("DOCKER_HOST (not set)".to_owned());
    let config_dir = config::docker_config_dir(env);
    if let Some(dir) = &config_dir {
        let named = match env("DOCKER_CONTEXT") {
            Some(name) => Some((name, "DOCKER_CONTEXT".to_owned())),
            None => current_context(dir).map(|name| {
                (
                    name,
                    format!("currentContext in {}", dir.join("config.json").display()),
                )
            }),
        };
        match named {
            // `default` is the CLI's name for "DOCKER_HOST or the default socket".
            Some((name, _)) if name == "default" => {}
            Some((name, source)) => {
                let (meta, tls) = context_paths(dir, &name);
                tried.push(format!("context `{name}` ({source}): {}", meta.display()));
                let host = std::fs::read(&meta)
                    .and_then(|bytes| context_host(&bytes))
                    .map_err(|error| BadContext {
                        tried: tried.clone(),
                        error,
                    })?;
                let tls = ["ca.pem", "cert.pem", "key.pem"]
                    .iter()
                    .all(|file| tls.join(file).is_file())
                    .then_some(tls);
                tried.push(format!("{host} (the context's endpoint)"));
                return Ok(Endpoint { host, tls, tried });
            }
            None => tried.push("DOCKER_CONTEXT (not set), no currentContext".to_owned()),
        }
    }
    let runtime_dir = env("XDG_RUNTIME_DIR").map(PathBuf::from);
    let home = env("HOME").map(PathBuf::from);
    let candidates: Vec<PathBuf> = [
        Some(PathBuf::from(DEFAULT_SOCKET)),
        runtime_dir.as_ref().map(|d| d.join("docker.sock")),
        home.as_ref().map(|h| h.join(".docker/run/docker.sock")),
        home.as_ref().map(|h| h.join(".colima/default/docker.sock")),
        runtime_dir.as_ref().map(|d| d.join("podman/podman.sock")),
        Some(PathBuf::from("/run/podman/podman.sock")),
    ]
    .into_iter()
    .flatten()
    .collect();
    for socket in &candidates {
        if socket_exists(socket) {
            let host = format!("unix://{}", socket.display());
            tried.push(host.clone());
            return Ok(Endpoint {
                host,
                tls: None,
                tried,
            });
        }
        tried.push(format!("unix://{} (no such socket)", socket.display()));
    }
    Ok(Endpoint {
        host: format!("unix://{DEFAULT_SOCKET}"),
        tls: None,
        tried,
    })
}

/// The config's `currentContext`, if it names one.
fn current_context(config_dir: &Path) -> Option<String> {
    let text = std::fs::read(config_dir.join("config.json")).ok()?;
    let json: serde_json::Value = serde_json::from_slice(&text).ok()?;
    json.get("currentContext")?
        .as_str()
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
}

/// A context's `meta.json` and TLS folder: the Docker CLI files them under the SHA-256 of the
/// context's name.
fn context_paths(config_dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let id = hex::encode(Sha256::digest(name.as_bytes()));
    let contexts = config_dir.join("contexts");
    (
        contexts.join("meta").join(&id).join("meta.json"),
        contexts.join("tls").join(&id).join("docker"),
    )
}

/// The docker endpoint's `Host` in a context's `meta.json`.
fn context_host(meta: &[u8]) -> std::io::Result<String> {
    let invalid =
        |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
    let json: serde_json::Value =
        serde_json::from_slice(meta).map_err(|e| invalid(&format!("not valid JSON: {e}")))?;
    json.pointer("/Endpoints/docker/Host")
        .and_then(serde_json::Value::as_str)
        .filter(|host| !host.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| invalid("no Endpoints.docker.Host"))
}

/// Where published ports go: the host address they are bound to on the daemon's machine, and the
/// address a test reaches them at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Publish {
    pub(crate) bind: IpAddr,
    pub(crate) reach: IpAddr,
}

/// A daemon on this machine (a unix socket, `tcp://` on loopback) publishes on 127.0.0.1 only,
/// so nothing else on the network reaches a test's containers. A remote daemon publishes on all
/// its interfaces, reached at its address: the trade-off of a remote daemon, documented in the
/// README, which `DOCKSIDE_PUBLISH_ADDRESS` overrides (for instance to a private interface).
pub(crate) fn publish(host: &str) -> Publish {
    let remote = remote_ip(host);
    let bind = config::publish_address().unwrap_or(match remote {
        Some(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        None => IpAddr::V4(Ipv4Addr::LOCALHOST),
    });
    let reach = match (remote, bind) {
        (_, specific) if !specific.is_unspecified() && !specific.is_loopback() => specific,
        (Some(ip), _) => ip,
        (None, _) => IpAddr::V4(Ipv4Addr::LOCALHOST),
    };
    Publish { bind, reach }
}

/// The address of a daemon reached over the network, `None` for a unix socket or loopback.
fn remote_ip(host: &str) -> Option<IpAddr> {
    let rest = host
        .strip_prefix("tcp://")
        .or_else(|| host.strip_prefix("http://"))
        .or_else(|| host.strip_prefix("https://"))?;
    let authority = rest.split('/').next().unwrap_or(rest);
    let name = match authority.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => authority,
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    if name.eq_ignore_ascii_case("localhost") {
        return None;
    }
    use std::net::ToSocketAddrs;
    let ip = (name, 0).to_socket_addrs().ok()?.next()?.ip();
    (!ip.is_loopback()).then_some(ip)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn find_in(vars: &[(&str, &str)], sockets: &[&str]) -> Endpoint {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let sockets: Vec<PathBuf> = sockets.iter().map(PathBuf::from).collect();
        find_with(&|name| vars.get(name).cloned(), &|p| {
            sockets.iter().any(|s| s == p)
        })
        .unwrap()
    }

    #[test]
    fn docker_host_comes_first() {
        let found = find_in(&[("DOCKER_HOST", "tcp://10.0.0.9:2375")], &[DEFAULT_SOCKET]);
        assert_eq!(found.host, "tcp://10.0.0.9:2375");
    }

    #[test]
    fn sockets_are_tried_in_order_and_listed() {
        let vars = [
            ("HOME", "/h"),
            ("XDG_RUNTIME_DIR", "/run/user/7"),
            ("DOCKER_CONFIG", "/none"),
        ];
        let found = find_in(
            &vars,
            &["/h/.colima/default/docker.sock", "/run/podman/podman.sock"],
        );
        assert_eq!(found.host, "unix:///h/.colima/default/docker.sock");
        assert_eq!(
            found.tried,
            [
                "DOCKER_HOST (not set)",
                "DOCKER_CONTEXT (not set), no currentContext",
                "unix:///var/run/docker.sock (no such socket)",
                "unix:///run/user/7/docker.sock (no such socket)",
                "unix:///h/.docker/run/docker.sock (no such socket)",
                "unix:///h/.colima/default/docker.sock",
            ]
        );
        let podman = find_in(&vars, &["/run/user/7/podman/podman.sock"]);
        assert_eq!(podman.host, "unix:///run/user/7/podman/podman.sock");
        let none = find_in(&vars, &[]);
        assert_eq!(none.host, "unix:///var/run/docker.sock");
        assert_eq!(none.tried.len(), 8, "{:?}", none.tried);
    }

    #[test]
    fn a_context_is_read_from_its_hashed_folder() {
        let dir = tempfile::tempdir().unwrap();
        let (meta, _) = context_paths(dir.path(), "remote");
        // The Docker CLI's folder name for a context called "remote" (`printf remote | sha256sum`).
        assert!(meta.ends_with(
            "contexts/meta/b71199ebd070b36beab7317920c2c2f1d777df8d05e5527d8458fda57cb17a7a/meta.json"
        ));
        std::fs::create_dir_all(meta.parent().unwrap()).unwrap();
        std::fs::write(
            &meta,
            r#"{"Name":"remote","Endpoints":{"docker":{"Host":"unix:///tmp/x.sock","SkipTLSVerify":false}}}"#,
        )
        .unwrap();
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"currentContext":"remote"}"#,
        )
        .unwrap();
        let config = dir.path().display().to_string();
        let found = find_in(&[("DOCKER_CONFIG", &config)], &[DEFAULT_SOCKET]);
        assert_eq!(found.host, "unix:///tmp/x.sock");
        assert_eq!(found.tls, None);
        // DOCKER_CONTEXT wins over currentContext, and `default` means no context.
        let found = find_in(
            &[("DOCKER_CONFIG", &config), ("DOCKER_CONTEXT", "default")],
            &[DEFAULT_SOCKET],
        );
        assert_eq!(found.host, "unix:///var/run/docker.sock");
        let missing = find_with(
            &|name| match name {
                "DOCKER_CONFIG" => Some(config.clone()),
                "DOCKER_CONTEXT" => Some("gone".to_owned()),
                _ => None,
            },
            &|_| true,
        )
        .unwrap_err();
        assert!(missing
            .tried
            .last()
            .unwrap()
            .contains("context `gone` (DOCKER_CONTEXT)"));
    }

    #[test]
    fn loopback_daemons_publish_on_loopback() {
        for host in [
            "unix:///var/run/docker.sock",
            "tcp://127.0.0.1:2375",
            "tcp://localhost:2375",
            "tcp://[::1]:2375",
        ] {
            assert_eq!(remote_ip(host), None, "{host} is taken for a remote daemon");
        }
        assert_eq!(
            remote_ip("tcp://192.0.2.7:2376"),
            Some("192.0.2.7".parse().unwrap())
        );
    }
}
