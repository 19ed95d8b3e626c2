//! Suite (b), testcontainers-rs: 12 tests needing the image of one Dockerfile nobody built yet
//! (the driver writes a new `generated/fresh/Dockerfile` and tag for each round).

dockside_compare::plain_suite!(
    dockside_compare::testcontainers_fresh_test("dockside-compare/fresh-testcontainers");
    t01 t02 t03 t04 t05 t06 t07 t08 t09 t10 t11 t12
);
