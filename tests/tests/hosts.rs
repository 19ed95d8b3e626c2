//! Finding the daemon and publishing ports where it is: a Docker context (current, or named by
//! `DOCKER_CONTEXT`) sends the requests to its endpoint, here a proxy that counts them; a daemon
//! reached over TCP on loopback (`socat` in front of the local socket) publishes on 127.0.0.1
//! and readiness works without the unix socket.

use std::path::Path;
use std::process::Command;

use dockside::{docker_test, BuildSpec, Container, Image};
use dockside_tests::child::{self, ChildRun};
use dockside_tests::fixture::base_dockerfile;
use dockside_tests::net::TcpDaemon;
use dockside_tests::owned::{after_removal, exists};
use dockside_tests::proxy::{local_daemon_socket, DockerProxy};
use dockside_tests::tls::{ServerCertificates, TlsDaemon};
use dockside_tests::{docker_cli, http};

#[test]
#[ignore = "run by the context tests of this file"]
fn child_resolve() {
    child::resolve_from_env();
}

/// The folder name the Docker CLI gives a context's files: the SHA-256 of its name.
fn context_id(name: &str) -> String {
    let id = docker_cli::run_ok("sh", &["-c", "printf %s \"$1\" | sha256sum", "sh", name]);
    id.split_whitespace().next().unwrap().to_owned()
}

/// The Docker CLI's files for a context named `name` with endpoint `host`, in the config folder
/// `dir`: `contexts/meta/<sha256 of name>/meta.json`.
fn write_context(dir: &Path, name: &str, host: &str) {
    let meta = dir.join("contexts/meta").join(context_id(name));
    std::fs::create_dir_all(&meta).unwrap();
    std::fs::write(
        meta.join("meta.json"),
        format!(
            r#"{{"Name":"{name}","Metadata":{{}},"Endpoints":{{"docker":{{"Host":"{host}","SkipTLSVerify":false}}}}}}"#
        ),
    )
    .unwrap();
}

/// Resolves the fixture base image in a child whose only way to the daemon is the Docker
/// config in `config` (plus `envs`), and returns the child's run and the proxy's count.
fn resolve_through_context(config: &Path, envs: &[(&str, &str)]) -> (ChildRun, DockerProxy) {
    let base = Image::Build(BuildSpec::new(base_dockerfile()))
        .resolve()
        .unwrap();
    let proxy = DockerProxy::start(&local_daemon_socket()).unwrap();
    write_context(config, "dockside-proxy", &proxy.docker_host());
    let config = config.display().to_string();
    let mut all = vec![
        ("DOCKER_HOST", ""),
        ("DOCKER_CONFIG", config.as_str()),
        (child::REFERENCE, base.id.as_str()),
    ];
    all.extend_from_slice(envs);
    let run = child::run(child::RESOLVE, &all);
    (run, proxy)
}

#[test]
fn the_current_context_receives_the_requests() {
    let config = tempfile::tempdir().unwrap();
    std::fs::write(
        config.path().join("config.json"),
        r#"{"currentContext": "dockside-proxy"}"#,
    )
    .unwrap();

    let (run, proxy) = resolve_through_context(config.path(), &[("DOCKER_CONTEXT", "")]);
    run.resolved_id();
    assert!(
        proxy.count("GET", "/images/") >= 1,
        "the context's endpoint saw {:?}",
        proxy.requests()
    );
}

#[test]
fn docker_context_names_the_context() {
    let config = tempfile::tempdir().unwrap();

    let (run, proxy) =
        resolve_through_context(config.path(), &[("DOCKER_CONTEXT", "dockside-proxy")]);
    run.resolved_id();
    assert!(
        proxy.count("GET", "/images/") >= 1,
        "the context's endpoint saw {:?}",
        proxy.requests()
    );
}

/// A named context that does not exist is an error naming it, not a silent fall back to
/// another daemon; the message lists what was looked at, in order.
#[test]
fn a_missing_context_is_named_with_what_was_tried() {
    let config = tempfile::tempdir().unwrap();
    let (run, proxy) = resolve_through_context(config.path(), &[("DOCKER_CONTEXT", "gone")]);
    assert!(!run.passed(), "{}", run.output());
    let output = run.output();
    for expected in [
        "no docker daemon answered at context `gone` (DOCKER_CONTEXT)",
        "looked for a daemon at, in order: DOCKER_HOST (not set); context `gone` (DOCKER_CONTEXT)",
    ] {
        assert!(output.contains(expected), "no `{expected}` in:\n{output}");
    }
    assert_eq!(proxy.requests(), Vec::<(String, String)>::new());
}

/// The server listens only after 1 s, while Docker's host port already accepts: the first
/// request works only if readiness was real.
#[docker_test(
    dockerfile = "fixtures/Dockerfile",
    cmd = ["serve", "--port", "8080", "--delay-ms", "1000", "--body", "over tcp"],
    ports = [8080]
)]
#[ignore = "run by the tcp tests of this file"]
fn child_serves_over_tcp(web: Container) {
    assert_eq!(http::get(web.addr(8080), "/").unwrap(), "over tcp");
    println!("container-id={}", web.id());
    println!("reached-at={}", web.addr(8080).ip());
    println!(
        "bound-to={}",
        docker_cli::inspect(
            web.id(),
            "{{(index (index .HostConfig.PortBindings \"8080/tcp\") 0).HostIp}}"
        )
    );
}

/// Runs [`child_serves_over_tcp`] with `envs` and checks it passed.
fn serve(envs: &[(&str, &str)]) -> ChildRun {
    let run = child::run("child_serves_over_tcp", envs);
    assert!(run.passed(), "{}", run.output());
    run
}

#[test]
fn a_loopback_tcp_daemon_publishes_on_loopback() {
    let Some(daemon) = TcpDaemon::start() else {
        return;
    };
    for host in [
        format!("tcp://127.0.0.1:{}", daemon.port),
        format!("tcp://localhost:{}", daemon.port),
    ] {
        let run = serve(&[("DOCKER_HOST", &host), ("DOCKSIDE_PUBLISH_ADDRESS", "")]);
        assert_eq!(run.printed_first("bound-to"), "127.0.0.1", "{host}");
        assert_eq!(run.printed_first("reached-at"), "127.0.0.1", "{host}");
        // Removed over TCP too (by the courier, after the test's process ended), also when
        // `localhost` resolves to `::1` first while the daemon listens on 127.0.0.1 only.
        let id = run.printed_first("container-id");
        assert!(
            !after_removal(|| exists(&id), |left| !*left),
            "{host}: {id} left"
        );
    }
}

/// A local daemon publishes on 127.0.0.1 unless `DOCKSIDE_PUBLISH_ADDRESS` says otherwise;
/// the ports are still reached on loopback.
#[test]
fn the_publish_address_overrides_the_binding() {
    let run = serve(&[("DOCKSIDE_PUBLISH_ADDRESS", "0.0.0.0")]);
    assert_eq!(run.printed_first("bound-to"), "0.0.0.0");
    assert_eq!(run.printed_first("reached-at"), "127.0.0.1");
}

/// A shared container, which needs the run's watcher.
#[docker_test(dockerfile = "fixtures/Dockerfile", ports = [8080], shared)]
#[ignore = "run by the TLS test of this file"]
fn child_shares(web: Container) {
    println!("container-id={}", web.id());
}

/// A test certificate authority, and a server and a client certificate it signed, made with
/// `openssl` in a temporary folder: `ca.pem`, `server.pem`/`server-key.pem` (for 127.0.0.1),
/// `cert.pem`/`key.pem` (the client's, as a Docker context holds them).
fn make_certificates(dir: &Path, ca_name: &str) {
    let script = r#"set -e
        openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=$1" \
            -keyout ca-key.pem -out ca.pem 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 \
            -keyout server-key.pem -out server.csr 2>/dev/null
        printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >server.ext
        openssl x509 -req -days 1 -in server.csr -CA ca.pem -CAkey ca-key.pem \
            -CAcreateserial -extfile server.ext -out server.pem 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -subj /CN=client \
            -keyout key.pem -out client.csr 2>/dev/null
        printf 'extendedKeyUsage=clientAuth\n' >client.ext
        openssl x509 -req -days 1 -in client.csr -CA ca.pem -CAkey ca-key.pem \
            -CAcreateserial -extfile client.ext -out cert.pem 2>/dev/null"#;
    let made = Command::new("sh")
        .args(["-c", script, "sh", ca_name])
        .current_dir(dir)
        .status()
        .unwrap();
    assert!(
        made.success(),
        "openssl could not make the test certificates"
    );
}

/// The current context's endpoint is `tcp://` behind TLS that asks for the client's
/// certificate: dockside connects with the context's `ca.pem`, `cert.pem` and `key.pem`. With a
/// CA that did not sign the server's certificate, or a client certificate another CA signed, it
/// fails naming the context and the reason.
#[test]
fn a_context_with_tls_material_connects_with_it() {
    let certs = tempfile::tempdir().unwrap();
    make_certificates(certs.path(), "dockside test ca");
    let daemon = TlsDaemon::start(
        &local_daemon_socket(),
        &ServerCertificates {
            cert: certs.path().join("server.pem"),
            key: certs.path().join("server-key.pem"),
            client_ca: certs.path().join("ca.pem"),
        },
    )
    .unwrap();
    let base = Image::Build(BuildSpec::new(base_dockerfile()))
        .resolve()
        .unwrap();
    let config = tempfile::tempdir().unwrap();
    let name = "dockside-tls";
    write_context(config.path(), name, &daemon.docker_host());
    std::fs::write(
        config.path().join("config.json"),
        format!(r#"{{"currentContext":"{name}"}}"#),
    )
    .unwrap();
    let tls = config
        .path()
        .join("contexts/tls")
        .join(context_id(name))
        .join("docker");
    std::fs::create_dir_all(&tls).unwrap();
    let use_files = |from: &Path, files: &[&str]| {
        for file in files {
            std::fs::copy(from.join(file), tls.join(file)).unwrap();
        }
    };
    use_files(certs.path(), &["ca.pem", "cert.pem", "key.pem"]);
    let config_dir = config.path().display().to_string();
    let envs = [
        ("DOCKER_HOST", ""),
        ("DOCKER_CONTEXT", ""),
        ("DOCKER_CONFIG", config_dir.as_str()),
        (child::REFERENCE, base.id.as_str()),
    ];
    let run = child::run(child::RESOLVE, &envs);
    assert_eq!(run.resolved_id(), base.id);
    assert!(daemon.accepted() > 0);
    assert_eq!(daemon.refused(), 0);
    // The run's watcher speaks plain HTTP only: a shared container is refused, saying why.
    let run = child::run("child_shares", &envs);
    let output = run.output();
    assert!(!run.passed(), "a shared container over TLS:\n{output}");
    let why = format!(
        "`web` is shared, but the daemon at {} is reached with TLS, and the watcher",
        daemon.docker_host()
    );
    assert!(output.contains(&why), "no `{why}` in:\n{output}");

    let other = tempfile::tempdir().unwrap();
    make_certificates(other.path(), "another ca");
    let context = format!("context `{name}` (currentContext in ");
    let fails_naming_the_context = |what: &str, reason: &str| {
        let refused_before = daemon.refused();
        let run = child::run(child::RESOLVE, &envs);
        let output = run.output();
        assert!(!run.passed(), "{what}: the child passed\n{output}");
        assert!(
            output.contains(&context),
            "{what}: no `{context}` in:\n{output}"
        );
        assert!(
            output.contains("no docker daemon answered"),
            "{what}:\n{output}"
        );
        assert!(
            output.contains(reason),
            "{what}: no `{reason}` in:\n{output}"
        );
        // A daemon answered: starting one is no advice here.
        assert!(
            output.contains("the TLS handshake failed: check") && !output.contains("systemctl"),
            "{what}: no TLS advice in:\n{output}"
        );
        assert!(
            daemon.refused() > refused_before,
            "{what}: no handshake refused"
        );
    };
    // A client certificate the daemon's CA did not sign.
    use_files(other.path(), &["cert.pem", "key.pem"]);
    fails_naming_the_context(
        "a client certificate of another CA",
        "received fatal alert: UnknownCA",
    );
    // A CA that did not sign the server's certificate.
    use_files(certs.path(), &["cert.pem", "key.pem"]);
    use_files(other.path(), &["ca.pem"]);
    fails_naming_the_context("another CA", "invalid peer certificate");
}
