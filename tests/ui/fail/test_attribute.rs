use dockside::{docker_test, Container};

#[docker_test(image = "alpine:3")]
#[test]
fn t(web: Container) {}

fn main() {}
