//! Pulling an image that is not present locally.

use std::time::Instant;

use bollard::query_parameters::{CreateImageOptionsBuilder, TagImageOptionsBuilder};
use bollard::Docker;
use futures_util::StreamExt;

use super::auth;
use super::pull_progress::PullProgress;
use super::reference::Reference;
use crate::config;
use crate::error::{daemon_words, Error, Result};

/// When an image named by reference is pulled: `pull = "..."` in the attribute,
/// [`ContainerSpec::pull`](crate::ContainerSpec::pull), or `DOCKSIDE_PULL` for the default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Pull {
    /// Pulled only when not present locally.
    #[default]
    Missing,
    /// Pulled once per run even when present, so a moved tag is seen: once per process under
    /// `cargo test`, once per nextest run across its processes.
    Always,
    /// Never pulled: an image not present locally fails the test.
    Never,
}

impl Pull {
    /// The policy of tests that set none (`DOCKSIDE_PULL`: `missing`, `always` or `never`;
    /// default `missing`). A value that does not parse is reported on stderr and ignored.
    pub(crate) fn from_env() -> Pull {
        config::env("DOCKSIDE_PULL")
            .and_then(|text| {
                text.parse()
                    .map_err(|reason| eprintln!("dockside: ignoring DOCKSIDE_PULL: {reason}"))
                    .ok()
            })
            .unwrap_or_default()
    }
}

impl std::str::FromStr for Pull {
    type Err = String;

    /// One of `dockside_syntax::PULL_POLICIES`, the words the attribute's `pull` takes too.
    fn from_str(text: &str) -> std::result::Result<Self, Self::Err> {
        // In the order of the words.
        const POLICIES: [Pull; 3] = [Pull::Missing, Pull::Always, Pull::Never];
        let words = dockside_syntax::PULL_POLICIES;
        match words.iter().position(|word| *word == text) {
            Some(at) => Ok(POLICIES[at]),
            None => Err(format!(
                "`{text}` is not a pull policy: expected `{}`",
                words.join("`, `")
            )),
        }
    }
}

/// Pulls `reference`. A Docker Hub image with a tag comes from the mirror in
/// `DOCKSIDE_REGISTRY_MIRROR` when one is set, and is then tagged with its Docker Hub name, so
/// later inspects find it under the name the test used.
pub(crate) async fn pull(docker: &Docker, reference: &Reference) -> Result<()> {
    let mirror = config::registry_mirror()
        .filter(|_| reference.registry == "docker.io" && reference.digest.is_none());
    let Some(mirror) = mirror else {
        return pull_from(docker, reference).await;
    };
    let mirrored = Reference {
        registry: mirror,
        ..reference.clone()
    };
    pull_from(docker, &mirrored).await?;
    let options = TagImageOptionsBuilder::new()
        .repo(&reference.name())
        .tag(reference.tag_or_latest())
        .build();
    docker
        .tag_image(&mirrored.familiar(), Some(options))
        .await
        .map_err(|e| Error::Pull {
            reference: reference.familiar(),
            message: format!(
                "tagging {} failed: {}",
                mirrored.familiar(),
                daemon_words(&e)
            ),
            source: Some(e.into()),
        })
}

/// Pulls `reference` from its own registry, with that registry's credential when one is
/// configured, showing progress on stderr (layers and bytes) at most once a second once it has
/// taken a second.
async fn pull_from(docker: &Docker, reference: &Reference) -> Result<()> {
    let shown = reference.familiar();
    let credentials = auth::lookup(reference).await?;
    eprintln!("dockside: pulling image {shown}");
    let options = CreateImageOptionsBuilder::new()
        .from_image(&reference.name())
        .tag(
            reference
                .digest
                .as_deref()
                .unwrap_or_else(|| reference.tag_or_latest()),
        )
        .build();
    let mut progress = docker.create_image(Some(options), None, credentials.for_daemon());
    let mut shown_progress = PullProgress::new(shown.clone(), Instant::now());
    while let Some(item) = progress.next().await {
        let info = item.map_err(|e| {
            let words = daemon_words(&e);
            let message = if auth::is_refusal(&words) {
                format!("{words} ({})", credentials.explain())
            } else {
                with_advice(reference, words)
            };
            Error::Pull {
                reference: shown.clone(),
                message,
                source: Some(e.into()),
            }
        })?;
        let detail = info.progress_detail.unwrap_or_default();
        shown_progress.record(
            info.status.as_deref().unwrap_or_default(),
            info.id.as_deref().unwrap_or_default(),
            detail.current,
            detail.total,
        );
        if let Some(line) = shown_progress.line_due(Instant::now()) {
            eprintln!("{line}");
        }
    }
    Ok(())
}

/// The daemon's words for a failed pull, followed by what the user can do when the words say
/// the registry could not be reached or wants credentials.
fn with_advice(reference: &Reference, words: String) -> String {
    let lower = words.to_lowercase();
    let unreachable = [
        "dial tcp",
        "no such host",
        "i/o timeout",
        "connection refused",
        "tls handshake timeout",
        "client.timeout",
        "network is unreachable",
    ]
    .iter()
    .any(|sign| lower.contains(sign));
    let denied = [
        "unauthorized",
        "no basic auth credentials",
        "pull access denied",
    ]
    .iter()
    .any(|sign| lower.contains(sign));
    let advice = if unreachable && reference.registry == "docker.io" {
        "Docker Hub cannot be reached from the daemon: build the image from a `dockerfile` \
         whose base images are local, set DOCKSIDE_REGISTRY_MIRROR to a registry that mirrors \
         Docker Hub, or log in to the registry you use (`docker login`)"
    } else if denied {
        "the registry refused the pull: log in (`docker login`) or check the image's name"
    } else {
        return words;
    };
    format!("{words}\n{advice}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The macro passes `pull = "word"` on as the variant named by the word in CamelCase; the
    /// environment's word must mean the same.
    #[test]
    fn each_pull_word_reads_as_its_camel_case_variant() {
        for word in dockside_syntax::PULL_POLICIES {
            let camel = word[..1].to_uppercase() + &word[1..];
            assert_eq!(format!("{:?}", word.parse::<Pull>().unwrap()), camel);
        }
        assert_eq!(
            "sometimes".parse::<Pull>(),
            Err(
                "`sometimes` is not a pull policy: expected `missing`, `always`, `never`"
                    .to_owned()
            )
        );
    }

    #[test]
    fn an_unreachable_docker_hub_gets_advice() {
        let hub = super::super::reference::parse("alpine:3.19").unwrap();
        let local = super::super::reference::parse("127.0.0.1:5000/a:1").unwrap();
        let unreachable = "Get \"https://registry-1.docker.io/v2/\": dial tcp: lookup \
                           registry-1.docker.io: no such host (HTTP 500)";
        let advised = with_advice(&hub, unreachable.to_owned());
        assert!(advised.starts_with(unreachable), "{advised}");
        assert!(advised.contains("DOCKSIDE_REGISTRY_MIRROR"), "{advised}");
        assert!(advised.contains("`dockerfile`"), "{advised}");
        assert_eq!(with_advice(&local, unreachable.to_owned()), unreachable);
        assert!(
            with_advice(&local, "no basic auth credentials".to_owned()).contains("docker login")
        );
        assert_eq!(
            with_advice(&hub, "manifest unknown".to_owned()),
            "manifest unknown"
        );
    }
}
