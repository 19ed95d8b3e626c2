use dockside::{docker_test, Container};

#[docker_test(image = "alpine:3", ports = [0, 65536, 80])]
async fn t(web: Container) {}

fn main() {}
