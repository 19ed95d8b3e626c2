//! The driver's own requests to the daemon: tagging the shared image and removing what it made.

use std::collections::HashMap;

use bollard::query_parameters::{
    ListImagesOptionsBuilder, RemoveImageOptionsBuilder, TagImageOptionsBuilder,
};
use bollard::Docker;

/// A client of the local daemon at the version it speaks, with a runtime to drive it.
pub struct Daemon {
    docker: Docker,
    runtime: tokio::runtime::Runtime,
}

impl Daemon {
    pub fn connect() -> Daemon {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let docker = runtime
            .block_on(async {
                Docker::connect_with_local_defaults()?
                    .negotiate_version()
                    .await
            })
            .unwrap_or_else(|e| panic!("connecting to the docker daemon: {e}"));
        Daemon { docker, runtime }
    }

    /// The API version the daemon speaks (`1.41`).
    pub fn api_version(&self) -> String {
        self.docker.client_version().to_string()
    }

    pub fn tag(&self, id: &str, repo: &str, tag: &str) {
        let options = TagImageOptionsBuilder::new().repo(repo).tag(tag).build();
        self.runtime
            .block_on(self.docker.tag_image(id, Some(options)))
            .unwrap_or_else(|e| panic!("tagging {id} as {repo}:{tag}: {e}"));
    }

    /// Removes an image (or only the tag, when the image has others); best effort. An image
    /// still used by a container is tried again for a while: dockside removes a test's
    /// containers off the test's clock, so the last ones may still be going when a suite ends.
    pub fn remove_image(&self, reference: &str) {
        let options = RemoveImageOptionsBuilder::new().force(true).build();
        for _ in 0..40 {
            let removed = self.runtime.block_on(self.docker.remove_image(
                reference,
                Some(options.clone()),
                None,
            ));
            match removed {
                // Gone already: removed with an image it was the parent of.
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 404, ..
                })
                | Ok(_) => return,
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 409, ..
                }) => std::thread::sleep(std::time::Duration::from_millis(250)),
                Err(e) => return eprintln!("compare: could not remove image {reference}: {e}"),
            }
        }
        eprintln!("compare: image {reference} is still in use after 10 s; left on the daemon");
    }

    /// Removes every image that carries the label `key` (the rounds' builds, with the
    /// duplicates concurrent classic builds leave).
    pub fn remove_labelled(&self, key: &str) {
        let filters = HashMap::from([("label".to_owned(), vec![key.to_owned()])]);
        let options = ListImagesOptionsBuilder::new()
            .all(true)
            .filters(&filters)
            .build();
        // A removal can wait on a child image removed later in the same pass: a few passes.
        for _ in 0..3 {
            let images = self
                .runtime
                .block_on(self.docker.list_images(Some(options.clone())))
                .unwrap_or_default();
            if images.is_empty() {
                return;
            }
            for image in images {
                self.remove_image(&image.id);
            }
        }
    }
}
