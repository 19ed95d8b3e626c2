//! Suite (a), testcontainers-rs: 8 tests, each with a container of the fixture image (present).

macro_rules! suite {
    ($($name:ident)*) => {$(
        #[test]
        fn $name() {
            let (name, tag) = dockside_compare::FIXTURE_IMAGE;
            dockside_compare::testcontainers_test(name, tag);
        }
    )*};
}

suite!(t01 t02 t03 t04 t05 t06 t07 t08);
