//! `#[docker_test(crate = "...")]` for a renamed dependency: every path the expansion emits must
//! go through the given root, since `::dockside` does not exist in this crate.

use dockside_renamed::{docker_test, Container};

#[docker_test(
    crate = "dockside_renamed",
    dockerfile = "../fixtures/Dockerfile",
    context = "../fixtures",
    ports = [8080]
)]
async fn works_under_another_name(web: Container) {
    assert!(web.host_port(8080) > 0);
}
