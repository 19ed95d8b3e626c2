//! Several containers in one test, and running commands inside a container.

use dockside::{docker_test, Container};

/// Each parameter gets its own container; they share a private network where each is reachable
/// by its parameter name.
#[docker_test]
async fn containers_reach_each_other_by_name(
    #[container(dockerfile = "fixtures/Dockerfile", ports = [8080])] web: Container,
    #[container(dockerfile = "fixtures/Dockerfile", cmd = ["sleep"])] client: Container,
) {
    let fetched = client
        .exec(["/fixture", "proxy-get", "--url", "http://web:8080/"])
        .await
        .expect("exec in the client container");
    assert_eq!(fetched.exit_code, 0, "stderr: {}", fetched.stderr);
    assert_eq!(fetched.stdout.trim(), "hello");
    assert_eq!(web.name(), "web");
}

/// `exec` returns the exit code and both output streams.
#[docker_test(dockerfile = "fixtures/Dockerfile", cmd = ["sleep"], env(MODE = "example"))]
async fn runs_commands_inside(app: Container) {
    let env = app
        .exec(["/fixture", "env"])
        .await
        .expect("exec `env` in the container");
    assert!(
        env.stdout.lines().any(|l| l == "MODE=example"),
        "{}",
        env.stdout
    );

    let failing = app
        .exec(["/fixture", "exit", "--code", "3", "--stderr", "oops"])
        .await
        .expect("exec a failing command: the command fails, not the exec");
    assert_eq!((failing.exit_code, failing.stderr.trim()), (3, "oops"));
}
