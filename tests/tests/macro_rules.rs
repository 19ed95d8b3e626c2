//! Tests written by a user's `macro_rules!`: the attribute's expansion must find its own locals
//! although the function name, parameters and arguments come from another syntax context.

use dockside::{docker_test, Container};

macro_rules! fixture_tests {
    ($(#[docker_test $arguments:tt] $name:ident)*) => {$(
        #[docker_test $arguments]
        fn $name(web: Container) {
            let body = dockside_tests::http::get(web.addr(8080), "/").expect("GET /");
            assert_eq!(body, "hello");
        }
    )*};
}

fixture_tests! {
    #[docker_test(dockerfile = "fixtures/Dockerfile", ports = [8080])]
    a_test_written_by_a_macro
}
