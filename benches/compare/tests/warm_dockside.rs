//! Suite (a), dockside: 8 tests, each with a container of the fixture image (present).

dockside_compare::dockside_suite!(
    #[docker_test(dockerfile = "../../tests/fixtures/Dockerfile", ports = [8080])]
    t01 t02 t03 t04 t05 t06 t07 t08
);
