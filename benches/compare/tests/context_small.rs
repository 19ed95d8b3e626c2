//! Suite (d), dockside: 8 tests with a container of an image that is present, whose build
//! context is `generated/small` (the driver writes it: the Dockerfile and the fixture only).

use dockside::{docker_test, Container};

macro_rules! suite {
    ($($name:ident)*) => {$(
        #[docker_test(dockerfile = "generated/small/Dockerfile", ports = [8080])]
        fn $name(web: Container) {
            dockside_compare::check(web.addr(dockside_compare::PORT));
        }
    )*};
}

suite!(t01 t02 t03 t04 t05 t06 t07 t08);
