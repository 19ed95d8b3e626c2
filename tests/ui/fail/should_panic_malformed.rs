use dockside::{docker_test, Container};

#[docker_test(image = "alpine:3")]
#[should_panic(because = "it must")]
fn t(web: Container) {}

fn main() {}
