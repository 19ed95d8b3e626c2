//! Scanning a build context: which files the build sends, read once.

use std::fs;
use std::io;
use std::path::Path;

use super::digests::Stamp;
use super::{
    read_error, Context, ContextError, Dockerfile, Entry, EntryKind, IGNORE_FILE, OUTSIDE_DIR,
    OUTSIDE_DOCKERFILE,
};
use crate::image::dockerignore::DockerIgnore;

/// Scans `context_dir` for a build of `dockerfile` (relative paths are taken from the
/// current folder, as `docker build -f` does).
///
/// Entries are sorted by name, folder by folder, so the result is the same on every
/// machine. `.dockerignore` is applied, except that the Dockerfile and `.dockerignore`
/// are always kept, as the Docker CLI keeps them. An excluded folder is not entered
/// unless the ignore file has `!` exceptions or the folder holds the Dockerfile.
/// Sockets, FIFOs and devices are left out.
pub(crate) fn scan(context_dir: &Path, dockerfile: &Path) -> Result<Context, ContextError> {
    // `Path::parent` of a bare file name is "", which names no folder.
    let root = if context_dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        context_dir
    };
    let dockerfile = read_dockerfile(root, dockerfile)?;
    let ignore = read_ignore(root)?;
    let mut walker = Walker {
        root,
        ignore: &ignore,
        dockerfile: (!dockerfile.outside).then_some(dockerfile.name.as_str()),
        entries: Vec::new(),
    };
    walker.walk("")?;
    let entries = walker.entries;
    let reserved = |e: &Entry| {
        let rest = e.path.strip_prefix(OUTSIDE_DIR);
        rest.is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    };
    if dockerfile.outside && entries.iter().any(reserved) {
        return Err(ContextError::Reserved {
            context: root.to_owned(),
        });
    }
    Ok(Context {
        root: root.to_owned(),
        entries,
        dockerfile,
    })
}

/// Reads the Dockerfile and works out its name in the archive: its path relative to the
/// context when it lies inside (symlinks resolved, as the Docker CLI does), else
/// [`OUTSIDE_DOCKERFILE`].
fn read_dockerfile(root: &Path, path: &Path) -> Result<Dockerfile, ContextError> {
    let dockerfile_error = |source| ContextError::Dockerfile {
        path: path.to_owned(),
        source,
    };
    let content = fs::read(path).map_err(dockerfile_error)?;
    let real = fs::canonicalize(path).map_err(dockerfile_error)?;
    let real_root = fs::canonicalize(root).map_err(|source| read_error(root, source))?;
    let inside = real.strip_prefix(&real_root).ok().map(|relative| {
        let parts: Option<Vec<&str>> = relative.iter().map(|part| part.to_str()).collect();
        parts.map(|parts| parts.join("/"))
    });
    let (name, outside) = match inside {
        Some(Some(name)) => (name, false),
        Some(None) => {
            return Err(ContextError::NonUtf8 {
                path: path.to_owned(),
            })
        }
        None => (OUTSIDE_DOCKERFILE.to_owned(), true),
    };
    Ok(Dockerfile {
        name,
        content,
        outside,
    })
}

/// The context's `.dockerignore`; none means nothing is excluded.
fn read_ignore(root: &Path) -> Result<DockerIgnore, ContextError> {
    let path = root.join(IGNORE_FILE);
    match fs::read_to_string(&path) {
        Ok(text) => {
            DockerIgnore::try_parse(&text).map_err(|source| ContextError::Ignore { path, source })
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(DockerIgnore::empty()),
        Err(source) => Err(ContextError::Read { path, source }),
    }
}
/// The depth-first walk of [`scan`].
struct Walker<'a> {
    root: &'a Path,
    ignore: &'a DockerIgnore,
    /// The Dockerfile's path when it is inside the context.
    dockerfile: Option<&'a str>,
    entries: Vec<Entry>,
}

impl Walker<'_> {
    /// Records the children of `dir` ("" for the root), sorted by name.
    fn walk(&mut self, dir: &str) -> Result<(), ContextError> {
        let dir_path = self.root.join(dir);
        let mut names = fs::read_dir(&dir_path)
            .and_then(|children| {
                children
                    .map(|child| child.map(|c| c.file_name()))
                    .collect::<io::Result<Vec<_>>>()
            })
            .map_err(|source| read_error(&dir_path, source))?;
        names.sort();
        for name in names {
            let name = name.into_string().map_err(|name| ContextError::NonUtf8 {
                path: dir_path.join(name),
            })?;
            let path = if dir.is_empty() {
                name
            } else {
                format!("{dir}/{name}")
            };
            self.visit(path)?;
        }
        Ok(())
    }

    fn visit(&mut self, path: String) -> Result<(), ContextError> {
        let full = self.root.join(&path);
        let meta = fs::symlink_metadata(&full).map_err(|source| read_error(&full, source))?;
        let excluded = self.is_excluded(&path);
        let file_type = meta.file_type();
        let kind = if file_type.is_dir() {
            let enter = !excluded || self.ignore.has_exceptions() || self.holds_dockerfile(&path);
            if !excluded {
                self.push(path.clone(), EntryKind::Dir, &meta);
            }
            if enter {
                self.walk(&path)?;
            }
            return Ok(());
        } else if excluded {
            return Ok(());
        } else if file_type.is_file() {
            EntryKind::File { size: meta.len() }
        } else if file_type.is_symlink() {
            let target = fs::read_link(&full).map_err(|source| read_error(&full, source))?;
            EntryKind::Symlink { target }
        } else {
            // Sockets, FIFOs and devices mean nothing in an image built for a test.
            return Ok(());
        };
        self.push(path, kind, &meta);
        Ok(())
    }

    fn push(&mut self, path: String, kind: EntryKind, meta: &fs::Metadata) {
        let stamp = matches!(kind, EntryKind::File { .. }).then(|| Stamp::of(meta));
        self.entries.push(Entry {
            path,
            kind,
            mode: mode_bits(meta),
            stamp,
        });
    }

    fn is_excluded(&self, path: &str) -> bool {
        path != IGNORE_FILE && Some(path) != self.dockerfile && self.ignore.is_excluded(path)
    }

    fn holds_dockerfile(&self, dir: &str) -> bool {
        self.dockerfile
            .and_then(|dockerfile| dockerfile.strip_prefix(dir))
            .is_some_and(|rest| rest.starts_with('/'))
    }
}

#[cfg(unix)]
fn mode_bits(meta: &fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}

/// Without Unix modes, what `docker build` on Windows sends.
#[cfg(not(unix))]
fn mode_bits(meta: &fs::Metadata) -> u32 {
    if meta.is_dir() {
        0o755
    } else {
        0o644
    }
}
