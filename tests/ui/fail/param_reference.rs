use dockside::{docker_test, Container};

#[docker_test(image = "alpine:3")]
fn borrowed(web: &Container) {
    let _ = web;
}

#[docker_test]
fn borrowed_mutably(#[container(image = "alpine:3")] web: &mut Container) {
    let _ = web;
}

fn main() {}
