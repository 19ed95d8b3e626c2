use dockside::{docker_test, Container};

#[docker_test(image = "alpine:3", context = ".", target = "test")]
async fn t(web: Container) {}

fn main() {}
