use dockside::{docker_test, Container};

#[docker_test(
    image = "Alpine:3",
    ports = [0, 8080, 8080],
    startup_timeout = "soon",
    memory = "lots",
    workdir = "srv",
    colour = "blue",
)]
async fn t(web: Container) {}

fn main() {}
