use dockside::{docker_test, Container};

#[docker_test(image = "alpine:3", pull = "sometimes")]
async fn unknown_word(web: Container) {}

fn main() {}
