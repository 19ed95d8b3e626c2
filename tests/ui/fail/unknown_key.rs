use dockside::{docker_test, Container};

#[docker_test(imgae = "alpine:3")]
async fn t(web: Container) {}

fn main() {}
