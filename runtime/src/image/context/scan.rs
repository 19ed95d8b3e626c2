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
    let root = root(context_dir);
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

/// The folder `context_dir` names: `Path::parent` of a bare file name is "", which names no
/// folder, and means the current one.
pub(super) fn root(context_dir: &Path) -> &Path {
    if context_dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        context_dir
    }
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

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::image::context::testing::*;

    #[test]
    fn walks_sorted_with_kinds_and_modes() {
        let dir = context_dir();
        write(dir.path(), "b.txt", "bee");
        write(dir.path(), "a/z.txt", "zed");
        write(dir.path(), "a.txt", "ay");
        let run = dir.path().join("a/run.sh");
        fs::write(&run, "#!/bin/sh\n").unwrap();
        fs::set_permissions(&run, fs::Permissions::from_mode(0o755)).unwrap();
        fs::set_permissions(dir.path().join("a.txt"), fs::Permissions::from_mode(0o600)).unwrap();

        let context = scan_dir(dir.path());
        assert_eq!(
            paths(&context),
            ["Dockerfile", "a", "a/run.sh", "a/z.txt", "a.txt", "b.txt"]
        );
        assert_eq!(context.dockerfile_name(), "Dockerfile");
        let entry = |path: &str| {
            context
                .entries()
                .iter()
                .find(|e| e.path == path)
                .unwrap()
                .clone()
        };
        assert_eq!(entry("a").kind, EntryKind::Dir);
        assert_eq!(entry("a/run.sh").mode, 0o755);
        assert_eq!(entry("a.txt").mode, 0o600);
        assert_eq!(entry("b.txt").kind, EntryKind::File { size: 3 });

        let tar = tar_of(&context);
        let names: Vec<&str> = tar.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(names, paths(&context));
        let run = tar.iter().find(|e| e.0 == "a/run.sh").unwrap();
        assert_eq!(
            (run.1, run.2, run.4.as_slice()),
            (tar::EntryType::Regular, 0o755, &b"#!/bin/sh\n"[..])
        );
        let a = tar.iter().find(|e| e.0 == "a").unwrap();
        assert_eq!(a.1, tar::EntryType::Directory);
    }

    #[test]
    fn dockerfile_and_dockerignore_are_always_sent() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), ".dockerignore", ".dockerignore\ndocker\n");
        write(dir.path(), "docker/test.Dockerfile", "FROM scratch\n");
        write(dir.path(), "docker/other.txt", "left out");
        write(dir.path(), "app.txt", "kept");
        let context = scan(dir.path(), &dir.path().join("docker/test.Dockerfile")).unwrap();
        assert_eq!(context.dockerfile_name(), "docker/test.Dockerfile");
        assert_eq!(
            paths(&context),
            [".dockerignore", "app.txt", "docker/test.Dockerfile"]
        );
        let names: Vec<String> = tar_of(&context).into_iter().map(|e| e.0).collect();
        assert_eq!(names, paths(&context));
    }

    #[test]
    fn exceptions_reach_into_excluded_folders() {
        let dir = context_dir();
        write(
            dir.path(),
            ".dockerignore",
            "*\n!Dockerfile\n!src\nsrc/gen\n!src/gen/keep.rs\n",
        );
        for path in [
            "README.md",
            "src/lib.rs",
            "src/gen/drop.rs",
            "src/gen/keep.rs",
            "other/x",
        ] {
            write(dir.path(), path, path);
        }
        let context = scan_dir(dir.path());
        assert_eq!(
            paths(&context),
            [
                ".dockerignore",
                "Dockerfile",
                "src",
                "src/gen/keep.rs",
                "src/lib.rs"
            ]
        );
        let tar = tar_of(&context);
        let keep = tar.iter().find(|e| e.0 == "src/gen/keep.rs").unwrap();
        assert_eq!(keep.4, b"src/gen/keep.rs");
    }

    #[test]
    fn excluded_folders_are_not_entered_without_exceptions() {
        use std::os::unix::ffi::OsStrExt;
        let dir = context_dir();
        write(dir.path(), ".dockerignore", "skipped\n");
        let bad = std::ffi::OsStr::from_bytes(b"bad-\xff-name");
        fs::create_dir_all(dir.path().join("skipped")).unwrap();
        fs::write(dir.path().join("skipped").join(bad), "x").unwrap();
        // Entering "skipped" would fail on the name that is not UTF-8.
        assert_eq!(
            paths(&scan_dir(dir.path())),
            [".dockerignore", "Dockerfile"]
        );
        write(dir.path(), ".dockerignore", "skipped\n!skipped/nothing\n");
        let err = scan(dir.path(), &dir.path().join("Dockerfile"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("not valid UTF-8") && err.contains("bad-"),
            "{err}"
        );
    }

    #[test]
    fn errors_name_the_path() {
        let dir = context_dir();
        let missing = dir.path().join("Missing.Dockerfile");
        let err = scan(dir.path(), &missing).unwrap_err().to_string();
        assert!(
            err.starts_with("cannot read dockerfile") && err.contains("Missing.Dockerfile"),
            "{err}"
        );

        let gone = dir.path().join("gone");
        let err = scan(&gone, &dir.path().join("Dockerfile"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("gone"), "{err}");

        write(dir.path(), ".dockerignore", "ok\na[\n");
        let err = scan(dir.path(), &dir.path().join("Dockerfile"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(".dockerignore") && err.contains("line 2"),
            "{err}"
        );
    }
}
