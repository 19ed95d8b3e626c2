//! Builds the small static server the example images run (see tests/fixture/fixture.rs), and makes
//! sure `debian:bookworm-slim`, the base of the web, PostgreSQL and Redis example images, is on the
//! daemon: present, pulled, or made from Debian's packages where no registry is reachable (see
//! tests/fixture/debian_base.rs).

#[path = "../tests/fixture/compile.rs"]
mod compile;
#[path = "../tests/fixture/debian_base.rs"]
mod debian_base;

use std::env;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=../tests/fixture/compile.rs");
    println!("cargo:rerun-if-changed=../tests/fixture/debian_base.rs");
    compile::build_fixture(std::path::Path::new("../tests/fixture/fixture.rs"));
    debian_base_image();
}

fn debian_base_image() {
    const BASE: &str = "debian:bookworm-slim";
    for var in ["DOCKER_HOST", "DOCKER_CONTEXT", "DOCKSIDE_REGISTRY_MIRROR"] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    // With a mirror the tests pull the base through it themselves (the runtime knows how); the
    // `docker` CLI here would not use it.
    if env::var_os("DOCKSIDE_REGISTRY_MIRROR").is_some_and(|m| !m.is_empty()) {
        return;
    }
    match debian_base::ensure(BASE, "bookworm") {
        Ok(debian_base::Outcome::Present | debian_base::Outcome::Pulled) => {}
        Ok(debian_base::Outcome::Made(took)) => println!(
            "cargo:warning=no registry reachable: made {BASE} from Debian's packages with \
             mmdebstrap ({} s, once per machine)",
            took.as_secs()
        ),
        Ok(debian_base::Outcome::NoDocker(why)) => println!(
            "cargo:warning=could not check that {BASE} (the base of the web, PostgreSQL and Redis \
             examples) is present, the docker daemon did not answer: {why}"
        ),
        Err(e) => {
            eprintln!("error: examples build script: {e}");
            std::process::exit(1);
        }
    }
}
