//! The digest cache: per-file SHA-256 digests kept in the lock folder, so a big context is read
//! again only where it changed, by every process and every run.
//!
//! A cached digest is used only when the file's size, mtime, ctime, inode and device are exactly
//! what they were when it was read. Like git's index, a file changed in the same clock tick as it
//! was read could keep all of those; so a digest is stored only for a file whose mtime and ctime
//! lie [`RACY`] or more before the hashing began, and a later change then always moves its ctime
//! (which no user call can set back). The cache file carries a checksum of its records: a torn,
//! truncated or edited cache is ignored whole. The cache is an optimisation only: every failure
//! to read or write it means reading the files, never a different hash.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use crate::state_file;

/// The first line of a cache file; a file with any other is ignored.
const HEADER: &str = "dockside digest cache v1";
/// How recent a change may be for its digest to go unstored: above any file system's timestamp
/// granularity (FAT's is 2 s) and small clock steps.
const RACY: Duration = Duration::from_secs(3);

/// What identifies one version of a file without reading it, taken from the scan's `lstat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Stamp {
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
    inode: u64,
    device: u64,
}

impl Stamp {
    pub(crate) fn of(meta: &fs::Metadata) -> Stamp {
        let ns = |secs: i64, nanos: i64| i128::from(secs) * 1_000_000_000 + i128::from(nanos);
        Stamp {
            size: meta.len(),
            mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
            ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
            inode: meta.ino(),
            device: meta.dev(),
        }
    }
}

/// The digests known for one context, and those learnt while hashing it.
pub(crate) struct Digests {
    /// Where the cache lives; `None` keeps it in memory only.
    file: Option<PathBuf>,
    known: HashMap<String, (Stamp, [u8; 32])>,
    /// The digests of this hashing that may be stored, by entry path.
    used: Vec<(String, Stamp, [u8; 32])>,
    /// Whether `used` differs from what the file holds, so it is worth writing.
    changed: bool,
    /// Changes at or after this instant (ns since the epoch) are too recent to trust.
    racy_from_ns: i128,
}

impl Digests {
    /// The shared cache of the context at `root`: `<lock folder>/<hash of the canonical
    /// root>.digests`. Without a usable lock folder, a cache in memory only.
    pub(crate) fn shared(root: &Path) -> Digests {
        let file = fs::canonicalize(root).ok().and_then(|real| {
            let key = hex::encode(Sha256::digest(real.as_os_str().as_encoded_bytes()));
            state_file::path(&format!("{}.digests", &key[..32]))
        });
        Digests::at(file)
    }

    /// A cache kept in `file` (`None`: in memory only).
    pub(crate) fn at(file: Option<PathBuf>) -> Digests {
        // Taken before any file is read: a change after this is at or after it.
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let known = file.as_deref().and_then(load).unwrap_or_default();
        Digests {
            file,
            known,
            used: Vec::new(),
            changed: false,
            racy_from_ns: i128::try_from(now.saturating_sub(RACY).as_nanos()).unwrap_or(0),
        }
    }

    /// A cache that trusts changes up to now, for tests that cannot wait out [`RACY`].
    #[cfg(test)]
    pub(crate) fn trusting_now(file: PathBuf) -> Digests {
        Digests {
            racy_from_ns: i128::MAX,
            ..Digests::at(Some(file))
        }
    }

    /// The SHA-256 of the `size` bytes `read` yields for the file at entry `path`, whose scan
    /// saw `stamp`: from the cache when the stamp matches, else read (and remembered).
    pub(crate) fn digest(
        &mut self,
        path: &str,
        stamp: &Stamp,
        read: impl FnOnce() -> io::Result<Box<dyn Read>>,
    ) -> io::Result<[u8; 32]> {
        let cached = self
            .known
            .get(path)
            .filter(|(known, _)| known == stamp)
            .map(|(_, digest)| *digest);
        let digest = match cached {
            Some(digest) => digest,
            None => self.digest_uncached(read)?,
        };
        let storable = stamp.mtime_ns < self.racy_from_ns
            && stamp.ctime_ns < self.racy_from_ns
            && !path.contains('\n');
        if storable {
            self.changed |= cached.is_none();
            self.used.push((path.to_owned(), *stamp, digest));
        }
        Ok(digest)
    }

    /// The SHA-256 of what `read` yields, for a file without a stamp.
    pub(crate) fn digest_uncached(
        &self,
        read: impl FnOnce() -> io::Result<Box<dyn Read>>,
    ) -> io::Result<[u8; 32]> {
        let mut hasher = Sha256::new();
        io::copy(&mut read()?, &mut hasher)?;
        Ok(hasher.finalize().into())
    }

    /// Writes what this hashing learnt, when it learnt anything or files went away: best effort,
    /// and atomic (a new file renamed over the old), so a reader never sees half of it.
    pub(crate) fn save(self) {
        let Some(file) = &self.file else { return };
        if !self.changed && self.used.len() == self.known.len() {
            return;
        }
        let mut body = String::with_capacity(self.used.len() * 120);
        for (path, s, digest) in &self.used {
            body.push_str(&format!(
                "{} {} {} {} {} {} {path}\n",
                s.size,
                s.mtime_ns,
                s.ctime_ns,
                s.inode,
                s.device,
                hex::encode(digest)
            ));
        }
        let checksum = hex::encode(Sha256::digest(body.as_bytes()));
        let _ = state_file::write(file, format!("{HEADER}\n{checksum}\n{body}").as_bytes());
    }
}

/// The records of a cache file; `None` when it is missing, unreadable or fails its checksum.
fn load(file: &Path) -> Option<HashMap<String, (Stamp, [u8; 32])>> {
    let text = state_file::read(file)?;
    let rest = text.strip_prefix(HEADER)?.strip_prefix('\n')?;
    let (checksum, body) = rest.split_once('\n')?;
    if hex::encode(Sha256::digest(body.as_bytes())) != checksum {
        return None;
    }
    body.lines().map(parse_record).collect()
}

fn parse_record(line: &str) -> Option<(String, (Stamp, [u8; 32]))> {
    let mut fields = line.splitn(7, ' ');
    let mut next = || fields.next();
    let stamp = Stamp {
        size: next()?.parse().ok()?,
        mtime_ns: next()?.parse().ok()?,
        ctime_ns: next()?.parse().ok()?,
        inode: next()?.parse().ok()?,
        device: next()?.parse().ok()?,
    };
    let digest: [u8; 32] = hex::decode(next()?).ok()?.try_into().ok()?;
    Some((next()?.to_owned(), (stamp, digest)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(size: u64, mtime_ns: i128) -> Stamp {
        Stamp {
            size,
            mtime_ns,
            ctime_ns: mtime_ns,
            inode: 7,
            device: 1,
        }
    }

    /// A reader that counts how often the file was read.
    fn reading<'a>(
        content: &'static [u8],
        reads: &'a std::cell::Cell<u32>,
    ) -> impl FnOnce() -> io::Result<Box<dyn Read>> + 'a {
        move || {
            reads.set(reads.get() + 1);
            Ok(Box::new(content))
        }
    }

    const OLD: i128 = 1_000_000_000_000_000_000;

    #[test]
    fn an_unchanged_file_is_read_once_across_caches() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.digests");
        let reads = std::cell::Cell::new(0);
        let mut first = Digests::at(Some(file.clone()));
        let digest = first
            .digest("a", &stamp(3, OLD), reading(b"abc", &reads))
            .unwrap();
        assert_eq!(digest, <[u8; 32]>::from(Sha256::digest(b"abc")));
        first.save();
        let mut second = Digests::at(Some(file.clone()));
        let again = second
            .digest("a", &stamp(3, OLD), reading(b"xyz", &reads))
            .unwrap();
        assert_eq!((again, reads.get()), (digest, 1), "served from the cache");
    }

    #[test]
    fn any_change_of_the_stamp_reads_the_file_again() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.digests");
        let mut first = Digests::at(Some(file.clone()));
        let reads = std::cell::Cell::new(0);
        first
            .digest("a", &stamp(3, OLD), reading(b"abc", &reads))
            .unwrap();
        first.save();
        let changes = [
            Stamp {
                size: 4,
                ..stamp(3, OLD)
            },
            Stamp {
                mtime_ns: OLD + 1,
                ..stamp(3, OLD)
            },
            // Same size and mtime (restored with `touch -d`): the ctime still moved.
            Stamp {
                ctime_ns: OLD + 1,
                ..stamp(3, OLD)
            },
            // Replaced by another file (a rename over it, or a checkout).
            Stamp {
                inode: 8,
                ..stamp(3, OLD)
            },
            Stamp {
                device: 2,
                ..stamp(3, OLD)
            },
        ];
        for changed in changes {
            let reads = std::cell::Cell::new(0);
            let digest = Digests::at(Some(file.clone()))
                .digest("a", &changed, reading(b"xyz", &reads))
                .unwrap();
            assert_eq!(
                digest,
                <[u8; 32]>::from(Sha256::digest(b"xyz")),
                "{changed:?}"
            );
            assert_eq!(reads.get(), 1);
        }
        let reads = std::cell::Cell::new(0);
        Digests::at(Some(file))
            .digest("b", &stamp(3, OLD), reading(b"xyz", &reads))
            .unwrap();
        assert_eq!(
            reads.get(),
            1,
            "another path with the same stamp is another file"
        );
    }

    #[test]
    fn a_file_changed_in_the_racy_window_is_not_stored() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.digests");
        let now = i128::try_from(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos(),
        )
        .unwrap();
        let reads = std::cell::Cell::new(0);
        let mut first = Digests::at(Some(file.clone()));
        first
            .digest("new", &stamp(3, now), reading(b"abc", &reads))
            .unwrap();
        first
            .digest("old", &stamp(3, OLD), reading(b"abc", &reads))
            .unwrap();
        first.save();
        // "new" may have been written again in the same tick, after it was read.
        let mut second = Digests::at(Some(file));
        let digest = second
            .digest("new", &stamp(3, now), reading(b"xyz", &reads))
            .unwrap();
        assert_eq!(digest, <[u8; 32]>::from(Sha256::digest(b"xyz")));
        second
            .digest("old", &stamp(3, OLD), reading(b"xyz", &reads))
            .unwrap();
        assert_eq!(
            reads.get(),
            3,
            "only the old file was served from the cache"
        );
    }

    #[test]
    fn a_corrupt_or_truncated_cache_is_ignored_whole() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.digests");
        let reads = std::cell::Cell::new(0);
        let mut first = Digests::at(Some(file.clone()));
        first
            .digest("a", &stamp(3, OLD), reading(b"abc", &reads))
            .unwrap();
        first
            .digest("b", &stamp(3, OLD), reading(b"abc", &reads))
            .unwrap();
        first.save();
        let good = fs::read_to_string(&file).unwrap();
        let wrong = hex::encode(Sha256::digest(b"forged"));
        let right = hex::encode(Sha256::digest(b"abc"));
        let damaged = [
            // One digest changed, the checksum left as it was.
            good.replacen(&right, &wrong, 1),
            // Cut in the middle of the last record.
            good[..good.len() - 20].to_owned(),
            // Cut after a whole record.
            good[..=good.match_indices('\n').nth(2).unwrap().0].to_owned(),
            "garbage\n".to_owned(),
            String::new(),
            good.replacen(HEADER, "dockside digest cache v0", 1),
        ];
        for text in damaged {
            fs::write(&file, &text).unwrap();
            let reads = std::cell::Cell::new(0);
            let digest = Digests::at(Some(file.clone()))
                .digest("a", &stamp(3, OLD), reading(b"xyz", &reads))
                .unwrap();
            assert_eq!(reads.get(), 1, "{text:?}");
            assert_eq!(digest, <[u8; 32]>::from(Sha256::digest(b"xyz")));
        }
        fs::write(&file, &good).unwrap();
        let reads = std::cell::Cell::new(0);
        Digests::at(Some(file))
            .digest("a", &stamp(3, OLD), reading(b"xyz", &reads))
            .unwrap();
        assert_eq!(reads.get(), 0, "the intact file is used");
    }

    #[test]
    fn an_unwritable_cache_still_hashes() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("missing-folder/c.digests");
        let reads = std::cell::Cell::new(0);
        let mut digests = Digests::at(Some(file.clone()));
        let digest = digests
            .digest("a", &stamp(3, OLD), reading(b"abc", &reads))
            .unwrap();
        digests.save();
        assert_eq!(digest, <[u8; 32]>::from(Sha256::digest(b"abc")));
        assert!(!file.exists());
    }
}
