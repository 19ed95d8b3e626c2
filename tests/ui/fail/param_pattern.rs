use dockside::{docker_test, Container};

#[docker_test(image = "alpine:3")]
async fn t((web, _): (Container, u8)) {}

fn main() {}
