use dockside::{docker_test, Container};

#[docker_test(image = "alpine:3")]
async fn t(#[container(image = "alpine:4")] web: Container) {}

fn main() {}
