//! Suite (c), testcontainers-rs: 16 tests, each with its own container of the fixture image
//! (testcontainers-rs has no container shared across the processes of a nextest run).

dockside_compare::plain_suite!(
    dockside_compare::testcontainers_test();
    t01 t02 t03 t04 t05 t06 t07 t08 t09 t10 t11 t12 t13 t14 t15 t16
);
