use dockside::{docker_test, Container};

#[docker_test(image = "alpine:3", wait = ready)]
async fn t(web: Container) {}

fn main() {}
