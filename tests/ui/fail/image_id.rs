use dockside::{docker_test, Container};

// Docker refuses 64 hex digits as a name: it is an image ID. The runtime refused it too, so the
// macro must not accept it.
#[docker_test(image = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
async fn t(_web: Container) {}

fn main() {}
