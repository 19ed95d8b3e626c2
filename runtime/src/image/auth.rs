//! Registry credentials for pulls, found where CI systems and the Docker CLI keep them:
//! `DOCKER_AUTH_CONFIG` (the JSON of a `config.json`, as CI systems set it), then
//! `$DOCKER_CONFIG/config.json` (else `~/.docker/config.json`) with its `auths`, per-registry
//! `credHelpers` and `credsStore`. Reading a config and running `docker-credential-<name> get`
//! is the `docker_credential` crate's; this module decides where to look, bounds the helper in
//! time and keeps every secret out of messages.

use std::fmt;
use std::path::PathBuf;

use docker_credential::{CredentialRetrievalError, DockerCredential};

use super::reference::Reference;
use crate::config;
use crate::error::{Error, Result};

/// The key Docker Hub's credentials are stored under, by `docker login` and credential helpers.
const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

/// A secret (password or identity token): its `Debug` and `Display` print `***`, so no message,
/// log line or `{:?}` of a struct holding it can show it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(String);

impl Secret {
    /// The secret itself, for the one place that sends it: the daemon's pull request.
    fn reveal(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A credential for one registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Credential {
    /// `docker login`'s user name and password.
    Password { username: String, password: Secret },
    /// An identity (refresh) token, as some helpers return.
    IdentityToken(Secret),
}

/// What a search for one registry's credential found, and where it looked.
#[derive(Debug)]
pub(crate) struct Lookup {
    /// The registry host (`docker.io`, `ghcr.io`, `127.0.0.1:5000`).
    pub(crate) registry: String,
    pub(crate) credential: Option<Credential>,
    /// Each place looked at, in order, with what it held (never a secret).
    pub(crate) searched: Vec<String>,
}

impl Lookup {
    /// bollard's form of the credential, for the pull request.
    pub(crate) fn for_daemon(&self) -> Option<bollard::auth::DockerCredentials> {
        let server = Some(server_key(&self.registry).to_owned());
        self.credential.as_ref().map(|credential| match credential {
            Credential::Password { username, password } => bollard::auth::DockerCredentials {
                username: Some(username.clone()),
                password: Some(password.reveal().to_owned()),
                serveraddress: server,
                ..Default::default()
            },
            Credential::IdentityToken(token) => bollard::auth::DockerCredentials {
                identitytoken: Some(token.reveal().to_owned()),
                serveraddress: server,
                ..Default::default()
            },
        })
    }

    /// For a refused pull: which credential was sent, or that none was, and where they were
    /// looked for.
    pub(crate) fn explain(&self) -> String {
        let sent = match &self.credential {
            Some(Credential::Password { username, .. }) => {
                format!("the password of user `{username}` was sent")
            }
            Some(Credential::IdentityToken(_)) => "an identity token was sent".to_owned(),
            None => "no credential was found".to_owned(),
        };
        format!(
            "for registry {}, {sent}; credentials were looked for in: {}",
            self.registry,
            self.searched.join("; ")
        )
    }
}

/// The key a registry's credentials are stored under: Docker Hub has its historical URL, every
/// other registry its host.
fn server_key(registry: &str) -> &str {
    match registry {
        "docker.io" | "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB_KEY,
        other => other,
    }
}

/// Finds the credential for the registry of `reference` (pulled from `registry`, which a mirror
/// may change). A config that cannot be read or a helper that fails is an error naming the file
/// or helper; a registry nobody has a credential for is not (public images need none), and the
/// daemon's refusal is then explained with [`Lookup::explain`].
pub(crate) async fn lookup(reference: &Reference) -> Result<Lookup> {
    let registry = reference.registry.clone();
    let failed = |message: String| Error::Pull {
        reference: reference.familiar(),
        message,
        source: None,
    };
    let limit = config::docker_timeout();
    // A credential helper is a program that may hang (a locked keychain waiting for a prompt): run
    // the search on a thread of its own and stop waiting after the limit. The thread is then left
    // behind rather than joined, so nothing waits forever on it.
    let (sender, receiver) = tokio::sync::oneshot::channel();
    let searched_registry = registry.clone();
    std::thread::spawn(move || {
        let _ = sender.send(search(&searched_registry));
    });
    match tokio::time::timeout(limit, receiver).await {
        Ok(Ok(found)) => found.map_err(failed),
        Ok(Err(_)) => Err(failed(format!(
            "the search for credentials of registry {registry} stopped"
        ))),
        Err(_) => Err(Error::Timeout {
            what: format!("looking up credentials for registry {registry} (a credential helper)"),
            limit,
            variable: "DOCKSIDE_DOCKER_TIMEOUT",
        }),
    }
}

/// Where the config file is: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
fn config_file() -> Option<PathBuf> {
    config::docker_config_dir(&config::env).map(|dir| dir.join("config.json"))
}

/// The search itself; an error is a message naming the registry and the file or helper.
fn search(registry: &str) -> std::result::Result<Lookup, String> {
    let key = server_key(registry);
    let mut lookup = Lookup {
        registry: registry.to_owned(),
        credential: None,
        searched: Vec::new(),
    };
    match config::env("DOCKER_AUTH_CONFIG") {
        None => lookup
            .searched
            .push("DOCKER_AUTH_CONFIG (not set)".to_owned()),
        Some(json) => {
            let answer = docker_credential::get_credential_from_reader(json.as_bytes(), key);
            if let Some(credential) = accept(answer, registry, "DOCKER_AUTH_CONFIG")? {
                lookup.searched.push("DOCKER_AUTH_CONFIG (used)".to_owned());
                lookup.credential = Some(credential);
                return Ok(lookup);
            }
            lookup
                .searched
                .push(format!("DOCKER_AUTH_CONFIG (nothing for {key})"));
        }
    }
    let Some(path) = config_file() else {
        lookup
            .searched
            .push("the docker config (neither DOCKER_CONFIG nor HOME is set)".to_owned());
        return Ok(lookup);
    };
    let shown = path.display().to_string();
    let file = match std::fs::File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            lookup.searched.push(format!("{shown} (no such file)"));
            return Ok(lookup);
        }
        Err(e) => {
            return Err(format!(
                "reading credentials for registry {registry} from {shown} failed: {e}"
            ))
        }
    };
    let answer = docker_credential::get_credential_from_reader(std::io::BufReader::new(file), key);
    match accept(answer, registry, &shown)? {
        Some(credential) => {
            lookup.searched.push(format!("{shown} (used)"));
            lookup.credential = Some(credential);
        }
        None => lookup.searched.push(format!("{shown} (nothing for {key})")),
    }
    Ok(lookup)
}

/// Turns the crate's answer into a credential, none, or an error naming `source` and never the
/// secret: a failing helper's output is not shown either, since a helper may echo what it got.
fn accept(
    answer: std::result::Result<DockerCredential, CredentialRetrievalError>,
    registry: &str,
    source: &str,
) -> std::result::Result<Option<Credential>, String> {
    use CredentialRetrievalError as E;
    let fail = |what: String| format!("credentials for registry {registry}: {what} (in {source})");
    match answer {
        Ok(DockerCredential::UsernamePassword(username, password)) => {
            Ok(Some(Credential::Password {
                username,
                password: Secret(password),
            }))
        }
        Ok(DockerCredential::IdentityToken(token)) => {
            Ok(Some(Credential::IdentityToken(Secret(token))))
        }
        Err(E::NoCredentialConfigured) => Ok(None),
        // The Docker CLI's reading of a helper's "credentials not found": no credential.
        Err(E::HelperFailure { stdout, .. }) if stdout.contains("credentials not found") => {
            Ok(None)
        }
        Err(E::HelperFailure { helper, .. }) => Err(fail(format!("`{helper} get` failed"))),
        Err(E::HelperCommunicationError) => Err(fail(
            "a credential helper (docker-credential-<name>) could not be run: is it on PATH?"
                .to_owned(),
        )),
        Err(E::MalformedHelperResponse) => Err(fail(
            "a credential helper answered something other than its JSON".to_owned(),
        )),
        Err(E::CredentialDecodingError) => Err(fail(
            "an `auth` value is not base64 of `user:password`".to_owned(),
        )),
        Err(E::CredentialMismatchError) => Err(fail(
            "an entry's `auth` disagrees with its `username` and `password`".to_owned(),
        )),
        Err(E::ConfigNotFound | E::ConfigReadError) => {
            Err(fail("the config is not valid JSON".to_owned()))
        }
    }
}

/// Daemon words that mean the registry refused the pull for want of a (valid) credential.
pub(crate) fn is_refusal(words: &str) -> bool {
    let words = words.to_ascii_lowercase();
    [
        "unauthorized",
        "no basic auth credentials",
        "authentication required",
        "denied",
    ]
    .iter()
    .any(|w| words.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_print_as_stars() {
        let credential = Credential::Password {
            username: "ci".to_owned(),
            password: Secret("hunter2-secret".to_owned()),
        };
        let shown = format!(
            "{credential:?} {:?}",
            Credential::IdentityToken(Secret("tok-secret".to_owned()))
        );
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("***"), "{shown}");
        let lookup = Lookup {
            registry: "r.example:5000".to_owned(),
            credential: Some(credential),
            searched: vec!["DOCKER_AUTH_CONFIG (used)".to_owned()],
        };
        let shown = format!("{lookup:?} {}", lookup.explain());
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("user `ci`"), "{shown}");
    }

    #[test]
    fn docker_hub_has_its_historical_key() {
        assert_eq!(server_key("docker.io"), DOCKER_HUB_KEY);
        assert_eq!(server_key("ghcr.io"), "ghcr.io");
        assert_eq!(server_key("127.0.0.1:5000"), "127.0.0.1:5000");
    }

    #[test]
    fn entries_are_found_by_registry_key() {
        let json = r#"{"auths": {"https://index.docker.io/v1/": {"auth": "dTpw"},
                                 "127.0.0.1:5000": {"auth": "YTpi"}}}"#;
        let hub =
            docker_credential::get_credential_from_reader(json.as_bytes(), server_key("docker.io"));
        assert_eq!(
            accept(hub, "docker.io", "test").unwrap(),
            Some(Credential::Password {
                username: "u".to_owned(),
                password: Secret("p".to_owned())
            })
        );
        let other = docker_credential::get_credential_from_reader(json.as_bytes(), "ghcr.io");
        assert_eq!(accept(other, "ghcr.io", "test").unwrap(), None);
    }

    #[test]
    fn refusals_are_recognised() {
        assert!(is_refusal(
            "Get http://127.0.0.1:5000/v2/x/manifests/1: no basic auth credentials"
        ));
        assert!(is_refusal("unauthorized: authentication required"));
        assert!(!is_refusal("manifest for x:1 not found"));
    }
}
