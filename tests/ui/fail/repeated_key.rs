use dockside::{docker_test, Container};

#[docker_test(image = "alpine:3", ports = [80], image = "alpine:4")]
async fn t(web: Container) {}

fn main() {}
