//! Removing the images of a Dockerfile that its current content no longer builds.
//!
//! Content-hash tags never overwrite each other, so every edit of a Dockerfile leaves its old
//! image behind. Pruning is explicit, because removing images "to be safe" races with tests using
//! them, and careful: only images carrying dockside's labels for this very Dockerfile, never the
//! current one, never one a container uses.

use std::collections::HashMap;

use bollard::query_parameters::{ListImagesOptionsBuilder, RemoveImageOptionsBuilder};
use bollard::Docker;

use super::{block_on, build, BuildSpec};
use crate::error::{Error, Result};
use crate::labels;

/// Removes the images dockside built from `spec`'s Dockerfile except the one of its current
/// content, and returns the IDs of the images removed.
///
/// Only images labelled `dockside.managed=true` with this Dockerfile's path, and still tagged with
/// the tag dockside built them for (`dockside.tag`), are candidates: an image someone built
/// `FROM` a dockside image inherits the labels but not the tag. An
/// image a container uses (or that has other tags, which someone else may rely on) is skipped
/// with a note on stderr, not an error: removal never forces. Untagged parent layers stay, since
/// a concurrent classic build may be building on them.
///
/// Blocks the calling thread, like [`Image::resolve`](super::Image::resolve).
///
/// ```no_run
/// let spec = dockside::BuildSpec::new("fixtures/web/Dockerfile");
/// let removed = dockside::image::prune(&spec)?;
/// println!("removed {} stale images", removed.len());
/// # Ok::<(), dockside::Error>(())
/// ```
pub fn prune(spec: &BuildSpec) -> Result<Vec<String>> {
    let current = build::Plan::new(spec)?.hash().to_owned();
    let dockerfile = build::dockerfile_label(spec);
    block_on(async move {
        let docker = crate::docker::connect().await?;
        prune_stale(&docker, &dockerfile, &current).await
    })
}

async fn prune_stale(docker: &Docker, dockerfile: &str, current: &str) -> Result<Vec<String>> {
    let filters = HashMap::from([(
        "label",
        vec![
            format!("{}=true", labels::MANAGED),
            format!("{}={dockerfile}", labels::DOCKERFILE),
        ],
    )]);
    let images = docker
        .list_images(Some(
            ListImagesOptionsBuilder::new()
                .all(false)
                .filters(&filters)
                .build(),
        ))
        .await
        .map_err(|source| Error::Docker {
            action: format!("listing the images built from {dockerfile}"),
            source,
        })?;
    let mut removed = Vec::new();
    for image in images {
        // The daemon filtered already; checking again keeps the promise independent of how a
        // daemon (or a proxy in between) reads the filter.
        // An image built `FROM` one of ours inherits its labels; only an image still carrying
        // the tag dockside built it for is dockside's own.
        let label = |key: &str| image.labels.get(key).map(String::as_str);
        let ours = label(labels::DOCKERFILE) == Some(dockerfile)
            && image
                .repo_tags
                .iter()
                .any(|tag| super::built_by_dockside_as(&image.labels, tag));
        if !ours || label(labels::CONTENT_HASH) == Some(current) {
            continue;
        }
        let options = RemoveImageOptionsBuilder::new()
            .force(false)
            .noprune(true)
            .build();
        match docker.remove_image(&image.id, Some(options), None).await {
            Ok(_) => removed.push(image.id),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => {}
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 409,
                message,
            }) => {
                eprintln!(
                    "dockside: prune: kept image {} ({}): {message}",
                    image.id,
                    image.repo_tags.join(", ")
                );
            }
            Err(source) => {
                return Err(Error::Docker {
                    action: format!("removal of image {}", image.id),
                    source,
                })
            }
        }
    }
    Ok(removed)
}
