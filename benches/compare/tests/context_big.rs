//! Suite (d), dockside: 8 tests with a container of an image that is present, whose build
//! context is `generated/big` (the driver writes it: 20,000 files of 20 KiB besides the fixture).

dockside_compare::dockside_suite!(
    #[docker_test(dockerfile = "generated/big/Dockerfile", ports = [8080])]
    t01 t02 t03 t04 t05 t06 t07 t08
);
