//! Suite (c), dockside with `shared`: 16 tests using one container of the fixture image for the
//! whole run. Needs dockside's `shared` key: built with the crate's `shared` feature.
#![cfg(feature = "shared")]

use dockside::{docker_test, Container};

macro_rules! suite {
    ($($name:ident)*) => {$(
        #[docker_test(dockerfile = "../../tests/fixtures/Dockerfile", ports = [8080], shared)]
        fn $name(web: Container) {
            dockside_compare::check(web.addr(dockside_compare::PORT));
        }
    )*};
}

suite!(t01 t02 t03 t04 t05 t06 t07 t08 t09 t10 t11 t12 t13 t14 t15 t16);
