//! Suite (a), dockside: 8 tests, each with a container of the fixture image (present).

use dockside::{docker_test, Container};

macro_rules! suite {
    ($($name:ident)*) => {$(
        #[docker_test(dockerfile = "../../tests/fixtures/Dockerfile", ports = [8080])]
        fn $name(web: Container) {
            dockside_compare::check(web.addr(dockside_compare::PORT));
        }
    )*};
}

suite!(t01 t02 t03 t04 t05 t06 t07 t08);
