use dockside::{docker_test, Container};

#[docker_test(ports = [8080])]
async fn top_level(web: Container) {}

#[docker_test]
async fn per_parameter(#[container(ports = [8080])] web: Container) {}

fn main() {}
