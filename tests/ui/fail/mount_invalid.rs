use dockside::{docker_test, Container};

#[docker_test(image = "app:1", mounts = ["no-such-dir:/data", "fixtures:relative", "fixtures:/x:rx"])]
fn mounts(_app: Container) {}

fn main() {}
