//! Controlling a running container from inside a test: stop, start, pause, unpause, and copying
//! a file in.

use std::path::Path;

use bollard::query_parameters::{StopContainerOptionsBuilder, UploadToContainerOptionsBuilder};

use super::{wait, Container, ContainerSpec};
use crate::docker;
use crate::error::{Error, Result};

impl Container {
    /// Stops the container at once: SIGTERM, then SIGKILL without a grace period. Stopping a
    /// stopped container is not an error.
    ///
    /// The container stays (and is still removed after the test); [`Container::start`] runs it
    /// again.
    pub async fn stop(&self) -> Result<()> {
        let docker = docker::connect().await?;
        let options = StopContainerOptionsBuilder::new().t(0).build();
        match docker.stop_container(self.id(), Some(options)).await {
            Ok(()) => Ok(()),
            // 304 Not Modified: it was not running.
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 304, ..
            }) => Ok(()),
            Err(e) => Err(self.failed("stop", e)),
        }
    }

    /// Starts a stopped container again and waits until the server inside listens on every
    /// published port, as at the test's start.
    ///
    /// Docker gives a restarted container new ephemeral host ports; [`Container::addr`] and
    /// [`Container::host_port`] answer with the new ones afterwards. Only the ports are awaited
    /// (a container without any must still run 100 ms after the start):
    /// the test's other waits (`log`, `healthy`, `http`, `custom`) are not run again — poll for
    /// what you need when the container's own readiness is more than a listening port.
    pub async fn start(&self) -> Result<()> {
        let docker = docker::connect().await?;
        match docker.start_container(self.id(), None).await {
            Ok(()) => {}
            // 304 Not Modified: it was already running.
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 304, ..
            }) => {}
            Err(e) => return Err(self.failed("start", e)),
        }
        let inspected = crate::engine::inspect_container(&docker, self.id())
            .await
            .map_err(|e| self.failed("inspect", e))?;
        let published = self.published_ports();
        let ports = super::start::published_ports(&inspected, &published);
        if let Some(port) = published.iter().find(|p| !ports.contains_key(p)) {
            return Err(Error::Container {
                container: self.describe(),
                action: "start".to_owned(),
                message: format!("port {port} is not published after the restart"),
                source: None,
            });
        }
        *self.inner.ports.write().unwrap_or_else(|p| p.into_inner()) = ports;
        let spec = published
            .iter()
            .fold(ContainerSpec::new(self.name()), |spec, port| {
                spec.port(*port)
            });
        wait::until_ready(&docker, self, &spec, inspected).await
    }

    /// Freezes every process of the container (cgroup freezer): it answers nothing until
    /// [`Container::unpause`].
    pub async fn pause(&self) -> Result<()> {
        let docker = docker::connect().await?;
        docker
            .pause_container(self.id())
            .await
            .map_err(|e| self.failed("pause", e))
    }

    /// Lets a container frozen by [`Container::pause`] run again.
    pub async fn unpause(&self) -> Result<()> {
        let docker = docker::connect().await?;
        docker
            .unpause_container(self.id())
            .await
            .map_err(|e| self.failed("unpause", e))
    }

    /// Copies the host file `host_path` into the container as `container_path` (an absolute
    /// path whose folder exists in the container), keeping the file's permission bits. The
    /// container need not be running.
    ///
    /// ```no_run
    /// # async fn f(web: dockside::Container) -> dockside::Result<()> {
    /// web.copy_file_in("tests/data/config.toml", "/etc/app/config.toml").await?;
    /// # Ok(()) }
    /// ```
    pub async fn copy_file_in(
        &self,
        host_path: impl AsRef<Path>,
        container_path: &str,
    ) -> Result<()> {
        let host_path = host_path.as_ref();
        let action = format!("copying {} to {container_path}", host_path.display());
        let fail = |message: String| Error::Container {
            container: self.describe(),
            action: action.clone(),
            message,
            source: None,
        };
        let (dir, file_name) = match container_path.rsplit_once('/') {
            Some((dir, name)) if container_path.starts_with('/') && !name.is_empty() => {
                (if dir.is_empty() { "/" } else { dir }, name)
            }
            _ => {
                return Err(fail(
                    "the container path must be absolute and name a file".to_owned(),
                ))
            }
        };
        let archive =
            one_file_tar(host_path, file_name).map_err(|e| Error::io("reading", host_path, e))?;
        let docker = docker::connect().await?;
        let options = UploadToContainerOptionsBuilder::new().path(dir).build();
        docker
            .upload_to_container(self.id(), Some(options), bollard::body_full(archive.into()))
            .await
            .map_err(|e| self.failed(&action, e))
    }
}

/// A tar archive holding the file at `path` under the name `name`, with its size, mode and
/// modification time. The owner is root: the daemon extracts as root unless told otherwise.
fn one_file_tar(path: &Path, name: &str) -> std::io::Result<Vec<u8>> {
    let mut file = std::fs::File::open(path)?;
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let mut header = tar::Header::new_gnu();
    header.set_metadata_in_mode(&metadata, tar::HeaderMode::Complete);
    header.set_uid(0);
    header.set_gid(0);
    header.set_username("root")?;
    header.set_groupname("root")?;
    let mut builder = tar::Builder::new(Vec::new());
    builder.append_data(&mut header, name, &mut file)?;
    builder.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_file_tar_keeps_name_content_and_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("script");
        std::fs::write(&path, "#!/bin/true\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o750)).unwrap();
        let archive = one_file_tar(&path, "run.sh").unwrap();
        let mut archive = tar::Archive::new(archive.as_slice());
        let mut entries = archive.entries().unwrap();
        let mut entry = entries.next().unwrap().unwrap();
        assert_eq!(entry.path().unwrap().to_str(), Some("run.sh"));
        assert_eq!(entry.header().mode().unwrap() & 0o7777, 0o750);
        assert_eq!(entry.header().uid().unwrap(), 0);
        let mut text = String::new();
        std::io::Read::read_to_string(&mut entry, &mut text).unwrap();
        assert_eq!(text, "#!/bin/true\n");
        assert!(entries.next().is_none());
    }
}
