//! Suite (b), dockside: 12 tests needing the image of one Dockerfile nobody built yet (the
//! driver writes a new `generated/fresh/Dockerfile` for each round).

dockside_compare::dockside_suite!(
    #[docker_test(dockerfile = "generated/fresh/Dockerfile", ports = [8080])]
    t01 t02 t03 t04 t05 t06 t07 t08 t09 t10 t11 t12
);
