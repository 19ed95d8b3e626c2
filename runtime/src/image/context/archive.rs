//! Writing a scanned context as the tar archive the build request carries.

use std::io::{self, Write};

use super::{Context, ContextError, Entry, EntryKind, SizedFile, OUTSIDE_DIR, OUTSIDE_DOCKERFILE};

impl Context {
    /// Writes the context as a tar archive to `out` and returns it.
    ///
    /// Headers are reproducible: mtime 0, uid and gid 0, the scanned mode bits. Symlinks
    /// are symlink entries carrying their target; long paths and targets use GNU
    /// extensions. Files are streamed from disk.
    pub(crate) fn write_tar<W: Write>(&self, out: W) -> Result<W, ContextError> {
        let mut archive = tar::Builder::new(out);
        for entry in &self.entries {
            self.append_entry(&mut archive, entry)
                .map_err(|source| ContextError::Archive {
                    path: entry.path.clone(),
                    source,
                })?;
        }
        if self.dockerfile.outside {
            self.append_outside_dockerfile(&mut archive)
                .map_err(|source| ContextError::Archive {
                    path: OUTSIDE_DOCKERFILE.to_owned(),
                    source,
                })?;
        }
        archive
            .into_inner()
            .map_err(|source| ContextError::Archive {
                path: "the end of the archive".to_owned(),
                source,
            })
    }

    fn append_entry<W: Write>(
        &self,
        archive: &mut tar::Builder<W>,
        entry: &Entry,
    ) -> io::Result<()> {
        match &entry.kind {
            EntryKind::File { size } => {
                let file = SizedFile::open(&self.root.join(&entry.path), *size)?;
                let mut header = header(tar::EntryType::Regular, entry.mode, *size);
                archive.append_data(&mut header, &entry.path, file)
            }
            EntryKind::Dir => {
                let mut header = header(tar::EntryType::Directory, entry.mode, 0);
                archive.append_data(&mut header, &entry.path, io::empty())
            }
            EntryKind::Symlink { target } => {
                let mut header = header(tar::EntryType::Symlink, entry.mode, 0);
                archive.append_link(&mut header, &entry.path, target)
            }
        }
    }

    fn append_outside_dockerfile<W: Write>(&self, archive: &mut tar::Builder<W>) -> io::Result<()> {
        let mut dir = header(tar::EntryType::Directory, 0o755, 0);
        archive.append_data(&mut dir, OUTSIDE_DIR, io::empty())?;
        let content = self.dockerfile.content.as_slice();
        let mut file = header(tar::EntryType::Regular, 0o644, content.len() as u64);
        archive.append_data(&mut file, OUTSIDE_DOCKERFILE, content)
    }
}

/// A tar header with the fields that make an archive reproducible.
fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_size(size);
    header.set_mtime(0);
    header.set_uid(0);
    header.set_gid(0);
    header
}

#[cfg(all(test, unix))]
mod tests {
    use crate::image::context::testing::*;

    #[test]
    fn long_paths_survive_the_archive() {
        let dir = context_dir();
        let long = format!("{}/{}/file.txt", "d".repeat(90), "e".repeat(90));
        write(dir.path(), &long, "deep");
        let tar = tar_of(&scan_dir(dir.path()));
        let entry = tar.iter().find(|e| e.0 == long).unwrap();
        assert_eq!(entry.4, b"deep");
    }
}
