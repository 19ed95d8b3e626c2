//! Builds the small static server the example images run (see tests/fixture/fixture.rs).

#[path = "../tests/fixture/compile.rs"]
mod compile;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=../tests/fixture/compile.rs");
    compile::build_fixture(std::path::Path::new("../tests/fixture/fixture.rs"));
}
