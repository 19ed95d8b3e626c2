use dockside::{docker_test, Container};

#[docker_test(image = "Foo/bar")]
async fn t(web: Container) {}

fn main() {}
