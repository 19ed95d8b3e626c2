//! Suite (c), testcontainers-rs: 16 tests, each with its own container of the fixture image
//! (testcontainers-rs has no container shared across the processes of a nextest run).

macro_rules! suite {
    ($($name:ident)*) => {$(
        #[test]
        fn $name() {
            let (name, tag) = dockside_compare::FIXTURE_IMAGE;
            dockside_compare::testcontainers_test(name, tag);
        }
    )*};
}

suite!(t01 t02 t03 t04 t05 t06 t07 t08 t09 t10 t11 t12 t13 t14 t15 t16);
