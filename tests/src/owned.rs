//! What the daemon holds for a given owner, through the `docker` CLI: independent of
//! dockside's own listing code.

use crate::docker_cli::{docker, docker_ok};

/// Whether a container (or any object `docker inspect` knows) with this id exists.
pub fn exists(id: &str) -> bool {
    docker(&["inspect", "--format", "{{.Id}}", id])
        .status
        .success()
}

/// Containers (running or not) whose `dockside.owner` label names process `pid` (its third
/// `/`-separated part).
pub fn containers_owned_by(pid: u32) -> Vec<String> {
    docker_ok(&[
        "ps",
        "--all",
        "--no-trunc",
        "--filter",
        "label=dockside.managed=true",
        "--format",
        "{{.ID}} {{.Label \"dockside.owner\"}}",
    ])
    .lines()
    .filter_map(|line| {
        let (id, owner) = line.split_once(' ')?;
        (owner.split('/').nth(2) == Some(pid.to_string().as_str())).then(|| id.to_owned())
    })
    .collect()
}
