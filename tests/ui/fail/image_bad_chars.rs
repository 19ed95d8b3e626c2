use dockside::{docker_test, Container};

#[docker_test(image = "alpine:3!")]
async fn bad_tag(web: Container) {}

#[docker_test(image = "my%app")]
async fn bad_name(web: Container) {}

#[docker_test(image = "a..b")]
async fn bad_separator(web: Container) {}

fn main() {}
