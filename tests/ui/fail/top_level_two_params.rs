use dockside::{docker_test, Container};

#[docker_test(image = "alpine:3")]
async fn t(one: Container, two: Container) {}

fn main() {}
