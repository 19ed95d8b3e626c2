//! Builds the fixture program (`fixture/fixture.rs`) into `fixtures/bin/fixture`, where the test
//! Dockerfiles' build context (`fixtures/`) picks it up. See `fixture/compile.rs`.

#[path = "fixture/compile.rs"]
mod compile;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=fixture/compile.rs");
    compile::build_fixture(std::path::Path::new("fixture/fixture.rs"));
}
