//! The lock folder, private to one user, and the small files that dockside processes of that
//! user share through it (the digest cache, the daemon's API version, the times of the last
//! orphan sweep and lock-folder prune): each is written whole under a temporary name and
//! renamed into place, so a reader sees the old file or the new one, never half of one; none is
//! followed through a symlink. They are optimisations: a file that cannot be read or written is
//! as good as absent. (The image locks in the same folder are `image/lock.rs`'s.)

use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::config;
use crate::error::{Error, Result};

/// The kinds of file dockside makes in the lock folder, each named `<stem>.<extension>`. A file
/// of any kind is made by [`file_name`], and the lock folder's prune (`image/lock.rs`) removes
/// the files of [`Kind::ALL`] that nobody wrote for a week, so a new kind added here is pruned
/// too. (`runs/` holds the run watchers' locks, which their watchers remove.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An image lock (`image/lock.rs`).
    Lock,
    /// A nextest run's record of a failed build.
    Failed,
    /// A nextest run's record of a build context's hash (`image/context/run_hash.rs`).
    Context,
    /// A nextest run's record of a pull done for `pull = "always"`.
    Pulled,
    /// The daemon's API version, per socket (`docker.rs`).
    Version,
    /// A build context's cache of file digests (`image/context/digests.rs`), marked as in use
    /// whenever read a day after its last write ([`read_in_use`]).
    Digests,
    /// When a chore last ran: an orphan sweep, the lock folder's prune ([`due`]).
    Stamp,
}

impl Kind {
    /// Every kind.
    pub(crate) const ALL: [Kind; 7] = [
        Kind::Lock,
        Kind::Failed,
        Kind::Context,
        Kind::Pulled,
        Kind::Version,
        Kind::Digests,
        Kind::Stamp,
    ];

    /// The extension that names the kind.
    pub(crate) fn extension(self) -> &'static str {
        match self {
            Kind::Lock => "lock",
            Kind::Failed => "failed",
            Kind::Context => "context",
            Kind::Pulled => "pulled",
            Kind::Version => "version",
            Kind::Digests => "digests",
            Kind::Stamp => "stamp",
        }
    }

    /// The kind a file of the lock folder is, by its name; `None` for a file dockside did not
    /// name.
    pub(crate) fn of(file: &Path) -> Option<Kind> {
        let extension = file.extension()?;
        Kind::ALL
            .into_iter()
            .find(|kind| extension == kind.extension())
    }
}

/// The name of the file of `kind` for `stem`.
pub(crate) fn file_name(stem: &str, kind: Kind) -> String {
    format!("{stem}.{}", kind.extension())
}

/// `<lock folder>/<stem>.<kind's extension>`, once the folder exists and is safe to use
/// ([`ensure_private_dir`]); `None` when it is not.
pub(crate) fn path(stem: &str, kind: Kind) -> Option<PathBuf> {
    let dir = crate::config::lock_dir();
    ensure_private_dir(&dir).ok()?;
    Some(dir.join(file_name(stem, kind)))
}

/// Creates `dir` (0700) when missing, and refuses one that another user owns or could write.
pub(crate) fn ensure_private_dir(dir: &Path) -> Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| Error::io("creating lock folder", dir, e))?;
    let meta =
        std::fs::symlink_metadata(dir).map_err(|e| Error::io("inspecting lock folder", dir, e))?;
    let unsafe_dir = |reason: String| Error::UnsafeLockDir {
        path: dir.to_owned(),
        reason,
    };
    if meta.file_type().is_symlink() {
        return Err(unsafe_dir("is a symbolic link".to_owned()));
    }
    if !meta.is_dir() {
        return Err(unsafe_dir("is not a folder".to_owned()));
    }
    let uid = config::current_uid();
    if meta.uid() != uid {
        return Err(unsafe_dir(format!(
            "belongs to uid {}, not to this user (uid {uid})",
            meta.uid()
        )));
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(unsafe_dir(format!(
            "can be written by other users (mode {mode:04o})"
        )));
    }
    Ok(())
}

/// The file's content, if it is there and readable.
pub(crate) fn read(path: &Path) -> Option<String> {
    read_file(path).map(|(text, _)| text)
}

/// [`read`], and the file marked as in use when it was last written a day or more ago: the lock
/// folder's prune removes what nobody wrote for a week, and a cache that is read every day but
/// rarely changes (a build context's digests) must not go with it. Only this user's regular
/// file, and best effort: a file that cannot be marked costs at most its cache.
pub(crate) fn read_in_use(path: &Path) -> Option<String> {
    let (text, file) = read_file(path)?;
    if let Ok(meta) = file.metadata() {
        let idle = meta.modified().ok().and_then(|at| at.elapsed().ok());
        let ours = meta.is_file() && meta.uid() == config::current_uid();
        if ours && idle.is_some_and(|idle| idle >= KEEP_AFTER) {
            let _ = file.set_modified(SystemTime::now());
        }
    }
    Some(text)
}

fn read_file(path: &Path) -> Option<(String, fs::File)> {
    let mut text = String::new();
    let mut file = open(path, false).ok()?;
    file.read_to_string(&mut text).ok()?;
    Some((text, file))
}

/// How long after its last write a file that is read is marked as in use again
/// ([`read_in_use`]).
const KEEP_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// Replaces the file's content with `content`, atomically.
pub(crate) fn write(path: &Path, content: &[u8]) -> io::Result<()> {
    let mut temp = path.as_os_str().to_owned();
    temp.push(format!(".{}.tmp", std::process::id()));
    let temp = PathBuf::from(temp);
    let written = open(&temp, true)
        .and_then(|mut file| file.write_all(content))
        .and_then(|()| fs::rename(&temp, path));
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written
}

/// Whether the chore whose last run the stamp `name` records is due: under nextest every
/// test is a process, and a chore that almost always finds nothing to do should not cost every
/// test its time. Due when the stamp is missing, unreadable or older than `interval` (always,
/// for a zero interval); a due chore's stamp is renewed at once, so the processes that start
/// after this one skip it. Two processes that race here both run the chore, which every chore
/// that asks allows.
pub(crate) fn due(name: &str, interval: Duration) -> bool {
    if interval.is_zero() {
        return true;
    }
    let Some(stamp) = path(name, Kind::Stamp) else {
        return true;
    };
    let since_last = fs::symlink_metadata(&stamp)
        .and_then(|meta| meta.modified())
        .ok()
        .and_then(|done| SystemTime::now().duration_since(done).ok());
    if since_last.is_some_and(|since| since < interval) {
        return false;
    }
    let _ = write(&stamp, std::process::id().to_string().as_bytes());
    true
}

fn open(path: &Path, create: bool) -> io::Result<fs::File> {
    OpenOptions::new()
        .read(!create)
        .write(create)
        .create(create)
        .truncate(create)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_read_a_day_after_its_last_write_is_marked_as_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let (idle, recent) = (dir.path().join("idle"), dir.path().join("recent"));
        let two_days_ago = SystemTime::now() - Duration::from_secs(2 * 24 * 60 * 60);
        let an_hour_ago = SystemTime::now() - Duration::from_secs(60 * 60);
        for (path, at) in [(&idle, two_days_ago), (&recent, an_hour_ago)] {
            write(path, b"x").unwrap();
            fs::File::open(path).unwrap().set_modified(at).unwrap();
        }
        assert_eq!(read_in_use(&idle).as_deref(), Some("x"));
        assert_eq!(read_in_use(&recent).as_deref(), Some("x"));
        let modified = |path: &Path| fs::metadata(path).unwrap().modified().unwrap();
        assert!(modified(&idle).elapsed().unwrap() < Duration::from_secs(60));
        assert_eq!(
            modified(&recent),
            an_hour_ago,
            "a recent write is left as it is"
        );
        assert_eq!(read_in_use(&dir.path().join("missing")), None);
    }

    #[test]
    fn writes_whole_files_and_never_follows_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("state");
        assert_eq!(read(&file), None);
        write(&file, b"one").unwrap();
        write(&file, b"two").unwrap();
        assert_eq!(read(&file).as_deref(), Some("two"));
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary left"
        );

        let target = dir.path().join("target");
        fs::write(&target, "theirs").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert_eq!(read(&link), None);
        write(&link, b"ours").unwrap();
        assert_eq!(fs::read_to_string(&target).unwrap(), "theirs");
    }
}
