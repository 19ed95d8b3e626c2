use dockside::{docker_test, Container};

#[docker_test(image = "alpine:3", ports = [8080], wait = http(8081, "/health"))]
async fn t(web: Container) {}

fn main() {}
