//! Suite (a), bollard alone: 8 tests, each with a container of the fixture image (present).

dockside_compare::plain_suite!(
    dockside_compare::bollard_test();
    t01 t02 t03 t04 t05 t06 t07 t08
);
