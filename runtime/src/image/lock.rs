//! The cross-process build lock: one advisory file lock per image, in a per-user folder (and
//! one per shared container of a run, which is started once the same way).
//!
//! The OS releases an `fs2` lock when its holder dies, so a builder killed mid-build never wedges
//! the processes waiting behind it. A holder that lives but hangs is bounded by its own time
//! limit, which it writes into the lock file; a waiter gives up a margin after that.
//!
//! The folder may sit in a shared `/tmp`, where another user could have made it first or planted
//! symlinks in it: it is used only when it belongs to this user and nobody else can write it, and
//! lock files are never followed through a symlink nor written unless they are this user's own
//! regular files. The folder is pruned here too: every kind of file dockside keeps in it goes
//! once nobody wrote it for a week (every [`Kind`]).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::config;
use crate::error::{Error, Result};
use crate::state_file::{self, file_name, Kind};

/// How often a waiter tries the lock again.
const POLL: Duration = Duration::from_millis(100);
/// The longest a waiter gives a holder beyond the holder's own limit (for its last inspect and
/// for writing its answer); short limits get a margin as long as themselves.
const MAX_MARGIN: Duration = Duration::from_secs(30);

/// Held while this process inspects and builds (or pulls) one image, or finds or starts one
/// shared container.
pub(crate) struct ImageLock {
    file: File,
}

impl ImageLock {
    /// Waits until this process holds the lock for `image`, which it then holds for at most
    /// `limit` (recorded in the file for the waiters).
    ///
    /// While another process holds it, says so on stderr, naming the image and the holder's pid
    /// (which each holder writes into the file): a test waiting a minute for someone else's
    /// build should not look hung. Gives up when a holder keeps it past its limit plus a margin.
    pub(crate) fn acquire(image: &str, limit: Duration) -> Result<ImageLock> {
        let what = format!("image {image}");
        ImageLock::acquire_for(&what, image, limit, "DOCKSIDE_IMAGE_TIMEOUT")
    }

    /// The same lock for anything else prepared once for many processes (a run's shared
    /// container): `key` names the lock file, `what` names the thing in messages, and `variable`
    /// is the setting of `limit`, for the error of a waiter that gives up.
    pub(crate) fn acquire_for(
        what: &str,
        key: &str,
        limit: Duration,
        variable: &'static str,
    ) -> Result<ImageLock> {
        let dir = config::lock_dir();
        state_file::ensure_private_dir(&dir)?;
        prune_once(&dir);
        let path = dir.join(lock_file_name(key));
        loop {
            let mut file = open_own(&path)?;
            if fs2::FileExt::try_lock_exclusive(&file).is_err() {
                wait_for_holder(&mut file, &path, what, (limit, variable))?;
            }
            // A pruner may have removed the file between our open and our lock (it deletes only
            // while holding the lock): a lock on a file no longer at `path` excludes nobody, so
            // open what the path names now and lock that.
            if still_named_by(&file, &path) {
                record_holder(&mut file, limit)
                    .map_err(|e| Error::io("writing lock file", &path, e))?;
                return Ok(ImageLock { file });
            }
        }
    }
}

/// Lock files and the records of a run (build failures, context hashes) untouched for this long are removed (unlocked ones
/// only): an image nobody asked for in a week costs one lock file again when it is asked for.
pub(crate) const STALE_AFTER: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// How often the lock folder is pruned: the files it removes are a week old, so an hour's delay
/// keeps it as bounded, while a prune in every test process would read the whole folder each
/// time (hundreds of files after a few suites).
const PRUNE_INTERVAL: Duration = Duration::from_secs(60 * 60);

/// Keeps the lock folder bounded: removes the stale files dockside made there, at most once per
/// process and once per [`PRUNE_INTERVAL`] for all processes.
fn prune_once(dir: &Path) {
    static PRUNED: std::sync::Once = std::sync::Once::new();
    PRUNED.call_once(|| {
        if state_file::due("prune", PRUNE_INTERVAL) {
            prune(dir, STALE_AFTER);
        }
    });
}

/// Removes the files of every [`Kind`] in `dir` that were last written more than `age` ago,
/// are this user's regular files, and that nobody holds. Anything else, and any file that
/// cannot be checked, stays: pruning is housekeeping, never a reason to fail a test.
fn prune(dir: &Path, age: Duration) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let ours = Kind::of(&path).is_some();
        // A file written recently is kept whatever it is: one `lstat` from the listing decides
        // that for almost every file, where opening it would cost three calls.
        if ours && written_before(entry.metadata(), age) {
            prune_file(&path, age);
        }
    }
}

/// Whether the file these are the metadata of was last written more than `age` ago; `false`
/// when that cannot be told.
fn written_before(metadata: std::io::Result<std::fs::Metadata>, age: Duration) -> bool {
    metadata
        .and_then(|meta| meta.modified())
        .ok()
        .and_then(|modified| modified.elapsed().ok())
        .is_some_and(|elapsed| elapsed > age)
}

fn prune_file(path: &Path, age: Duration) {
    let is_stale = |file: &File| written_before(file.metadata(), age);
    // Not through a symlink, and only this user's regular files (what `open_own` accepts).
    let Ok(file) = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
        .open(path)
    else {
        return;
    };
    if check_own(&file, path).is_err() || !is_stale(&file) {
        return;
    }
    // Deleted only while holding its lock, so no process is using it; lockers check after
    // locking that the path still names their file (see `ImageLock::acquire`).
    if fs2::FileExt::try_lock_exclusive(&file).is_err() {
        return;
    }
    // Checked again under the lock: a holder may have written it just before we locked.
    if is_stale(&file) {
        remove_held(&file, path);
    }
    let _ = fs2::FileExt::unlock(&file);
}

/// Opens (creating it if need be) and locks the lock file `path`, in a folder that
/// [`state_file::ensure_private_dir`] accepted, without waiting: `None` while another process holds it.
///
/// Unlike an [`ImageLock`], the lock is not released when the `File` is dropped: a forked helper
/// that keeps the file open (the run's watcher) holds it on, since the lock belongs to the open
/// file, which the fork shares.
pub(crate) fn try_lock_file(path: &Path) -> Result<Option<File>> {
    loop {
        let file = open_own(path)?;
        if fs2::FileExt::try_lock_exclusive(&file).is_err() {
            return Ok(None);
        }
        // As in `ImageLock::acquire`: a file removed between our open and our lock excludes
        // nobody.
        if still_named_by(&file, path) {
            return Ok(Some(file));
        }
    }
}

/// Removes the lock file `path` whose lock `file` holds, if the path still names it. Lockers
/// check after locking that their file is still there ([`still_named_by`]), so removing a held
/// lock file never lets two processes hold "the" lock.
pub(crate) fn remove_held(file: &File, path: &Path) {
    if still_named_by(file, path) {
        let _ = std::fs::remove_file(path);
    }
}

/// Whether `path` still names the open `file` (same device and inode), not a newer file made
/// after a pruner removed it.
fn still_named_by(file: &File, path: &Path) -> bool {
    match (file.metadata(), std::fs::symlink_metadata(path)) {
        (Ok(open), Ok(named)) => open.dev() == named.dev() && open.ino() == named.ino(),
        _ => false,
    }
}

impl ImageLock {
    /// The build failure another process of this run recorded for content `hash`, if any.
    ///
    /// Only under nextest (`NEXTEST_RUN_ID`), where each test is a process; under `cargo test`
    /// a test binary is one process and its in-process cell holds the failure.
    pub(crate) fn recorded_failure(&self, hash: &str) -> Result<Option<RecordedFailure>> {
        let Some(path) = failure_record(hash) else {
            return Ok(None);
        };
        let mut file = match open_record(&path, false) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("opening build failure record", &path, e)),
        };
        check_own(&file, &path)?;
        let mut text = String::new();
        file.read_to_string(&mut text)
            .map_err(|e| Error::io("reading build failure record", &path, e))?;
        Ok(RecordedFailure::parse(&text))
    }

    /// Records that the build of content `hash` failed in this run, so the run's other
    /// processes fail at once with the same report instead of building again. Best effort: a
    /// record that cannot be written only costs another attempt.
    pub(crate) fn record_failure(&self, hash: &str, failure: &RecordedFailure) {
        let Some(path) = failure_record(hash) else {
            return;
        };
        // Created new (never an existing file, never through a symlink) and 0600.
        if let Ok(mut file) = open_record(&path, true) {
            let _ = file.write_all(failure.to_json().as_bytes());
        }
    }
}

impl ImageLock {
    /// Whether a process of this nextest run already pulled `reference` for `pull = "always"`.
    /// Always `false` outside nextest: under `cargo test` the in-process cell is the record.
    pub(crate) fn pulled_this_run(&self, reference: &str) -> bool {
        run_record(reference, Kind::Pulled).is_some_and(|path| {
            open_record(&path, false).is_ok_and(|file| check_own(&file, &path).is_ok())
        })
    }

    /// Records that `reference` was pulled in this run. Best effort: a record that cannot be
    /// written only costs another pull.
    pub(crate) fn record_pull(&self, reference: &str) {
        if let Some(path) = run_record(reference, Kind::Pulled) {
            let _ = open_record(&path, true);
        }
    }
}

/// A failed build as another process of the run reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RecordedFailure {
    /// The process whose build failed.
    pub(crate) pid: u32,
    pub(crate) message: String,
    pub(crate) output: String,
}

impl RecordedFailure {
    fn to_json(&self) -> String {
        serde_json::json!({ "pid": self.pid, "message": self.message, "output": self.output })
            .to_string()
    }

    /// `None` for a record cut short (its writer died mid-write): the build is then tried again.
    fn parse(text: &str) -> Option<RecordedFailure> {
        let value: serde_json::Value = serde_json::from_str(text).ok()?;
        Some(RecordedFailure {
            pid: u32::try_from(value.get("pid")?.as_u64()?).ok()?,
            message: value.get("message")?.as_str()?.to_owned(),
            output: value.get("output")?.as_str()?.to_owned(),
        })
    }
}

/// `<lock folder>/<hash of run id and content hash>.failed`, when there is a nextest run.
fn failure_record(hash: &str) -> Option<PathBuf> {
    run_record(hash, Kind::Failed)
}

/// `<lock folder>/<hash of run id and key>.<kind>`: what a process of this nextest run leaves
/// for the run's other processes about `key`.
fn run_record(key: &str, kind: Kind) -> Option<PathBuf> {
    let run = config::session()?;
    let digest = hex::encode(Sha256::digest(format!("{run}\0{key}").as_bytes()));
    Some(config::lock_dir().join(file_name(&digest[..32], kind)))
}

fn open_record(path: &Path, create: bool) -> std::io::Result<File> {
    OpenOptions::new()
        .read(!create)
        .write(create)
        .create_new(create)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

impl Drop for ImageLock {
    fn drop(&mut self) {
        // Closing the file would release the lock too; unlocking first says what we mean.
        let _ = fs2::FileExt::unlock(&self.file);
    }
}

/// Polls the lock until it is ours, restarting the holder's allowance whenever another process
/// takes it over, and fails once one holder keeps it past its limit plus the margin.
/// `what` names what the holder prepares (`image x:1`); `own_limit` is this process's limit
/// and the variable that sets it, used when the holder wrote none.
fn wait_for_holder(
    file: &mut File,
    path: &Path,
    what: &str,
    (own_limit, variable): (Duration, &'static str),
) -> Result<()> {
    let mut holder = Holder::read(file);
    let mut since = Instant::now();
    eprintln!(
        "dockside: waiting for {} to finish preparing {what} (lock {})",
        holder.describe(),
        path.display()
    );
    loop {
        std::thread::sleep(POLL);
        if fs2::FileExt::try_lock_exclusive(&*file).is_ok() {
            return Ok(());
        }
        let now = Holder::read(file);
        if now.pid != holder.pid {
            eprintln!(
                "dockside: still waiting for {what}: now {} holds its lock",
                now.describe()
            );
            holder = now;
            since = Instant::now();
        }
        let limit = holder.limit.unwrap_or(own_limit);
        let allowed = limit + margin(limit);
        if since.elapsed() >= allowed {
            return Err(Error::Timeout {
                what: format!(
                    "{} preparing {what} (lock {}; its own limit is {limit:?}, waited {:?})",
                    holder.describe(),
                    path.display(),
                    since.elapsed()
                ),
                limit: allowed,
                variable,
            });
        }
    }
}

fn margin(limit: Duration) -> Duration {
    limit.min(MAX_MARGIN)
}

/// Opens (or creates, 0600) a lock file without following a symlink, and refuses anything but a
/// regular file of this user: only such a file is ever written.
fn open_own(path: &Path) -> Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => Error::UnsafeLockFile {
                path: path.to_owned(),
                reason: "is a symbolic link".to_owned(),
            },
            _ => Error::io("opening lock file", path, e),
        })?;
    check_own(&file, path)?;
    Ok(file)
}

/// Refuses a file in the lock folder that is not a regular file of this user.
fn check_own(file: &File, path: &Path) -> Result<()> {
    let meta = file
        .metadata()
        .map_err(|e| Error::io("inspecting lock file", path, e))?;
    let uid = config::current_uid();
    let reason = if !meta.is_file() {
        Some("is not a regular file".to_owned())
    } else if meta.uid() != uid {
        Some(format!(
            "belongs to uid {}, not to this user (uid {uid})",
            meta.uid()
        ))
    } else {
        None
    };
    match reason {
        Some(reason) => Err(Error::UnsafeLockFile {
            path: path.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

/// One lock file per image, named by a hash so any reference makes a valid file name.
fn lock_file_name(image: &str) -> PathBuf {
    let digest = hex::encode(Sha256::digest(image.as_bytes()));
    PathBuf::from(file_name(&digest[..32], Kind::Lock))
}

/// What a holder wrote into the lock file: `<pid> <limit in ms>`.
struct Holder {
    pid: Option<u32>,
    limit: Option<Duration>,
}

impl Holder {
    fn read(file: &mut File) -> Holder {
        let mut text = String::new();
        let _ = file
            .seek(SeekFrom::Start(0))
            .and_then(|_| file.read_to_string(&mut text));
        let mut words = text.split_whitespace();
        Holder {
            pid: words.next().and_then(|w| w.parse().ok()),
            limit: words
                .next()
                .and_then(|w| w.parse().ok())
                .map(Duration::from_millis),
        }
    }

    fn describe(&self) -> String {
        match self.pid {
            Some(pid) => format!("process {pid}"),
            None => "another process".to_owned(),
        }
    }
}

/// Called only on a file [`open_own`] accepted: this user's own regular file.
fn record_holder(file: &mut File, limit: Duration) -> std::io::Result<()> {
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    write!(file, "{} {}", std::process::id(), limit.as_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_names_are_stable_and_distinct() {
        assert_eq!(lock_file_name("a:1"), lock_file_name("a:1"));
        assert_ne!(lock_file_name("a:1"), lock_file_name("a:2"));
    }

    #[test]
    fn failure_records_round_trip() {
        let failure = RecordedFailure {
            pid: 42,
            message: "step `RUN x` failed: \"quoted\"".to_owned(),
            output: "line 1\nline 2".to_owned(),
        };
        assert_eq!(RecordedFailure::parse(&failure.to_json()), Some(failure));
        assert_eq!(RecordedFailure::parse("{\"pid\": 4"), None);
    }

    /// Stale, unlocked files dockside makes go; held, fresh, foreign and linked ones stay.
    #[test]
    fn pruning_removes_only_stale_unlocked_files_of_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let old = std::time::SystemTime::now() - Duration::from_secs(30 * 24 * 60 * 60);
        let make = |name: &str, stale: bool| {
            let path = dir.path().join(name);
            let file = File::create(&path).unwrap();
            if stale {
                file.set_modified(old).unwrap();
            }
            (path, file)
        };
        // One stale file of every kind dockside names.
        let stale: Vec<PathBuf> = Kind::ALL
            .into_iter()
            .map(|kind| make(&file_name("aaaa", kind), true).0)
            .collect();
        let (held, held_file) = make("cccc.lock", true);
        fs2::FileExt::try_lock_exclusive(&held_file).unwrap();
        let (fresh, _) = make("dddd.lock", false);
        let (foreign, _) = make("notes.txt", true);
        let linked = dir.path().join("eeee.lock");
        std::os::unix::fs::symlink(&foreign, &linked).unwrap();

        prune(dir.path(), STALE_AFTER);

        for gone in &stale {
            assert!(!gone.exists(), "{} was kept", gone.display());
        }
        for kept in [&held, &fresh, &foreign, &linked] {
            assert!(
                kept.symlink_metadata().is_ok(),
                "{} was removed",
                kept.display()
            );
        }
    }

    /// A locker whose file a pruner removed between its open and its lock notices, and locks
    /// the file the path names now.
    #[test]
    fn a_lock_on_a_removed_file_is_noticed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let first = open_own(&path).unwrap();
        assert!(still_named_by(&first, &path));
        std::fs::remove_file(&path).unwrap();
        assert!(!still_named_by(&first, &path));
        let second = open_own(&path).unwrap();
        assert!(!still_named_by(&first, &path));
        assert!(still_named_by(&second, &path));
    }

    #[test]
    fn margins_are_as_long_as_short_limits() {
        assert_eq!(margin(Duration::from_secs(2)), Duration::from_secs(2));
        assert_eq!(margin(Duration::from_secs(600)), MAX_MARGIN);
    }
}
