use dockside::{docker_test, Container};

#[docker_test(image = "alpine:3", startup_timeout = 5)]
fn t(_web: Container) {}

fn main() {}
