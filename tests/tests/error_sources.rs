//! Errors keep their causes: `std::error::Error::source` leads from dockside's error to the
//! client's (bollard) error and on to the I/O error below it, while the message itself says
//! what failed once, the daemon's words included once.

use std::error::Error as StdError;

use dockside::{BuildSpec, Container, Error, Image};
use dockside_tests::child;
use dockside_tests::fixture::temp_context;
use dockside_tests::proxy::{local_daemon_socket, DockerProxy, Fault};

/// One error of a source chain: its type (and variant, for an enum) and its message.
#[derive(Debug, PartialEq)]
struct Link {
    kind: String,
    text: String,
}

/// The error and every source below it, outermost first.
fn chain(err: &(dyn StdError + 'static)) -> Vec<Link> {
    let mut links = Vec::new();
    let mut next = Some(err);
    while let Some(err) = next {
        links.push(Link {
            kind: kind(err),
            text: err.to_string(),
        });
        next = err.source();
    }
    links
}

/// The type of `err`, among those a dockside error's chain may hold, with the variant of an
/// enum as its `Debug` form starts.
fn kind(err: &(dyn StdError + 'static)) -> String {
    let variant = |debug: String| {
        let end = debug.find([' ', '(', '{']).unwrap_or(debug.len());
        debug[..end].to_owned()
    };
    if let Some(e) = err.downcast_ref::<Error>() {
        format!("dockside::Error::{}", variant(format!("{e:?}")))
    } else if let Some(e) = err.downcast_ref::<bollard::errors::Error>() {
        format!("bollard::errors::Error::{}", variant(format!("{e:?}")))
    } else if let Some(e) = err.downcast_ref::<std::io::Error>() {
        format!("std::io::Error({:?})", e.kind())
    } else if err.is::<dockside::ReferenceError>() {
        "dockside::ReferenceError".to_owned()
    } else {
        format!("other: {err:?}")
    }
}

/// The longest text of at least `min` characters that occurs twice in `line`, if any.
fn repeated(line: &str, min: usize) -> Option<String> {
    let chars: Vec<char> = line.chars().collect();
    let mut longest: Option<String> = None;
    for i in 0..chars.len() {
        for j in i + 1..chars.len() {
            let same = chars[i..]
                .iter()
                .zip(&chars[j..])
                .take_while(|(a, b)| a == b)
                .count();
            if same >= min && longest.as_ref().is_none_or(|l| same > l.chars().count()) {
                longest = Some(chars[i..i + same].iter().collect());
            }
        }
    }
    longest
}

#[test]
#[ignore = "run by the tests below in a child process"]
fn child_error_chain() {
    let err = child::image_from_env().resolve().unwrap_err();
    for link in chain(&err) {
        println!("link={}|{}", link.kind, link.text.replace('\n', "\\n"));
    }
}

/// The chain a [`child_error_chain`] run printed.
fn printed_chain(run: &child::ChildRun) -> Vec<Link> {
    run.printed("link")
        .into_iter()
        .map(|line| {
            let (kind, text) = line.split_once('|').expect("kind|text");
            Link {
                kind: kind.to_owned(),
                text: text.replace("\\n", "\n"),
            }
        })
        .collect()
}

fn kinds(links: &[Link]) -> Vec<&str> {
    links.iter().map(|l| l.kind.as_str()).collect()
}

/// The first line of `message` (what failed and why) has no clause twice, and `words` (a
/// cause's own words) appear in the whole message exactly once.
fn assert_said_once(message: &str, words: &str) {
    let first = message.lines().next().unwrap_or_default();
    assert_eq!(repeated(first, 20), None, "repeated text in: {message}");
    assert_eq!(
        message.matches(words).count(),
        1,
        "`{words}` not once in: {message}"
    );
}

/// A unix socket file nobody listens on: connecting to it is refused.
fn dead_socket(dir: &tempfile::TempDir) -> String {
    let path = dir.path().join("dead.sock");
    drop(std::os::unix::net::UnixListener::bind(&path).expect("bind a socket"));
    format!("unix://{}", path.display())
}

#[test]
fn a_daemon_that_refuses_the_connection_leads_to_the_os_error() {
    let dir = tempfile::tempdir().unwrap();
    let host = dead_socket(&dir);
    let run = child::run(
        "child_error_chain",
        &[
            ("DOCKER_HOST", &host),
            (child::REFERENCE, "example.org/anything:1"),
        ],
    );
    let links = printed_chain(&run);
    let (first, last) = (&links[0], &links[links.len() - 1]);
    assert_eq!(first.kind, "dockside::Error::NoDaemon", "{}", run.output());
    assert!(
        links[1].kind.starts_with("bollard::errors::Error::"),
        "{links:#?}"
    );
    assert_eq!(last.kind, "std::io::Error(ConnectionRefused)", "{links:#?}");
    assert!(
        first.text.starts_with(&format!(
            "no docker daemon answered at {host}: {}\n",
            last.text
        )),
        "{}",
        first.text
    );
    assert_said_once(&first.text, &last.text);
}

#[test]
fn a_missing_socket_is_named_once() {
    let nowhere = format!("unix:///tmp/dockside-no-such-{}.sock", child::nonce());
    let run = child::run(
        "child_error_chain",
        &[
            ("DOCKER_HOST", &nowhere),
            (child::REFERENCE, "example.org/anything:1"),
        ],
    );
    let links = printed_chain(&run);
    assert_eq!(
        kinds(&links),
        [
            "dockside::Error::NoDaemon",
            "bollard::errors::Error::SocketNotFoundError"
        ],
        "{}",
        run.output()
    );
    let message = &links[0].text;
    assert!(
        message.starts_with(&format!(
            "no docker daemon answered at {nowhere}: the socket does not exist\n"
        )),
        "{message}"
    );
    assert_said_once(message, "the socket does not exist");
}

#[test]
fn a_daemons_error_answer_is_the_source() {
    let proxy = DockerProxy::start(&local_daemon_socket()).unwrap();
    proxy.inject(Fault::ErrorStatus {
        method: "GET".to_owned(),
        path_prefix: "/images/".to_owned(),
        status: 500,
        message: "the image store is read-only".to_owned(),
    });
    let run = child::run(
        "child_error_chain",
        &[
            ("DOCKER_HOST", &proxy.docker_host()),
            (child::REFERENCE, "example.org/anything:1"),
        ],
    );
    let links = printed_chain(&run);
    assert_eq!(
        kinds(&links),
        [
            "dockside::Error::Docker",
            "bollard::errors::Error::DockerResponseServerError"
        ],
        "{}",
        run.output()
    );
    assert_eq!(
        links[0].text,
        "docker inspect of image example.org/anything:1 failed: the image store is read-only (HTTP 500)"
    );
    assert_eq!(
        links[1].text,
        "Docker responded with status code 500: the image store is read-only"
    );
}

#[test]
fn a_failed_pull_keeps_the_daemons_error() {
    // Nothing listens on port 1: the daemon's own error says so.
    let err = Image::Pull("127.0.0.1:1/dockside/missing:1".to_owned())
        .resolve()
        .unwrap_err();
    let links = chain(&err);
    assert_eq!(
        kinds(&links),
        [
            "dockside::Error::Pull",
            "bollard::errors::Error::DockerResponseServerError"
        ]
    );
    let refused = "dial tcp 127.0.0.1:1: connect: connection refused";
    assert!(links[1].text.contains(refused), "{}", links[1].text);
    assert_said_once(&links[0].text, refused);
}

/// The test whose build failed gets the build's error with its cause; a later resolve in the
/// same process gets the replay, which says the build failed earlier and is not tried again.
#[test]
fn a_failed_build_keeps_the_stream_error_and_is_replayed_without_it() {
    let context = temp_context(&format!(
        "FROM scratch\nCOPY fixture /fixture\nLABEL nonce=\"{}\"\n\
         RUN [\"/fixture\", \"exit\", \"--code\", \"3\"]\n",
        child::nonce()
    ));
    let image = Image::Build(BuildSpec::new(context.path().join("Dockerfile")));
    let err = image.resolve().unwrap_err();
    let links = chain(&err);
    assert_eq!(
        kinds(&links),
        [
            "dockside::Error::Build",
            "bollard::errors::Error::DockerStreamError"
        ]
    );
    let words = links[1]
        .text
        .strip_prefix("Docker stream error: ")
        .unwrap_or_else(|| panic!("{}", links[1].text));
    assert!(words.contains("exit code: 3"), "{words}");
    assert_said_once(&links[0].text, words);
    assert!(!links[0].text.contains("earlier"), "{}", links[0].text);

    let replayed = chain(&image.resolve().unwrap_err());
    assert_eq!(kinds(&replayed), ["dockside::Error::Build"]);
    assert!(
        replayed[0]
            .text
            .contains("(the build failed earlier in this process, which does not try it again)"),
        "{}",
        replayed[0].text
    );
    assert_said_once(&replayed[0].text, words);
}

#[test]
fn an_invalid_reference_keeps_the_parsers_error() {
    let err = Image::Pull("Uppercase/Repo".to_owned())
        .resolve()
        .unwrap_err();
    let links = chain(&err);
    assert_eq!(
        links,
        [
            Link {
                kind: "dockside::Error::InvalidReference".to_owned(),
                text: "invalid image reference `Uppercase/Repo`: repository name must be lowercase"
                    .to_owned(),
            },
            Link {
                kind: "dockside::ReferenceError".to_owned(),
                text: "repository name must be lowercase".to_owned(),
            },
        ]
    );
}

#[dockside::docker_test(dockerfile = "fixtures/Dockerfile", ports = [8080])]
async fn a_refused_copy_keeps_the_daemons_error(web: Container) {
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let err = web
        .copy_file_in(file, "/no-such-folder/Cargo.toml")
        .await
        .unwrap_err();
    let links = chain(&err);
    assert_eq!(
        kinds(&links),
        [
            "dockside::Error::Container",
            "bollard::errors::Error::DockerResponseServerError"
        ]
    );
    assert!(
        links[0].text.starts_with(&format!(
            "copying {file} to /no-such-folder/Cargo.toml in container web ("
        )),
        "{}",
        links[0].text
    );
    assert_said_once(&links[0].text, "Could not find the file /no-such-folder");
}
