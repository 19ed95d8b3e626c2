//! `#[docker_test(crate = "...")]` for a renamed dependency: every path the expansion emits must
//! go through the given root, since `::dockside` does not exist in this crate.

use dockside_renamed::{docker_test, Container};
use dockside_tests::http;

#[docker_test(
    crate = "dockside_renamed",
    dockerfile = "../fixtures/Dockerfile",
    context = "../fixtures",
    ports = [8080]
)]
async fn works_under_another_name(web: Container) {
    let body = http::get(web.addr(8080), "/").expect("GET / answers");
    assert_eq!(body, "hello");
}
