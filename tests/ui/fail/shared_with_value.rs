use dockside::{docker_test, Container};

#[docker_test(image = "alpine:3", shared = true)]
async fn with_a_value(web: Container) {}

#[docker_test]
async fn in_a_container_attribute(#[container(image = "alpine:3", shared(yes))] web: Container) {}

fn main() {}
