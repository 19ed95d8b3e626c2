use dockside::{docker_test, Container};

#[docker_test(image = "alpine:3", startup_timeout = "30 seconds")]
async fn t(web: Container) {}

fn main() {}
