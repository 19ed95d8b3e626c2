//! Images: what a container runs, pulled or built once per run across all test processes.
//!
//! The path for one image: a process-wide cell per image (threads of one `cargo test` binary
//! resolve it once) → a cross-process file lock (nextest's processes resolve it once) → inspect →
//! pull or build only when the image is missing or stale.

mod auth;
mod build;
mod build_body;
mod context;
// The public items of these two are what the fuzz targets in `fuzz/` call: that crate compiles
// these files on its own, so they stay `pub` here, where nothing outside the crate reaches them.
#[allow(unreachable_pub)]
mod dockerfile;
#[allow(unreachable_pub)]
mod dockerignore;
pub(crate) mod lock;
mod progress;
mod prune;
mod pull;
mod pull_progress;
mod reference;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bollard::Docker;
use once_cell::sync::{Lazy, OnceCell};

use crate::config;
use crate::error::{is_not_found, Error, Result};
use crate::labels;
use lock::ImageLock;
pub use prune::prune;
pub use pull::Pull;
use reference::Reference;

/// Where a container's image comes from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Image {
    /// A reference used as it is, pulled when it is not present locally.
    Pull(String),
    /// A Dockerfile, built when no image of the same content exists.
    Build(BuildSpec),
}

/// A Dockerfile build: the inputs that make up its content, and the tag the user chose, if any.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BuildSpec {
    /// Path of the Dockerfile.
    pub dockerfile: PathBuf,
    /// The build context folder.
    pub context: PathBuf,
    /// `--build-arg` pairs, in the order given.
    pub build_args: Vec<(String, String)>,
    /// The stage to build (`--target`).
    pub target: Option<String>,
    /// The tag to apply; `None` tags the image by a hash of its content.
    pub tag: Option<String>,
}

impl BuildSpec {
    /// A build of `dockerfile` with its own folder as the context.
    pub fn new(dockerfile: impl Into<PathBuf>) -> Self {
        let dockerfile = dockerfile.into();
        let context = dockerfile
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        BuildSpec {
            dockerfile,
            context,
            build_args: Vec::new(),
            target: None,
            tag: None,
        }
    }
}

/// An image present on the daemon.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedImage {
    /// The image ID the daemon reported (`sha256:…`): containers are created from this, never
    /// from a tag that could have moved since.
    pub id: String,
    /// The reference the image was asked for or tagged with, for messages.
    pub reference: String,
}

impl Image {
    /// Makes sure the image exists on the daemon, pulling or building it at most once per run
    /// across every thread and process, and returns its ID.
    ///
    /// A reference is pulled as `DOCKSIDE_PULL` says (default [`Pull::Missing`]), and so are
    /// the `FROM` images of a build; see [`Image::resolve_with`].
    ///
    /// Blocks the calling thread; call it from synchronous code (or `spawn_blocking`).
    pub fn resolve(&self) -> Result<ResolvedImage> {
        self.resolve_with(Pull::from_env())
    }

    /// [`Image::resolve`] with the pull policy `pull` for an [`Image::Pull`] reference (a build
    /// ignores it; its `FROM` images follow `DOCKSIDE_PULL`).
    ///
    /// Blocks the calling thread; call it from synchronous code (or `spawn_blocking`).
    pub fn resolve_with(&self, pull: Pull) -> Result<ResolvedImage> {
        let pull = match self {
            Image::Pull(_) => pull,
            Image::Build(_) => Pull::Missing,
        };
        let cell = cell_for(self, pull == Pull::Always);
        // A failed build is remembered like a success (it fails every later test of this
        // process at once); any other error is not, since it may not recur. The caller whose
        // build failed gets the failure itself, its cause included; later callers a replay.
        let mut failure = None;
        let answer = cell.get_or_try_init(|| match self.resolve_uncached(pull) {
            Ok(image) => Ok(Ok(image)),
            Err(Error::Build {
                dockerfile,
                message,
                output,
                source,
            }) => {
                let failed = FailedBuild {
                    dockerfile: dockerfile.clone(),
                    message: message.clone(),
                    output: output.clone(),
                };
                failure = Some(Error::Build {
                    dockerfile,
                    message,
                    output,
                    source,
                });
                Ok(Err(failed))
            }
            Err(other) => Err(other),
        })?;
        if let Some(failure) = failure {
            return Err(failure);
        }
        match answer {
            Ok(image) => Ok(image.clone()),
            Err(failed) => Err(failed.to_error()),
        }
    }

    fn resolve_uncached(&self, pull: Pull) -> Result<ResolvedImage> {
        // One limit for everything done under the lock; waiters read it from the lock file.
        let limit = config::image_timeout();
        match self {
            Image::Pull(text) => {
                let reference = parse_reference(text)?;
                let lock = ImageLock::acquire(&lock_key(&reference), limit)?;
                let what = || format!("pulling image {}", reference.familiar());
                block_on(image_work(
                    what,
                    limit,
                    ensure_pulled(&reference, pull, &lock),
                ))
            }
            Image::Build(spec) => {
                if let Some(image) = build::present_as_recorded(spec)? {
                    return Ok(image);
                }
                let plan = build::Plan::new(spec)?;
                let lock = ImageLock::acquire(&lock_key(&parse_reference(&plan.tag)?), limit)?;
                let hash = plan.hash().to_owned();
                if let Some(failed) = lock.recorded_failure(&hash)? {
                    return Err(Error::Build {
                        dockerfile: spec.dockerfile.clone(),
                        message: format!(
                            "{} (the build failed in process {} of this nextest run, which \
                             does not try it again; the next run does)",
                            failed.message, failed.pid
                        ),
                        output: failed.output,
                        source: None,
                    });
                }
                let what = format!(
                    "building image {} from {}",
                    plan.tag,
                    spec.dockerfile.display()
                );
                let what = move || what;
                let built = block_on(image_work(what, limit, plan.ensure_built()));
                if let Err(Error::Build {
                    message, output, ..
                }) = &built
                {
                    let failure = lock::RecordedFailure {
                        pid: std::process::id(),
                        message: message.clone(),
                        output: output.clone(),
                    };
                    lock.record_failure(&hash, &failure);
                }
                built
            }
        }
    }
}

/// The lock of one image reference: a pull of `x` and a build tagged `docker.io/library/x:latest`
/// change the same tag, so they take the same lock.
fn lock_key(reference: &Reference) -> String {
    reference.normalized()
}

/// Bounds a pull or a build, its whole stream included, by `DOCKSIDE_IMAGE_TIMEOUT`.
async fn image_work<T>(
    what: impl FnOnce() -> String,
    limit: std::time::Duration,
    work: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    let shown = what();
    let work = progress::noted(&shown, work);
    crate::docker::bounded(|| shown.clone(), limit, "DOCKSIDE_IMAGE_TIMEOUT", work).await
}

/// What a process remembers of one image: the image, or the failure of its build.
type Answer = std::result::Result<ResolvedImage, FailedBuild>;

/// A build that failed in this process, replayed to every later test that needs the image.
struct FailedBuild {
    dockerfile: PathBuf,
    message: String,
    output: String,
}

impl FailedBuild {
    fn to_error(&self) -> Error {
        Error::Build {
            dockerfile: self.dockerfile.clone(),
            message: format!(
                "{} (the build failed earlier in this process, which does not try it again)",
                self.message
            ),
            output: self.output.clone(),
            source: None,
        }
    }
}

/// The process-wide cell of one image. Cells live for the whole process, like the images. A
/// reference resolved with `pull = "always"` has a cell of its own: an answer found without
/// pulling must not stand in for the pull it asks for.
fn cell_for(image: &Image, always_pull: bool) -> Arc<OnceCell<Answer>> {
    type Cells = HashMap<(Image, bool), Arc<OnceCell<Answer>>>;
    static CELLS: Lazy<Mutex<Cells>> = Lazy::new(Default::default);
    // A poisoned map only means another test panicked while inserting; the map is still whole.
    let mut cells = CELLS.lock().unwrap_or_else(|p| p.into_inner());
    cells
        .entry((cache_key(image), always_pull))
        .or_default()
        .clone()
}

/// Spellings of one reference (`redis`, `docker.io/library/redis:latest`) share a cell, as they
/// share a lock. An invalid reference keeps its text: resolving it fails anyway.
fn cache_key(image: &Image) -> Image {
    match image {
        Image::Pull(text) => match reference::parse(text) {
            Ok(reference) => Image::Pull(reference.normalized()),
            Err(_) => image.clone(),
        },
        Image::Build(_) => image.clone(),
    }
}

/// Runs the async image work on a runtime of its own, so that no client outlives its runtime and
/// the caller needs none.
fn block_on<T>(work: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    crate::rt::runtime()?.block_on(work)
}

pub(crate) fn parse_reference(text: &str) -> Result<Reference> {
    reference::parse(text).map_err(|e| Error::invalid_reference(text, e))
}

/// Makes sure `reference` is present as `policy` says, under its image lock.
async fn ensure_pulled(
    reference: &Reference,
    policy: Pull,
    lock: &ImageLock,
) -> Result<ResolvedImage> {
    let docker = crate::docker::connect().await?;
    let shown = reference.familiar();
    let key = lock_key(reference);
    let fresh = policy != Pull::Always || lock.pulled_this_run(&key);
    if fresh {
        if let Some(found) = inspect(&docker, &shown).await? {
            return Ok(ResolvedImage {
                id: found.id,
                reference: shown,
            });
        }
    }
    if policy == Pull::Never {
        return Err(Error::Pull {
            reference: shown,
            message: "the image is not present locally and the pull policy is `never` \
                      (the test's `pull`, else DOCKSIDE_PULL)"
                .to_owned(),
            source: None,
        });
    }
    pull::pull(&docker, reference).await?;
    if policy == Pull::Always {
        lock.record_pull(&key);
    }
    let found = inspect(&docker, &shown).await?.ok_or_else(|| Error::Pull {
        reference: shown.clone(),
        message: "the pull finished but the image is not there".to_owned(),
        source: None,
    })?;
    Ok(ResolvedImage {
        id: found.id,
        reference: shown,
    })
}

/// What dockside needs to know of an image on the daemon.
pub(crate) struct Found {
    pub(crate) id: String,
    pub(crate) labels: HashMap<String, String>,
}

impl Found {
    pub(crate) fn content_hash(&self) -> Option<&str> {
        self.labels.get(labels::CONTENT_HASH).map(String::as_str)
    }

    /// Whether dockside built this image for `tag` (in its familiar form). Labels are inherited:
    /// an image built `FROM` a dockside image carries that image's `dockside.*` labels, but its
    /// `dockside.tag` then names the parent's tag, not its own.
    pub(crate) fn built_by_dockside_as(&self, tag: &str) -> bool {
        built_by_dockside_as(&self.labels, tag)
    }
}

/// The one rule telling dockside's own images from images that merely inherited its labels.
pub(crate) fn built_by_dockside_as(image_labels: &HashMap<String, String>, tag: &str) -> bool {
    let label = |key: &str| image_labels.get(key).map(String::as_str);
    label(labels::MANAGED) == Some("true") && label(labels::TAG) == Some(tag)
}

/// Inspects `reference`; `None` when the daemon does not have it.
pub(crate) async fn inspect(docker: &Docker, reference: &str) -> Result<Option<Found>> {
    let answer = crate::docker::within(|| format!("inspect of image {reference}"), async {
        Ok(docker.inspect_image(reference).await)
    })
    .await?;
    match answer {
        Ok(image) => Ok(Some(Found {
            id: image.id.unwrap_or_default(),
            labels: image.config.and_then(|c| c.labels).unwrap_or_default(),
        })),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(source) => Err(Error::Docker {
            action: format!("inspect of image {reference}"),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_reference_share_a_cell() {
        let short = cell_for(&Image::Pull("dockside-cell-test".to_owned()), false);
        let long = cell_for(
            &Image::Pull("docker.io/library/dockside-cell-test:latest".to_owned()),
            false,
        );
        let other = cell_for(&Image::Pull("dockside-cell-test:2".to_owned()), false);
        assert!(Arc::ptr_eq(&short, &long));
        assert!(!Arc::ptr_eq(&short, &other));
    }
}
