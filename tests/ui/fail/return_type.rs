use dockside::{docker_test, Container};

#[docker_test(image = "alpine:3")]
fn returns_a_number(_web: Container) -> i32 {
    0
}

struct NoDebug;

#[docker_test(image = "alpine:3")]
async fn returns_an_error_without_debug(_web: Container) -> Result<(), NoDebug> {
    Err(NoDebug)
}

fn main() {}
