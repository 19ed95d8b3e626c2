use dockside::{docker_test, Container};

#[docker_test]
fn t() {}

fn main() {}
