//! Checks the test support code itself against the real daemon: the Docker API proxy (forwarding,
//! counting, streaming, upgrades, injected faults) and the fixture program in a container.
//!
//! The `docker` CLI drives the daemon here, so these tests do not depend on dockside's runtime.
//! It runs with `DOCKER_BUILDKIT=0`, so the `docker` CLI needs no buildx plugin.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use dockside_tests::docker_cli::{self, docker_ok};
use dockside_tests::fixture::{fixtures_dir, temp_context};
use dockside_tests::proxy::{local_daemon_socket, DockerProxy, Fault};

/// A name no other test or run uses, for tags and labels.
fn unique(what: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("dockside-selftest-{what}-{}-{nanos}", std::process::id())
}

/// An image this test built, removed when the test ends, passed or failed.
struct ImageGuard(String);

impl ImageGuard {
    fn new(what: &str) -> ImageGuard {
        ImageGuard(format!("{}:v1", unique(what)))
    }
}

/// `docker build` of `context` under the guard's tag, through the proxy when one is given.
///
/// The image gets a label naming its tag. Without it the classic builder would hand two tests
/// with the same Dockerfile the same image ID from its cache, and one test's clean-up would
/// delete the image the other is using.
fn build(proxy: Option<&DockerProxy>, image: &ImageGuard, context: &Path) -> Output {
    let mut command = Command::new("docker");
    if let Some(proxy) = proxy {
        command.arg("--host").arg(proxy.docker_host());
    }
    command
        .args(["build", "--tag", &image.0, "--label"])
        .arg(format!("dockside.selftest={}", image.0))
        .arg(context)
        .env("DOCKER_BUILDKIT", "0")
        .output()
        .expect("run docker build")
}

impl Drop for ImageGuard {
    fn drop(&mut self) {
        docker_cli::remove_image(&self.0);
    }
}

/// Removes the container when the test ends, passed or failed.
struct ContainerGuard(String);

impl Drop for ContainerGuard {
    fn drop(&mut self) {
        docker_cli::remove_container(&self.0);
    }
}

/// Removes the network when the test ends (after its containers, declared later, are gone).
struct NetworkGuard(String);

impl Drop for NetworkGuard {
    fn drop(&mut self) {
        let _ = docker_cli::docker(&["network", "rm", &self.0]);
    }
}

fn start_proxy() -> DockerProxy {
    DockerProxy::start(&local_daemon_socket()).expect("start the proxy")
}

/// `docker -H <proxy> ARGS`.
fn docker_via(proxy: &DockerProxy, args: &[&str]) -> Output {
    Command::new("docker")
        .arg("--host")
        .arg(proxy.docker_host())
        .args(args)
        .env("DOCKER_BUILDKIT", "0")
        .output()
        .expect("run docker")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Builds the base fixture image (`tests/fixtures/Dockerfile`) straight at the daemon.
fn fixture_image() -> ImageGuard {
    let image = ImageGuard::new("fixture");
    let output = build(None, &image, &fixtures_dir());
    assert!(
        output.status.success(),
        "building the fixture image: {}",
        text(&output.stderr)
    );
    image
}

/// Sends raw HTTP/1.1 and reads until the proxy closes the connection.
fn raw_request(socket: &Path, request: &str) -> String {
    let mut stream = UnixStream::connect(socket).expect("connect to the proxy");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = Vec::new();
    // A reset is how some platforms report the dropped connection: treat it as no answer.
    let _ = stream.read_to_end(&mut response);
    text(&response)
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n")
}

#[test]
fn proxy_forwards_and_counts_requests() {
    let proxy = start_proxy();

    let response = raw_request(proxy.socket_path(), &get("/v1.41/version"));
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"ApiVersion\""), "{response}");
    assert_eq!(proxy.count("GET", "/version"), 1);
    assert_eq!(proxy.count("POST", "/version"), 0);
    assert_eq!(
        proxy.requests(),
        [("GET".to_owned(), "/version".to_owned())]
    );

    // Two requests on one kept-alive connection.
    let mut stream = UnixStream::connect(proxy.socket_path()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream
        .write_all(b"GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n")
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut content_length = None;
    loop {
        let mut line = String::new();
        assert_ne!(reader.read_line(&mut line).unwrap(), 0, "closed early");
        if line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                content_length = Some(value.trim().parse::<usize>().unwrap());
            }
        }
    }
    let mut body = vec![0; content_length.expect("a Content-Length on /_ping")];
    reader.read_exact(&mut body).unwrap();
    assert_eq!(body, b"OK");
    stream
        .write_all(b"GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut second = String::new();
    reader.read_to_string(&mut second).unwrap();
    assert!(second.starts_with("HTTP/1.1 200"), "{second}");
    assert_eq!(proxy.count("GET", "/_ping"), 2);

    // The CLI negotiates the API version and keeps its connections alive.
    let output = docker_via(&proxy, &["version", "--format", "{{.Server.APIVersion}}"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(!text(&output.stdout).trim().is_empty());
    assert!(proxy.count("GET", "/version") >= 2);

    proxy.reset();
    assert!(proxy.requests().is_empty());
}

#[test]
fn proxy_caps_a_newer_api_version_and_leaves_older_ones() {
    let proxy = start_proxy();
    let daemon = docker_ok(&["version", "--format", "{{.Server.APIVersion}}"]);
    let (major, minor) = daemon.trim().split_once('.').unwrap();
    let too_new = get("/v99.0/version");
    let refused = raw_request(proxy.socket_path(), &too_new);
    assert!(refused.contains("too new"), "{refused}");

    proxy.cap_api_version(major.parse().unwrap(), minor.parse().unwrap());
    let capped = raw_request(proxy.socket_path(), &too_new);
    assert!(capped.starts_with("HTTP/1.1 200"), "{capped}");
    assert!(capped.contains("\"ApiVersion\""), "{capped}");
    let too_old = raw_request(proxy.socket_path(), &get("/v1.0/version"));
    assert!(too_old.contains("too old"), "{too_old}");
    assert_eq!(proxy.count("GET", "/version"), 3);
}

#[test]
fn proxy_streams_a_build_and_counts_it_once() {
    let proxy = start_proxy();
    let context = temp_context("FROM scratch\nCOPY fixture /fixture\nENTRYPOINT [\"/fixture\"]\n");
    let image = ImageGuard::new("build");

    let output = build(Some(&proxy), &image, context.path());
    assert!(
        output.status.success(),
        "{}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    assert_eq!(proxy.count("POST", "/build"), 1, "{:?}", proxy.requests());
    assert!(docker_cli::image_exists(&image.0));
}

#[test]
fn proxy_splices_the_attach_upgrade() {
    let image = fixture_image();
    let proxy = start_proxy();
    let label = unique("run");

    let output = docker_via(
        &proxy,
        &[
            "run", "--rm", "--label", &label, &image.0, "exit", "--code", "3", "--stdout", "hi",
        ],
    );
    assert_eq!(text(&output.stdout), "hi\n", "{}", text(&output.stderr));
    assert_eq!(output.status.code(), Some(3), "{}", text(&output.stderr));
    assert!(
        proxy
            .requests()
            .iter()
            .any(|(m, p)| m == "POST" && p.contains("/attach")),
        "{:?}",
        proxy.requests()
    );
    assert!(docker_cli::containers_with_label(&label).is_empty());

    // The other direction: stdin goes up through the spliced stream, and its end (a half-close)
    // reaches the container.
    let mut run = Command::new("docker")
        .args([
            "--host",
            &proxy.docker_host(),
            "run",
            "--interactive",
            "--rm",
        ])
        .args(["--label", &label, &image.0, "cat", "--path", "/dev/stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    run.stdin.take().unwrap().write_all(b"up and back").unwrap();
    let output = run.wait_with_output().unwrap();
    assert_eq!(
        text(&output.stdout),
        "up and back",
        "{}",
        text(&output.stderr)
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
}

#[test]
fn proxy_splices_a_buildkit_session_upgrade() {
    let proxy = start_proxy();
    let mut stream = UnixStream::connect(proxy.socket_path()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream
        .write_all(
            b"POST /v1.41/session HTTP/1.1\r\nHost: docker\r\n\
              Connection: Upgrade\r\nUpgrade: h2c\r\n\
              X-Docker-Expose-Session-Uuid: dockside-selftest-session\r\n\
              X-Docker-Expose-Session-Name: selftest\r\n\
              X-Docker-Expose-Session-Sharedkey: selftest\r\n\r\n",
        )
        .unwrap();

    // After the 101 the daemon opens HTTP/2 on the same stream, as the gRPC client of the
    // session: its connection preface must come through.
    let preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    let mut received = Vec::new();
    let mut buffer = [0; 1024];
    while !received.windows(preface.len()).any(|w| w == preface) {
        let n = stream.read(&mut buffer).unwrap();
        assert_ne!(n, 0, "closed: {}", text(&received));
        received.extend_from_slice(&buffer[..n]);
    }
    assert!(
        text(&received).starts_with("HTTP/1.1 101"),
        "{}",
        text(&received)
    );
    assert_eq!(proxy.count("POST", "/session"), 1);
}

#[test]
fn proxy_streams_a_followed_log() {
    let image = fixture_image();
    let label = unique("follow");
    let id = docker_ok(&[
        "run",
        "--detach",
        "--label",
        &label,
        &image.0,
        "log",
        "--line",
        "first words",
    ]);
    let _container = ContainerGuard(id.clone());
    assert_eq!(docker_cli::containers_with_label(&label), [id.as_str()]);
    let proxy = start_proxy();

    // `logs --follow` never ends while the container runs, so the line must arrive through
    // the proxy before the response does.
    let mut follow = Command::new("docker")
        .args(["--host", &proxy.docker_host(), "logs", "--follow", &id])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = follow.stdout.take().unwrap();
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let line = received.recv_timeout(Duration::from_secs(20));
    follow.kill().unwrap();
    follow.wait().unwrap();
    assert_eq!(line.expect("a log line in time").unwrap(), "first words");
    let logs = format!("/containers/{id}/logs");
    assert_eq!(proxy.count("GET", &logs), 1, "{:?}", proxy.requests());
}

#[test]
fn already_exists_fault_follows_a_completed_build() {
    let proxy = start_proxy();
    proxy.inject(Fault::AlreadyExistsAfterBuild);
    let context = temp_context("FROM scratch\nCOPY fixture /fixture\n");
    let image = ImageGuard::new("exists");

    let output = build(Some(&proxy), &image, context.path());
    let all = format!("{}{}", text(&output.stdout), text(&output.stderr));
    assert!(!output.status.success(), "{all}");
    let expected = format!("image \"docker.io/library/{}\": already exists", image.0);
    assert!(all.contains(&expected), "{all}");
    // The fault comes after the real build, which tagged the image.
    assert!(docker_cli::image_exists(&image.0), "{all}");

    proxy.inject(Fault::None);
    let output = build(Some(&proxy), &image, context.path());
    assert!(output.status.success(), "{}", text(&output.stderr));
}

#[test]
fn drop_connection_fault_answers_nothing() {
    let proxy = start_proxy();
    proxy.inject(Fault::DropConnection {
        method: "GET".into(),
        path_prefix: "/version".into(),
    });

    assert_eq!(raw_request(proxy.socket_path(), &get("/v1.41/version")), "");
    assert_eq!(proxy.count("GET", "/version"), 1);
    let response = raw_request(proxy.socket_path(), &get("/_ping"));
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let output = docker_via(&proxy, &["version"]);
    assert!(!output.status.success(), "{}", text(&output.stdout));

    proxy.inject(Fault::None);
    let response = raw_request(proxy.socket_path(), &get("/v1.41/version"));
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}

#[test]
fn error_status_fault_answers_like_the_daemon() {
    let proxy = start_proxy();
    proxy.inject(Fault::ErrorStatus {
        method: "GET".into(),
        path_prefix: "/images/".into(),
        status: 500,
        message: "injected trouble".into(),
    });

    let response = raw_request(proxy.socket_path(), &get("/v1.41/images/nope/json"));
    assert!(response.starts_with("HTTP/1.1 500"), "{response}");
    assert!(
        response.ends_with("{\"message\":\"injected trouble\"}"),
        "{response}"
    );
    let output = docker_via(&proxy, &["image", "inspect", "scratch-nope"]);
    assert!(
        text(&output.stderr).contains("injected trouble"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn proxy_removes_its_socket_when_dropped() {
    let proxy = start_proxy();
    let socket = proxy.socket_path().to_owned();
    assert!(socket.exists());
    drop(proxy);
    assert!(!socket.exists());
    assert!(UnixStream::connect(&socket).is_err());
}

#[test]
fn fixture_serves_after_its_delay() {
    let image = fixture_image();
    let label = unique("serve");
    let started = Instant::now();
    let id = docker_ok(&[
        "run",
        "--detach",
        "--label",
        &label,
        "--env",
        "GREETING=hi there",
        "--publish",
        "127.0.0.1::8080",
        &image.0,
        "serve",
        "--port",
        "8080",
        "--delay-ms",
        "1500",
    ]);
    let _container = ContainerGuard(id.clone());

    let deadline = started + Duration::from_secs(30);
    while !docker_ok(&["logs", &id]).contains("listening on 8080") {
        assert!(
            Instant::now() < deadline,
            "no `listening on 8080` in the log of {id}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        started.elapsed() >= Duration::from_millis(1200),
        "the delay was not honoured"
    );

    let address = docker_ok(&["port", &id, "8080/tcp"]);
    let address = address.lines().next().unwrap().to_owned();
    let http = |path: &str| {
        let mut stream = TcpStream::connect(&address).unwrap();
        stream.write_all(get(path).as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    };
    let response = http("/env/GREETING");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("\r\n\r\nhi there"), "{response}");
    assert!(http("/env/UNSET_HERE").starts_with("HTTP/1.1 404"));
    assert!(http("/").ends_with("\r\n\r\nhello"));
    assert!(http("/hostname").ends_with(&format!("\r\n\r\n{}", &id[..12])));
}

#[test]
fn fixture_reaches_a_peer_by_name() {
    let image = fixture_image();
    let network = unique("net");
    docker_ok(&["network", "create", &network]);
    let _network = NetworkGuard(network.clone());
    let server = unique("server");
    let id = docker_ok(&[
        "run",
        "--detach",
        "--network",
        &network,
        "--name",
        &server,
        &image.0,
        "serve",
        "--port",
        "8080",
        "--body",
        "from the peer",
    ]);
    let _server = ContainerGuard(id);

    let url = format!("http://{server}:8080/");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let output = docker_cli::docker(&[
            "run",
            "--rm",
            "--network",
            &network,
            &image.0,
            "proxy-get",
            "--url",
            &url,
        ]);
        if output.status.success() {
            assert_eq!(text(&output.stdout), "from the peer");
            break;
        }
        // The server may still be binding its port.
        assert!(Instant::now() < deadline, "{}", text(&output.stderr));
        std::thread::sleep(Duration::from_millis(200));
    }
}
