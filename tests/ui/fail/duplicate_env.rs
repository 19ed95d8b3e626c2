use dockside::{docker_test, Container};

#[docker_test(image = "alpine:3", env(A = "1", B = "2"), env(A = "3"))]
async fn t(web: Container) {}

fn main() {}
