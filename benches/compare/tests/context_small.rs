//! Suite (d), dockside: 8 tests with a container of an image that is present, whose build
//! context is `generated/small` (the driver writes it: the Dockerfile and the fixture only).

dockside_compare::dockside_suite!(
    #[docker_test(dockerfile = "generated/small/Dockerfile", ports = [8080])]
    t01 t02 t03 t04 t05 t06 t07 t08
);
