//! Building an image from a Dockerfile, at most once per content.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;

use bollard::models::{BuildInfo, BuildInfoAux, SystemVersion};
use bollard::query_parameters::{BuildImageOptionsBuilder, BuilderVersion};
use bollard::Docker;
use futures_util::StreamExt;

use super::context::{self, Context};
use sha2::{Digest, Sha256};

use super::{dockerfile, inspect, parse_reference, BuildSpec, Image, ResolvedImage};
use crate::error::{daemon_words, Error, Result};
use crate::labels;

/// How many of the build's last output lines an error carries.
const OUTPUT_LINES: usize = 60;

/// A build worked out before any request: its content hash and the tag it gets.
pub(super) struct Plan {
    spec: BuildSpec,
    context: Context,
    hash: String,
    /// The tag in Docker's short form, as `inspect` accepts it.
    pub(super) tag: String,
}

impl Plan {
    /// Scans the context and resolves the base images (pulling the missing ones, each once per
    /// run like any pulled image): blocks the calling thread. Under nextest, records the files'
    /// hash for the run's later processes ([`present_as_recorded`]).
    pub(super) fn new(spec: &BuildSpec) -> Result<Plan> {
        let context = scan(spec)?;
        let files_hash = context
            .content_hash(&spec.build_args, spec.target.as_deref())
            .map_err(|e| context_error(spec, e))?;
        if let Some(key) = run_key(spec, context.dockerfile_bytes()) {
            key.record(&files_hash);
        }
        let (hash, tag) = hash_and_tag(spec, &files_hash, &context.dockerfile_text())?;
        Ok(Plan {
            spec: spec.clone(),
            context,
            hash,
            tag,
        })
    }

    /// The content hash this build's image carries in its `dockside.content-hash` label.
    pub(super) fn hash(&self) -> &str {
        &self.hash
    }

    /// Builds unless the tag already names an image of this content. Called under the image lock.
    pub(super) async fn ensure_built(self) -> Result<ResolvedImage> {
        let docker = crate::docker::connect().await?;
        if let Some(found) = inspect(&docker, &self.tag).await? {
            if self.is_this_build(&found) {
                return Ok(ResolvedImage {
                    id: found.id,
                    reference: self.tag,
                });
            }
            if !found.built_by_dockside_as(&self.tag) {
                return Err(Error::ForeignImage {
                    reference: self.tag,
                });
            }
        }
        // The text the hash was computed from, not a second read that could see a newer file.
        let text = self.context.dockerfile_text().into_owned();
        self.refuse_remote_frontend(&text)?;

        let (spec, tag) = (self.spec.clone(), self.tag.clone());
        let hash = self.hash.clone();
        let (reported, output) = run_build(&docker, &spec, self.context, &tag, &hash).await?;
        // Whatever the stream said, the daemon's answer to an inspect is the authority: under
        // BuildKit a concurrent identical build can make ours fail at tagging with
        // "already exists" although the tag now names exactly the image we wanted.
        let failed = |message: String, source: Option<Error>| Error::Build {
            dockerfile: spec.dockerfile.clone(),
            message,
            output: output.clone(),
            source: source.map(Into::into),
        };
        let confirmed = inspect(&docker, &tag).await;
        let found = match confirmed {
            Ok(found) => found,
            Err(e) => {
                let message = format!(
                    "{}, and confirming the result failed: {e}",
                    reported.describe(&tag)
                );
                return Err(failed(message, Some(e)));
            }
        };
        match found {
            Some(found) if is_build_of(&found, &tag, &hash) => Ok(ResolvedImage {
                id: found.id,
                reference: tag,
            }),
            _ => Err(failed(
                format!(
                    "{}, but {tag} does not name an image of this content",
                    reported.describe(&tag)
                ),
                None,
            )),
        }
    }

    fn is_this_build(&self, found: &super::Found) -> bool {
        is_build_of(found, &self.tag, &self.hash)
    }

    /// A `# syntax=` line makes BuildKit fetch a frontend image from a registry, which fails or
    /// hangs without one; say so instead.
    fn refuse_remote_frontend(&self, text: &str) -> Result<()> {
        match dockerfile::syntax_directive(text) {
            Some(frontend) => Err(Error::Build {
                dockerfile: self.spec.dockerfile.clone(),
                message: format!(
                    "the `# syntax={frontend}` line asks BuildKit to fetch a frontend image from \
                     a registry; remove the line to use the daemon's built-in Dockerfile frontend"
                ),
                output: String::new(),
                source: None,
            }),
            None => Ok(()),
        }
    }
}

/// The image of `spec` when a process of this nextest run hashed its context before and the
/// daemon has an image of that hash: found without scanning the context (see `run_hash.rs`).
/// `None` outside nextest, without an intact record, or when no such image is there; the caller
/// then plans the build from a fresh scan, which is also what any build is made from.
pub(super) fn present_as_recorded(spec: &BuildSpec) -> Result<Option<ResolvedImage>> {
    let Ok(text) = std::fs::read(&spec.dockerfile) else {
        // The scan reports the unreadable Dockerfile, with its error.
        return Ok(None);
    };
    let Some(files_hash) = run_key(spec, &text).and_then(|key| key.recall()) else {
        return Ok(None);
    };
    let (hash, tag) = hash_and_tag(spec, &files_hash, &String::from_utf8_lossy(&text))?;
    let found = super::block_on(async {
        let docker = crate::docker::connect().await?;
        inspect(&docker, &tag).await
    })?;
    Ok(found
        .filter(|found| is_build_of(found, &tag, &hash))
        .map(|found| ResolvedImage {
            id: found.id,
            reference: tag,
        }))
}

/// The key of the run's record of this build's files hash; `None` outside nextest.
fn run_key(spec: &BuildSpec, dockerfile_text: &[u8]) -> Option<context::RunKey> {
    context::RunKey::new(
        &crate::config::session()?,
        &spec.context,
        &spec.dockerfile,
        dockerfile_text,
        &spec.build_args,
        spec.target.as_deref(),
    )
}

/// The content hash of a build whose files hash to `files_hash` (the base images resolved, and
/// pulled when missing, from `dockerfile_text`), and the tag its image gets.
fn hash_and_tag(
    spec: &BuildSpec,
    files_hash: &str,
    dockerfile_text: &str,
) -> Result<(String, String)> {
    let bases = dockerfile::base_images_with_lines(dockerfile_text, &spec.build_args);
    let base_ids = bases
        .iter()
        .map(|(base, line)| match Image::Pull(base.clone()).resolve() {
            Ok(image) => Ok(image.id),
            Err(source) => Err(Error::base_image(base, &spec.dockerfile, *line, source)),
        })
        .collect::<Result<Vec<String>>>()?;
    let hash = with_bases(files_hash, &base_ids);
    let tag = match &spec.tag {
        Some(tag) => parse_reference(tag)?.familiar(),
        None => content_tag(&spec.dockerfile, &hash),
    };
    Ok((hash, tag))
}

/// Whether `found` is the image dockside built for `tag` from content `hash`, and not an image
/// that inherited those labels from a parent.
fn is_build_of(found: &super::Found, tag: &str, hash: &str) -> bool {
    found.built_by_dockside_as(tag) && found.content_hash() == Some(hash)
}

/// The content hash: the files' hash and the image IDs the `FROM` lines resolve to, so a base
/// tag that moves to another image (a newer pull, a rebuilt local base) makes a new hash.
fn with_bases(files_hash: &str, base_ids: &[String]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"dockside-bases-v1\0");
    hasher.update(files_hash.as_bytes());
    for id in base_ids {
        hasher.update(b"\0");
        hasher.update(id.as_bytes());
    }
    hex::encode(hasher.finalize())
}

fn scan(spec: &BuildSpec) -> Result<Context> {
    context::scan(&spec.context, &spec.dockerfile).map_err(|e| context_error(spec, e))
}

fn context_error(spec: &BuildSpec, err: context::ContextError) -> Error {
    Error::build_context(&spec.context, err)
}

/// `dockside/<name>:<hash>`, the name taken from the Dockerfile's folder (and its file name when
/// that is not plain `Dockerfile`), so `docker images` shows where an image came from.
fn content_tag(dockerfile: &Path, hash: &str) -> String {
    let folder = dockerfile
        .parent()
        .and_then(Path::file_name)
        .and_then(|n| n.to_str());
    let file = dockerfile
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("Dockerfile");
    let stem = file
        .trim_end_matches(".Dockerfile")
        .trim_end_matches(".dockerfile");
    let raw = match (folder, stem) {
        (Some(folder), "Dockerfile" | "dockerfile") => folder.to_owned(),
        (Some(folder), stem) => format!("{folder}-{stem}"),
        (None, stem) => stem.to_owned(),
    };
    let name = sanitize_component(&raw);
    let name = if name.is_empty() {
        "image".to_owned()
    } else {
        name
    };
    format!("dockside/{name}:{}", &hash[..32])
}

/// Lowercases and replaces what a repository component may not contain.
fn sanitize_component(raw: &str) -> String {
    let mapped: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let mut collapsed = String::with_capacity(mapped.len());
    for c in mapped.chars() {
        if !(c == '-' && collapsed.ends_with('-')) {
            collapsed.push(c);
        }
    }
    collapsed.trim_matches('-').to_owned()
}

/// How a build stream ended without a hard error.
enum Outcome {
    Built,
    /// BuildKit's tagging step found the tag already there (its words).
    AlreadyExists(String),
}

impl Outcome {
    fn describe(&self, tag: &str) -> String {
        match self {
            Outcome::Built => format!("the build of {tag} finished"),
            Outcome::AlreadyExists(words) => words.clone(),
        }
    }
}

/// Whether a build's stream error is BuildKit's tagging step finding `tag` already there
/// (`image "docker.io/library/x:1": already exists`, or `docker tag`'s `... AlreadyExists`
/// variant), and not a step's error that merely contains those words: no step may have failed,
/// and the words must name the tag itself.
fn is_tagging_conflict(error: &str, tag: &str, a_step_failed: bool) -> bool {
    let Ok(reference) = parse_reference(tag) else {
        return false;
    };
    let quoted = format!("\"{}\"", reference.normalized());
    let conflict = error.contains(&format!("{quoted}: already exists"))
        || (error.contains(&quoted) && error.trim_end().ends_with("AlreadyExists"));
    !a_step_failed && conflict
}

/// Which builder a build uses, and why, for the one line on stderr that says so.
#[derive(Debug, PartialEq)]
struct BuilderChoice {
    version: BuilderVersion,
    reason: String,
}

/// The builder the daemon gets. `DOCKER_BUILDKIT` (the value the docker CLI honours) wins; else
/// BuildKit, unless the daemon's `GET /version` answer shows it has none: Podman's Docker API
/// builds only with the classic builder, and BuildKit came with API 1.39 (Docker 18.09).
/// `daemon` is `None` when the version request failed; BuildKit is then tried as before.
fn choose_builder(env: Option<&str>, daemon: Option<&SystemVersion>) -> BuilderChoice {
    let choice = |version, reason: &str| BuilderChoice {
        version,
        reason: reason.to_owned(),
    };
    match env {
        Some(value @ ("0" | "false")) => {
            return choice(
                BuilderVersion::BuilderV1,
                &format!("DOCKER_BUILDKIT={value}"),
            )
        }
        Some(value @ ("1" | "true")) => {
            return choice(
                BuilderVersion::BuilderBuildKit,
                &format!("DOCKER_BUILDKIT={value}"),
            )
        }
        _ => {}
    }
    let Some(daemon) = daemon else {
        return choice(
            BuilderVersion::BuilderBuildKit,
            "the daemon did not say its version",
        );
    };
    if crate::engine::is_podman(daemon) {
        return choice(
            BuilderVersion::BuilderV1,
            "the daemon is Podman, which has no BuildKit",
        );
    }
    match daemon.api_version.as_deref().and_then(parse_api_version) {
        Some(api) if api < (1, 39) => BuilderChoice {
            version: BuilderVersion::BuilderV1,
            reason: format!(
                "the daemon speaks API {}.{}, and BuildKit needs 1.39 or newer",
                api.0, api.1
            ),
        },
        _ => choice(BuilderVersion::BuilderBuildKit, "the daemon supports it"),
    }
}

/// `"1.41"` → `(1, 41)`.
fn parse_api_version(text: &str) -> Option<(u32, u32)> {
    let (major, minor) = text.trim().split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// Asks the daemon, decides, and says which builder and why the first time in this process.
async fn builder_version(docker: &Docker) -> BuilderVersion {
    static ANNOUNCED: std::sync::Once = std::sync::Once::new();
    let env = std::env::var("DOCKER_BUILDKIT").ok();
    let daemon = match env.as_deref() {
        Some("0" | "false" | "1" | "true") => None,
        _ => docker.version().await.ok(),
    };
    let choice = choose_builder(env.as_deref(), daemon.as_ref());
    ANNOUNCED.call_once(|| {
        let name = match choice.version {
            BuilderVersion::BuilderV1 => "the classic builder",
            _ => "BuildKit",
        };
        eprintln!("dockside: building with {name}: {}", choice.reason);
    });
    choice.version
}

/// The value of the `dockside.dockerfile` label on images built from `spec`.
pub(super) fn dockerfile_label(spec: &BuildSpec) -> String {
    spec.dockerfile.display().to_string()
}

async fn run_build(
    docker: &Docker,
    spec: &BuildSpec,
    context: Context,
    tag: &str,
    hash: &str,
) -> Result<(Outcome, String)> {
    eprintln!(
        "dockside: building image {tag} from {}",
        spec.dockerfile.display()
    );
    let version = builder_version(docker).await;
    let image_labels = HashMap::from([
        (labels::MANAGED.to_owned(), "true".to_owned()),
        (labels::CONTENT_HASH.to_owned(), hash.to_owned()),
        (labels::DOCKERFILE.to_owned(), dockerfile_label(spec)),
        (labels::TAG.to_owned(), tag.to_owned()),
    ]);
    let build_args: HashMap<String, String> = spec.build_args.iter().cloned().collect();
    let mut options = BuildImageOptionsBuilder::new()
        .dockerfile(context.dockerfile_name())
        .t(tag)
        .labels(&image_labels)
        .buildargs(&build_args)
        .rm(true)
        // The classic builder leaves the containers of a failed step behind unless told not to.
        .forcerm(true)
        .version(version);
    if let Some(target) = &spec.target {
        options = options.target(target);
    }
    if version == BuilderVersion::BuilderBuildKit {
        options = options.session(&crate::names::unique_name("dockside"));
    }
    let body = super::build_body::tar_body(context);
    let mut stream =
        docker.build_image(options.build(), None, Some(bollard::body_try_stream(body)));
    let mut log = BuildLog::new(tag);
    while let Some(item) = stream.next().await {
        match item {
            Ok(info) => log.record(info),
            Err(bollard::errors::Error::DockerStreamError { error })
                if is_tagging_conflict(&error, tag, log.failed_step.is_some()) =>
            {
                return Ok((Outcome::AlreadyExists(error), log.tail()));
            }
            Err(e) => {
                return Err(Error::Build {
                    dockerfile: spec.dockerfile.clone(),
                    message: log.failure(daemon_words(&e)),
                    output: log.tail(),
                    source: Some(e.into()),
                })
            }
        }
    }
    Ok((Outcome::Built, log.tail()))
}

/// The build's output as it streams: progress to stderr, the last lines kept for errors.
struct BuildLog<'a> {
    tag: &'a str,
    lines: VecDeque<String>,
    started: HashSet<String>,
    names: HashMap<String, String>,
    failed_step: Option<String>,
}

impl<'a> BuildLog<'a> {
    fn new(tag: &'a str) -> Self {
        BuildLog {
            tag,
            lines: VecDeque::new(),
            started: HashSet::new(),
            names: HashMap::new(),
            failed_step: None,
        }
    }

    fn record(&mut self, info: BuildInfo) {
        if let Some(text) = info.stream {
            // The classic builder's output: "Step 2/4 : RUN ..." lines and the steps' own output.
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                // "Step 2/4 : ..." from Docker, "STEP 2/4: ..." from Podman.
                if line
                    .get(..5)
                    .is_some_and(|head| head.eq_ignore_ascii_case("step "))
                {
                    eprintln!("dockside: building {}: {line}", self.tag);
                }
                self.push(line.to_owned());
            }
        }
        if let Some(BuildInfoAux::BuildKit(status)) = info.aux {
            for vertex in status.vertexes {
                self.names
                    .insert(vertex.digest.clone(), vertex.name.clone());
                if vertex.started.is_some() && !vertex.cached && self.started.insert(vertex.digest)
                {
                    eprintln!("dockside: building {}: {}", self.tag, vertex.name);
                }
                if !vertex.error.is_empty() {
                    self.failed_step =
                        Some(format!("step `{}` failed: {}", vertex.name, vertex.error));
                }
            }
            for entry in status.logs {
                let text = String::from_utf8_lossy(&entry.msg);
                for line in text.lines().filter(|l| !l.trim().is_empty()) {
                    self.push(line.to_owned());
                }
            }
        }
    }

    fn push(&mut self, line: String) {
        if self.lines.len() == OUTPUT_LINES {
            self.lines.pop_front();
        }
        self.lines.push_back(line);
    }

    fn failure(&self, words: String) -> String {
        match &self.failed_step {
            // BuildKit's final error repeats the failed step's own error: say it once.
            Some(step) if step.contains(words.trim()) => step.clone(),
            Some(step) => format!("{step} ({words})"),
            None => words,
        }
    }

    fn tail(&self) -> String {
        self.lines
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_tags_name_their_dockerfile() {
        let hash = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let cases = [
            (
                "/x/fixtures/web/Dockerfile",
                "dockside/web:0123456789abcdef0123456789abcdef",
            ),
            (
                "/x/docker/test.Dockerfile",
                "dockside/docker-test:0123456789abcdef0123456789abcdef",
            ),
            (
                "/x/My App/Dockerfile",
                "dockside/my-app:0123456789abcdef0123456789abcdef",
            ),
            (
                "/x/__/Dockerfile",
                "dockside/image:0123456789abcdef0123456789abcdef",
            ),
        ];
        for (path, tag) in cases {
            assert_eq!(content_tag(Path::new(path), hash), tag, "{path}");
        }
    }

    fn daemon(platform: &str, components: &[&str], api: &str) -> SystemVersion {
        use bollard::models::{SystemVersionComponents, SystemVersionPlatform};
        SystemVersion {
            platform: Some(SystemVersionPlatform {
                name: platform.to_owned(),
            }),
            components: Some(
                components
                    .iter()
                    .map(|name| SystemVersionComponents {
                        name: (*name).to_owned(),
                        version: "1".to_owned(),
                        details: None,
                    })
                    .collect(),
            ),
            api_version: Some(api.to_owned()),
            ..Default::default()
        }
    }

    #[test]
    fn builder_follows_the_environment_then_the_daemon() {
        use BuilderVersion::{BuilderBuildKit as Kit, BuilderV1 as Classic};
        let docker = daemon(
            "Docker Engine - Community",
            &["Engine", "containerd"],
            "1.41",
        );
        let podman_platform = daemon("linux/amd64/debian-12", &["Podman Engine"], "1.41");
        let podman_components = daemon("Podman Engine", &[], "1.41");
        let old = daemon("Docker Engine - Community", &["Engine"], "1.38");
        let odd_api = daemon("Docker Engine - Community", &["Engine"], "one.forty");
        let cases: [(Option<&str>, Option<&SystemVersion>, BuilderVersion, &str); 10] = [
            (None, Some(&docker), Kit, "supports it"),
            (None, Some(&podman_platform), Classic, "Podman"),
            (None, Some(&podman_components), Classic, "Podman"),
            (None, Some(&old), Classic, "API 1.38"),
            (None, Some(&odd_api), Kit, "supports it"),
            (None, None, Kit, "did not say"),
            (Some("0"), Some(&docker), Classic, "DOCKER_BUILDKIT=0"),
            (
                Some("false"),
                Some(&docker),
                Classic,
                "DOCKER_BUILDKIT=false",
            ),
            (Some("1"), Some(&old), Kit, "DOCKER_BUILDKIT=1"),
            (Some(""), Some(&podman_platform), Classic, "Podman"),
        ];
        for (env, version, expected, reason) in cases {
            let choice = choose_builder(env, version);
            assert_eq!(choice.version, expected, "{env:?} {version:?}");
            assert!(choice.reason.contains(reason), "{env:?}: {}", choice.reason);
        }
    }

    #[test]
    fn only_the_tagging_step_conflict_counts_as_already_exists() {
        let tag = "dockside/web:0123";
        let buildkit =
            r#"failed to export image: image "docker.io/dockside/web:0123": already exists"#;
        let docker_tag = r#"tagging "docker.io/dockside/web:0123" after deleting the existing one: AlreadyExists"#;
        let run_step = r#"process "/bin/sh -c echo already exists && false" did not complete successfully: exit code: 1"#;
        let other_tag = r#"image "docker.io/library/other:1": already exists"#;
        assert!(is_tagging_conflict(buildkit, tag, false));
        assert!(is_tagging_conflict(docker_tag, tag, false));
        assert!(!is_tagging_conflict(buildkit, tag, true), "a step failed");
        assert!(!is_tagging_conflict(run_step, tag, false));
        assert!(!is_tagging_conflict(other_tag, tag, false));
    }

    #[test]
    fn base_ids_change_the_hash() {
        let files = "f".repeat(64);
        let one = with_bases(&files, &["sha256:1".to_owned()]);
        assert_ne!(one, with_bases(&files, &["sha256:2".to_owned()]));
        assert_ne!(one, with_bases(&files, &[]));
        assert_eq!(one, with_bases(&files, &["sha256:1".to_owned()]));
    }

    #[test]
    fn api_versions_compare_as_numbers() {
        assert_eq!(parse_api_version("1.41"), Some((1, 41)));
        assert!(parse_api_version("1.9").unwrap() < (1, 39));
        assert_eq!(parse_api_version("1"), None);
    }
}
