//! Building an image from a Dockerfile, at most once per content.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;

use bollard::models::{BuildInfo, BuildInfoAux};
use bollard::query_parameters::{BuildImageOptionsBuilder, BuilderVersion};
use bollard::Docker;
use bytes::Bytes;
use futures_util::StreamExt;

use super::context::{self, Context};
use super::{dockerfile, ensure_present, inspect, parse_reference, BuildSpec, ResolvedImage};
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
    pub(super) fn new(spec: &BuildSpec) -> Result<Plan> {
        let context = scan(spec)?;
        let hash = context
            .content_hash(&spec.build_args, spec.target.as_deref())
            .map_err(|e| context_error(spec, e))?;
        let tag = match &spec.tag {
            Some(tag) => parse_reference(tag)?.familiar(),
            None => content_tag(&spec.dockerfile, &hash),
        };
        Ok(Plan { spec: spec.clone(), context, hash, tag })
    }

    /// Builds unless the tag already names an image of this content. Called under the image lock.
    pub(super) async fn ensure_built(self) -> Result<ResolvedImage> {
        let docker = crate::docker::connect().await?;
        if let Some(found) = inspect(&docker, &self.tag).await? {
            if found.content_hash() == Some(self.hash.as_str()) {
                return Ok(ResolvedImage { id: found.id, reference: self.tag });
            }
            if !found.is_managed() {
                return Err(Error::ForeignImage { reference: self.tag });
            }
        }
        let text = std::fs::read_to_string(&self.spec.dockerfile)
            .map_err(|e| Error::io("reading dockerfile", &self.spec.dockerfile, e))?;
        self.refuse_remote_frontend(&text)?;
        for base in dockerfile::base_images(&text, &self.spec.build_args) {
            ensure_present(&docker, &parse_reference(&base)?).await?;
        }

        let (spec, tag, hash) = (self.spec.clone(), self.tag.clone(), self.hash.clone());
        let reported = run_build(&docker, &spec, self.context, &tag, &hash).await?;
        // Whatever the stream said, the daemon's answer to an inspect is the authority: under
        // BuildKit a concurrent identical build can make ours fail at tagging with
        // "already exists" although the tag now names exactly the image we wanted.
        match inspect(&docker, &tag).await? {
            Some(found) if found.content_hash() == Some(hash.as_str()) => {
                Ok(ResolvedImage { id: found.id, reference: tag })
            }
            _ => Err(Error::Build {
                dockerfile: spec.dockerfile.clone(),
                message: match reported {
                    Outcome::Built => format!("the build finished but {tag} is not the image it built"),
                    Outcome::AlreadyExists(words) => format!(
                        "{words}, and {tag} does not name an image of this content"
                    ),
                },
                output: String::new(),
            }),
        }
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
            }),
            None => Ok(()),
        }
    }
}

fn scan(spec: &BuildSpec) -> Result<Context> {
    context::scan(&spec.context, &spec.dockerfile).map_err(|e| context_error(spec, e))
}

fn context_error(spec: &BuildSpec, err: impl std::fmt::Display) -> Error {
    Error::BuildContext { context: spec.context.clone(), message: err.to_string() }
}

/// `dockside/<name>:<hash>`, the name taken from the Dockerfile's folder (and its file name when
/// that is not plain `Dockerfile`), so `docker images` shows where an image came from.
fn content_tag(dockerfile: &Path, hash: &str) -> String {
    let folder = dockerfile.parent().and_then(Path::file_name).and_then(|n| n.to_str());
    let file = dockerfile.file_name().and_then(|n| n.to_str()).unwrap_or("Dockerfile");
    let stem = file.trim_end_matches(".Dockerfile").trim_end_matches(".dockerfile");
    let raw = match (folder, stem) {
        (Some(folder), "Dockerfile" | "dockerfile") => folder.to_owned(),
        (Some(folder), stem) => format!("{folder}-{stem}"),
        (None, stem) => stem.to_owned(),
    };
    let name = sanitize_component(&raw);
    let name = if name.is_empty() { "image".to_owned() } else { name };
    format!("dockside/{name}:{}", &hash[..32])
}

/// Lowercases and replaces what a repository component may not contain.
fn sanitize_component(raw: &str) -> String {
    let mapped: String = raw
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
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

/// The builder the daemon gets: BuildKit unless the user switched it off the usual way.
fn builder_version() -> BuilderVersion {
    match std::env::var("DOCKER_BUILDKIT").as_deref() {
        Ok("0") | Ok("false") => BuilderVersion::BuilderV1,
        _ => BuilderVersion::BuilderBuildKit,
    }
}

async fn run_build(
    docker: &Docker,
    spec: &BuildSpec,
    context: Context,
    tag: &str,
    hash: &str,
) -> Result<Outcome> {
    eprintln!("dockside: building image {tag} from {}", spec.dockerfile.display());
    let version = builder_version();
    let image_labels = HashMap::from([
        (labels::MANAGED.to_owned(), "true".to_owned()),
        (labels::CONTENT_HASH.to_owned(), hash.to_owned()),
        (labels::DOCKERFILE.to_owned(), spec.dockerfile.display().to_string()),
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
        options = options.session(&session_id());
    }
    let body = tar_body(context);
    let mut stream =
        docker.build_image(options.build(), None, Some(bollard::body_try_stream(body)));
    let mut log = BuildLog::new(tag);
    while let Some(item) = stream.next().await {
        match item {
            Ok(info) => log.record(info),
            Err(bollard::errors::Error::DockerStreamError { error })
                if error.contains("already exists") =>
            {
                return Ok(Outcome::AlreadyExists(error));
            }
            Err(e) => {
                return Err(Error::Build {
                    dockerfile: spec.dockerfile.clone(),
                    message: log.failure(daemon_words(&e)),
                    output: log.tail(),
                })
            }
        }
    }
    Ok(Outcome::Built)
}

fn session_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("dockside-{}-{nanos}", std::process::id())
}

/// The context as a streamed request body: a large context is never held in memory whole.
fn tar_body(
    context: Context,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    let chunks = context.spawn_tar_stream();
    futures_util::stream::unfold(chunks, |mut chunks| async move {
        let chunk = chunks.recv().await?;
        Some((chunk.map(Bytes::from), chunks))
    })
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
                if line.starts_with("Step ") {
                    eprintln!("dockside: building {}: {line}", self.tag);
                }
                self.push(line.to_owned());
            }
        }
        if let Some(BuildInfoAux::BuildKit(status)) = info.aux {
            for vertex in status.vertexes {
                self.names.insert(vertex.digest.clone(), vertex.name.clone());
                if vertex.started.is_some() && !vertex.cached && self.started.insert(vertex.digest) {
                    eprintln!("dockside: building {}: {}", self.tag, vertex.name);
                }
                if !vertex.error.is_empty() {
                    self.failed_step = Some(format!("step `{}` failed: {}", vertex.name, vertex.error));
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
            Some(step) => format!("{step} ({words})"),
            None => words,
        }
    }

    fn tail(&self) -> String {
        self.lines.iter().map(String::as_str).collect::<Vec<_>>().join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_tags_name_their_dockerfile() {
        let hash = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let cases = [
            ("/x/fixtures/web/Dockerfile", "dockside/web:0123456789abcdef0123456789abcdef"),
            ("/x/docker/test.Dockerfile", "dockside/docker-test:0123456789abcdef0123456789abcdef"),
            ("/x/My App/Dockerfile", "dockside/my-app:0123456789abcdef0123456789abcdef"),
            ("/x/__/Dockerfile", "dockside/image:0123456789abcdef0123456789abcdef"),
        ];
        for (path, tag) in cases {
            assert_eq!(content_tag(Path::new(path), hash), tag, "{path}");
        }
    }
}
