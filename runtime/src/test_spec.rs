//! What one `#[docker_test]` function asks for: its name, its crate's folder, its containers,
//! how its body must end and the runtime its async body runs on. The expansion builds it; the
//! session starts what it lists.

use std::path::Path;

use crate::container::ContainerSpec;
use crate::fixture::Param;
use crate::rt::Flavor;

/// One `#[docker_test]` function: its name, its crate's folder, its containers.
#[derive(Debug)]
pub struct TestSpec {
    pub(crate) name: &'static str,
    pub(crate) manifest_dir: &'static Path,
    pub(crate) containers: Vec<ContainerSpec>,
    /// `Some` when the body must panic, with the substring its message must contain, if any.
    pub(crate) should_panic: Option<Option<&'static str>>,
    /// The runtime the async body and the fixtures' set-ups run on.
    pub(crate) flavor: Flavor,
    /// A multi-thread runtime's worker threads; `None`: one per core.
    pub(crate) worker_threads: Option<usize>,
}

impl TestSpec {
    /// A test named `name` (for labels and messages) in the crate whose folder is
    /// `manifest_dir`, against which relative Dockerfile paths are resolved.
    pub fn new(name: &'static str, manifest_dir: &'static str) -> Self {
        TestSpec {
            name,
            manifest_dir: Path::new(manifest_dir),
            containers: Vec::new(),
            should_panic: None,
            flavor: Flavor::CurrentThread,
            worker_threads: None,
        }
    }

    /// The runtime an async body runs on, as `#[tokio::test(flavor = "...")]` says; without
    /// it, a current-thread one.
    pub fn flavor(mut self, flavor: Flavor) -> Self {
        self.flavor = flavor;
        self
    }

    /// How many worker threads a [`Flavor::MultiThread`] runtime has; without it, one per core.
    pub fn worker_threads(mut self, count: usize) -> Self {
        self.worker_threads = Some(count);
        self
    }

    /// The body must panic, as with `#[should_panic]`; with `Some(text)`, with a message that
    /// contains `text`, as with `#[should_panic(expected = "text")]`. Only the body's panic
    /// counts: a set-up failure fails the test, and a skipped test passes (see the module docs).
    pub fn should_panic(mut self, expected: Option<&'static str>) -> Self {
        self.should_panic = Some(expected);
        self
    }

    /// Adds the container of the next parameter, a plain [`Container`](crate::Container).
    pub fn container(self, spec: ContainerSpec) -> Self {
        self.param::<crate::Container>(spec)
    }

    /// Adds the container of the next parameter, of type `T`: `settings` are the parameter's
    /// (named after it), on top of a fixture type's own spec.
    pub fn param<T: Param>(mut self, settings: ContainerSpec) -> Self {
        self.containers
            .push(T::spec(settings).resolve_mounts(self.manifest_dir));
        self
    }
}
