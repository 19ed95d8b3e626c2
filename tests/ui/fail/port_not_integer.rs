use dockside::{docker_test, Container};

#[docker_test(image = "alpine:3", ports = [8080, "5432", x])]
async fn t(web: Container) {}

fn main() {}
