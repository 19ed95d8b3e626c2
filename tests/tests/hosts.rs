//! Finding the daemon and publishing ports where it is: a Docker context (current, or named by
//! `DOCKER_CONTEXT`) sends the requests to its endpoint, here a proxy that counts them; a daemon
//! reached over TCP on loopback (`socat` in front of the local socket) publishes on 127.0.0.1
//! and readiness works without the unix socket.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use dockside::{docker_test, BuildSpec, Container, Image};
use dockside_tests::child::{self, ChildRun};
use dockside_tests::fixture::base_dockerfile;
use dockside_tests::proxy::{local_daemon_socket, DockerProxy};
use dockside_tests::{docker_cli, http};

#[test]
#[ignore = "run by the context tests of this file"]
fn child_resolve() {
    child::resolve_from_env();
}

/// The Docker CLI's files for a context named `name` with endpoint `host`, in the config folder
/// `dir`: `contexts/meta/<sha256 of name>/meta.json`.
fn write_context(dir: &Path, name: &str, host: &str) {
    let id = docker_cli::run_ok("sh", &["-c", "printf %s \"$1\" | sha256sum", "sh", name]);
    let id = id.split_whitespace().next().unwrap();
    let meta = dir.join("contexts/meta").join(id);
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

/// `socat` listening on a loopback TCP port in front of the local daemon's socket, stopped on
/// drop: a local daemon reached as `tcp://`.
struct TcpDaemon {
    process: Child,
    port: u16,
}

impl TcpDaemon {
    fn start() -> Option<TcpDaemon> {
        if !dockside_tests::require::program("socat", "DOCKSIDE_TEST_REQUIRE_REGISTRY", "socat") {
            return None;
        }
        let port = dockside_tests::net::free_loopback_port();
        let process = Command::new("socat")
            .arg(format!("TCP-LISTEN:{port},bind=127.0.0.1,fork,reuseaddr"))
            .arg(format!("UNIX-CONNECT:{}", local_daemon_socket().display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        dockside_tests::net::wait_until_listening(port, "socat");
        Some(TcpDaemon { process, port })
    }
}

impl Drop for TcpDaemon {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
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
