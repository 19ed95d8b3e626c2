use dockside::{docker_test, Container};

#[docker_test]
async fn t(#[container(image = "alpine:3")] one: Container, two: Container) {}

fn main() {}
