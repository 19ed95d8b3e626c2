use dockside::{docker_test, Container};

#[docker_test(dockerfile = "fixtures/nope/Dockerfile")]
async fn t(web: Container) {}

fn main() {}
