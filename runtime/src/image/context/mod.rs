//! The build context, as the Docker CLI would send it: the context folder minus what
//! `.dockerignore` excludes, symlinks kept as symlinks, plus the Dockerfile.
//!
//! A [`Context`] is a list of entries made once by [`scan`] (`scan.rs`); hashing it
//! (`hash.rs`) and archiving it (`archive.rs`) both read the files from disk again,
//! streaming, so a large context is never held in memory whole. Within a nextest run, the hash
//! the run's first process computed is recorded (`run_hash.rs`), so later processes need no scan
//! when the image is present.

mod archive;
mod digests;
mod hash;
mod run_hash;
mod scan;

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::dockerignore::DockerIgnoreError;
pub(crate) use digests::Digests;
pub(crate) use run_hash::RunKey;
pub(crate) use scan::scan;

/// The ignore file, read from the context root.
const IGNORE_FILE: &str = ".dockerignore";
/// Where a Dockerfile from outside the context goes in the archive.
const OUTSIDE_DIR: &str = ".dockside";
const OUTSIDE_DOCKERFILE: &str = ".dockside/Dockerfile";

/// Why a build context could not be read or archived.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ContextError {
    /// A file or folder of the context could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file or folder.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// The Dockerfile could not be read.
    #[error("cannot read dockerfile {}: {source}", path.display())]
    Dockerfile {
        /// The Dockerfile as given.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// The `.dockerignore` has a line the Docker CLI refuses.
    #[error("invalid {}: {source}", path.display())]
    Ignore {
        /// The `.dockerignore` file.
        path: PathBuf,
        /// The bad line.
        source: DockerIgnoreError,
    },
    /// A name in the context is not UTF-8, which the archive paths must be.
    #[error("path {} in the build context is not valid UTF-8", path.display())]
    NonUtf8 {
        /// The file.
        path: PathBuf,
    },
    /// The context has its own `.dockside`, where an outside Dockerfile would go.
    #[error(
        "the build context {} contains `.dockside`, where dockside puts a dockerfile from \
         outside the context; rename it or move the dockerfile into the context",
        context.display()
    )]
    Reserved {
        /// The context folder.
        context: PathBuf,
    },
    /// An entry could not be written to the archive.
    #[error("cannot add {path} to the build context archive: {source}")]
    Archive {
        /// The entry's path in the archive.
        path: String,
        /// What went wrong, reading the file or writing the archive.
        source: io::Error,
    },
}

/// One entry of the context, in the archive's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// Path relative to the context root, '/'-separated.
    pub(crate) path: String,
    /// What the entry is.
    pub(crate) kind: EntryKind,
    /// Unix mode bits: permissions plus setuid, setgid and sticky (`0o7777`).
    pub(crate) mode: u32,
    /// For a file, what the scan saw of it: the digest cache's key.
    pub(crate) stamp: Option<digests::Stamp>,
}

/// What an [`Entry`] is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EntryKind {
    /// A regular file of `size` bytes, as seen by the scan.
    File {
        /// Its length when scanned.
        size: u64,
    },
    /// A folder.
    Dir,
    /// A symlink, never followed: the archive holds the link itself.
    Symlink {
        /// Where it points, as written in the link.
        target: PathBuf,
    },
}

/// The Dockerfile of a build, read once by the scan.
#[derive(Debug, Clone)]
struct Dockerfile {
    /// The path the build is told to use, inside the archive.
    name: String,
    content: Vec<u8>,
    /// Whether the Dockerfile lies outside the context folder, so it is added under
    /// [`OUTSIDE_DOCKERFILE`] rather than being one of the entries.
    outside: bool,
}

/// A scanned build context.
#[derive(Debug, Clone)]
pub(crate) struct Context {
    root: PathBuf,
    entries: Vec<Entry>,
    dockerfile: Dockerfile,
}

fn read_error(path: &Path, source: io::Error) -> ContextError {
    ContextError::Read {
        path: path.to_owned(),
        source,
    }
}
/// A file opened to read exactly the `size` bytes the scan saw: a file that grew is cut
/// to that size, one that shrank is an error, so the archive's headers stay true.
struct SizedFile {
    inner: io::Take<fs::File>,
}

impl SizedFile {
    fn open(path: &Path, size: u64) -> io::Result<Self> {
        Ok(SizedFile {
            inner: fs::File::open(path)?.take(size),
        })
    }
}

impl Read for SizedFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buf)?;
        if read == 0 && !buf.is_empty() && self.inner.limit() > 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file became shorter while the build context was being read",
            ));
        }
        Ok(read)
    }
}

impl Context {
    /// The entries to send, in archive order (the outside Dockerfile not included).
    #[cfg(test)]
    pub(crate) fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The Dockerfile's text as the scan read it (the bytes the content hash covers).
    pub(crate) fn dockerfile_text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.dockerfile.content)
    }

    /// The Dockerfile's bytes as the scan read them.
    pub(crate) fn dockerfile_bytes(&self) -> &[u8] {
        &self.dockerfile.content
    }

    /// The Dockerfile's path inside the archive: what the build must be told to use.
    pub(crate) fn dockerfile_name(&self) -> &str {
        &self.dockerfile.name
    }
}

#[cfg(all(test, unix))]
/// Helpers shared by the tests of the context and of the build body.
pub(super) mod testing {
    use super::*;

    pub(crate) fn write(root: &Path, path: &str, content: &str) {
        let full = root.join(path);
        fs::create_dir_all(full.parent().unwrap()).unwrap();
        fs::write(full, content).unwrap();
    }

    /// A context with a Dockerfile at its root.
    pub(crate) fn context_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "Dockerfile", "FROM scratch\nCOPY . /\n");
        dir
    }

    pub(crate) fn scan_dir(dir: &Path) -> Context {
        scan(dir, &dir.join("Dockerfile")).unwrap()
    }

    pub(crate) fn hash(dir: &Path) -> String {
        scan_dir(dir)
            .content_hash_with(&mut Digests::at(None), &[], None)
            .unwrap()
    }

    pub(crate) fn paths(context: &Context) -> Vec<&str> {
        context.entries().iter().map(|e| e.path.as_str()).collect()
    }

    /// `(path, entry type, mode, link target, content)` of every archive entry.
    pub(crate) type TarEntry = (String, tar::EntryType, u32, Option<PathBuf>, Vec<u8>);

    pub(crate) fn read_tar(bytes: &[u8]) -> Vec<TarEntry> {
        let mut archive = tar::Archive::new(bytes);
        archive
            .entries()
            .unwrap()
            .map(|entry| {
                let mut entry = entry.unwrap();
                let header = entry.header();
                assert_eq!(header.mtime().unwrap(), 0);
                assert_eq!((header.uid().unwrap(), header.gid().unwrap()), (0, 0));
                let path = entry.path().unwrap().to_str().unwrap().to_owned();
                let kind = header.entry_type();
                let mode = header.mode().unwrap();
                let link = entry.link_name().unwrap().map(|l| l.into_owned());
                let mut content = Vec::new();
                entry.read_to_end(&mut content).unwrap();
                (path, kind, mode, link, content)
            })
            .collect()
    }

    pub(crate) fn tar_of(context: &Context) -> Vec<TarEntry> {
        read_tar(&context.write_tar(Vec::new()).unwrap())
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::symlink;

    use super::testing::*;
    use super::*;

    #[test]
    fn symlinks_are_kept_and_never_followed() {
        let outside = tempfile::tempdir().unwrap();
        write(outside.path(), "secret.txt", "OUTSIDE-SECRET");
        write(outside.path(), "dir/inner.txt", "OUTSIDE-DIR");
        let dir = context_dir();
        write(dir.path(), "real.txt", "inside");
        symlink("real.txt", dir.path().join("inside-link")).unwrap();
        symlink(
            outside.path().join("secret.txt"),
            dir.path().join("outside-link"),
        )
        .unwrap();
        symlink(outside.path().join("dir"), dir.path().join("outside-dir")).unwrap();
        symlink("missing", dir.path().join("dangling")).unwrap();
        let long_target = format!("{}/target", "t".repeat(150));
        symlink(&long_target, dir.path().join("long-link")).unwrap();

        let context = scan_dir(dir.path());
        assert_eq!(
            paths(&context),
            [
                "Dockerfile",
                "dangling",
                "inside-link",
                "long-link",
                "outside-dir",
                "outside-link",
                "real.txt"
            ]
        );
        let target = |path: &str| match &context
            .entries()
            .iter()
            .find(|e| e.path == path)
            .unwrap()
            .kind
        {
            EntryKind::Symlink { target } => target.clone(),
            other => panic!("{path} is {other:?}"),
        };
        assert_eq!(target("inside-link"), Path::new("real.txt"));
        assert_eq!(target("outside-link"), outside.path().join("secret.txt"));

        let bytes = context.write_tar(Vec::new()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("OUTSIDE-SECRET") && !text.contains("OUTSIDE-DIR"));
        for (path, kind, _, link, content) in read_tar(&bytes) {
            if path.ends_with("link") || path.starts_with("outside") || path == "dangling" {
                assert_eq!(kind, tar::EntryType::Symlink, "{path}");
                assert!(content.is_empty(), "{path}");
                let link = link.unwrap_or_else(|| panic!("{path} has no link name"));
                assert_eq!(link, target(&path), "{path}");
            }
        }
        // The hash sees the target, not what it points at.
        let before = hash(dir.path());
        write(outside.path(), "secret.txt", "changed");
        assert_eq!(hash(dir.path()), before);
        fs::remove_file(dir.path().join("inside-link")).unwrap();
        symlink("Dockerfile", dir.path().join("inside-link")).unwrap();
        assert_ne!(hash(dir.path()), before);
    }

    #[test]
    fn ignored_files_are_not_sent_and_do_not_count() {
        let dir = context_dir();
        write(dir.path(), ".dockerignore", "*.log\n**/*.tmp\ntarget\n");
        write(dir.path(), "src/main.rs", "fn main() {}");
        fs::create_dir(dir.path().join("src/deep")).unwrap();
        let before = hash(dir.path());

        write(dir.path(), "debug.log", "noise");
        write(dir.path(), "target/debug/app", "binary");
        write(dir.path(), "src/deep/x.tmp", "noise");
        let context = scan_dir(dir.path());
        assert_eq!(
            paths(&context),
            [
                ".dockerignore",
                "Dockerfile",
                "src",
                "src/deep",
                "src/main.rs"
            ]
        );
        assert_eq!(
            context
                .content_hash_with(&mut Digests::at(None), &[], None)
                .unwrap(),
            before
        );
        let names: Vec<String> = tar_of(&context).into_iter().map(|e| e.0).collect();
        assert_eq!(names, paths(&context));

        write(dir.path(), "debug.log", "other noise");
        assert_eq!(hash(dir.path()), before);
        write(dir.path(), "src/main.rs", "fn main() { }");
        assert_ne!(hash(dir.path()), before);
    }

    #[test]
    fn the_digest_cache_never_hides_a_change() {
        let dir = context_dir();
        let cache = tempfile::tempdir().unwrap();
        let cache = cache.path().join("c.digests");
        write(dir.path(), "a.txt", "one");
        write(dir.path(), "b.txt", "two");
        let cached_hash = || {
            scan_dir(dir.path())
                .content_hash_cached(Digests::trusting_now(cache.clone()), &[], None)
                .unwrap()
        };
        let first = cached_hash();
        assert_eq!(first, hash(dir.path()));
        assert!(cache.exists());
        assert_eq!(cached_hash(), first, "served from the cache");
        let saved = fs::read_to_string(&cache).unwrap();
        assert!(saved.contains("memo "), "{saved}");
        // A memo that no longer matches the listing is not used: add a file.
        write(dir.path(), "c.txt", "three");
        assert_eq!(cached_hash(), hash(dir.path()));
        assert_ne!(cached_hash(), first);
        fs::remove_file(dir.path().join("c.txt")).unwrap();
        assert_eq!(cached_hash(), first);

        // Same size, same mtime put back: only the ctime (and the content) tells.
        let file = dir.path().join("a.txt");
        let mtime = fs::metadata(&file).unwrap().modified().unwrap();
        fs::write(&file, "ONE").unwrap();
        fs::File::options()
            .write(true)
            .open(&file)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        let changed = cached_hash();
        assert_ne!(changed, first);
        assert_eq!(changed, hash(dir.path()));

        // Replaced by a rename: a new inode.
        write(dir.path(), "new.txt", "two");
        fs::rename(dir.path().join("new.txt"), dir.path().join("b.txt")).unwrap();
        assert_eq!(cached_hash(), changed, "same content, same hash");
        write(dir.path(), "new.txt", "TWO");
        fs::rename(dir.path().join("new.txt"), dir.path().join("b.txt")).unwrap();
        assert_eq!(cached_hash(), hash(dir.path()));
        assert_ne!(cached_hash(), changed);
    }

    #[test]
    fn dockerfile_outside_the_context() {
        let project = tempfile::tempdir().unwrap();
        write(
            project.path(),
            "docker/test.Dockerfile",
            "FROM scratch\nCOPY . /\n",
        );
        write(project.path(), "ctx/file.txt", "data");
        let context_dir = project.path().join("ctx");
        let dockerfile = project.path().join("docker/test.Dockerfile");
        let context = scan(&context_dir, &dockerfile).unwrap();
        assert_eq!(context.dockerfile_name(), ".dockside/Dockerfile");
        assert_eq!(paths(&context), ["file.txt"]);
        let tar = tar_of(&context);
        let names: Vec<&str> = tar.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(names, ["file.txt", ".dockside", ".dockside/Dockerfile"]);
        assert_eq!(tar[2].4, b"FROM scratch\nCOPY . /\n");

        let before = context
            .content_hash_with(&mut Digests::at(None), &[], None)
            .unwrap();
        write(project.path(), "docker/test.Dockerfile", "FROM scratch\n");
        let after = scan(&context_dir, &dockerfile)
            .unwrap()
            .content_hash_with(&mut Digests::at(None), &[], None)
            .unwrap();
        assert_ne!(before, after);

        // A path through "..".
        let inside = scan(
            &project.path().join("docker"),
            &project.path().join("docker/../docker/test.Dockerfile"),
        )
        .unwrap();
        assert_eq!(inside.dockerfile_name(), "test.Dockerfile");

        write(project.path(), "ctx/.dockside/mine", "x");
        let err = scan(&context_dir, &dockerfile).unwrap_err().to_string();
        assert!(err.contains("contains `.dockside`"), "{err}");
    }

    #[test]
    fn a_file_that_shrinks_is_an_error() {
        let dir = context_dir();
        write(dir.path(), "data", "0123456789");
        let context = scan_dir(dir.path());
        write(dir.path(), "data", "012");
        let err = context.write_tar(Vec::new()).unwrap_err().to_string();
        assert!(err.contains("data") && err.contains("shorter"), "{err}");
        let err = context
            .content_hash_with(&mut Digests::at(None), &[], None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("data") && err.contains("shorter"), "{err}");
    }
}
