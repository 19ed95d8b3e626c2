use dockside::{docker_test, Container};

#[docker_test(image = "alpine:3", flavor = "multi")]
async fn unknown_flavor(_web: Container) {}

#[docker_test(image = "alpine:3", worker_threads = 2)]
async fn workers_without_multi_thread(_web: Container) {}

#[docker_test(image = "alpine:3", flavor = "multi_thread", worker_threads = 0)]
async fn no_workers(_web: Container) {}

#[docker_test(image = "alpine:3", flavor = "multi_thread")]
fn flavor_of_a_sync_test(_web: Container) {}

#[docker_test(flavor = "multi_thread")]
async fn flavor_in_container(#[container(image = "alpine:3", flavor = "multi_thread")] _web: Container) {}

fn main() {}
