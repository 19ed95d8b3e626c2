//! Suite (c), dockside without `shared`: 16 tests, each with its own container of the fixture
//! image.

dockside_compare::dockside_suite!(
    #[docker_test(dockerfile = "../../tests/fixtures/Dockerfile", ports = [8080])]
    t01 t02 t03 t04 t05 t06 t07 t08 t09 t10 t11 t12 t13 t14 t15 t16
);
