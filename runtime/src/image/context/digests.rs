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

    /// Adds every field to a listing's fingerprint.
    pub(crate) fn feed(&self, fingerprint: &mut Fnv128) {
        for n in [
            self.size,
            self.inode,
            self.device,
            self.mtime_ns as u64,
            (self.mtime_ns >> 64) as u64,
            self.ctime_ns as u64,
            (self.ctime_ns >> 64) as u64,
        ] {
            fingerprint.write(&n.to_le_bytes());
        }
    }
}

/// The digests known for one context, and those learnt while hashing it.
pub(crate) struct Digests {
    /// Where the cache lives; `None` keeps it in memory only.
    file: Option<PathBuf>,
    /// The digests read from the file, parsed on first use: a listing that matches the memo
    /// needs none of them.
    known: Option<HashMap<String, (Stamp, [u8; 32])>>,
    /// The file's records, not parsed yet.
    unparsed: Option<String>,
    /// The digests of this hashing that may be stored, by entry path.
    used: Vec<(String, Stamp, [u8; 32])>,
    /// Whether `used` differs from what the file holds, so it is worth writing.
    changed: bool,
    /// Changes at or after this instant (ns since the epoch) are too recent to trust.
    racy_from_ns: i128,
    /// The content hash last computed, and the fingerprint of the listing it was computed for.
    memo: Option<(u128, String)>,
    /// Whether every file digested so far may be stored (none changed too recently).
    all_storable: bool,
}

impl Digests {
    /// The shared cache of the context at `root`: `<lock folder>/<hash of the canonical
    /// root>.digests`. Without a usable lock folder, a cache in memory only.
    pub(crate) fn shared(root: &Path) -> Digests {
        let file = fs::canonicalize(root).ok().and_then(|real| {
            let key = hex::encode(Sha256::digest(real.as_os_str().as_encoded_bytes()));
            state_file::path(&key[..32], state_file::Kind::Digests)
        });
        Digests::at(file)
    }

    /// A cache kept in `file` (`None`: in memory only).
    pub(crate) fn at(file: Option<PathBuf>) -> Digests {
        // Taken before any file is read: a change after this is at or after it.
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let (memo, unparsed) = file.as_deref().and_then(load).unwrap_or_default();
        Digests {
            file,
            known: None,
            unparsed,
            used: Vec::new(),
            changed: false,
            racy_from_ns: i128::try_from(now.saturating_sub(RACY).as_nanos()).unwrap_or(0),
            memo,
            all_storable: true,
        }
    }

    /// The content hash computed before for a listing with this `fingerprint` (every entry's
    /// path, kind, mode, stamp and link target, the Dockerfile, the build args and target):
    /// nothing in it changed since, so neither did the hash.
    pub(crate) fn memo(&self, fingerprint: u128) -> Option<&str> {
        self.memo
            .as_ref()
            .filter(|(known, _)| *known == fingerprint)
            .map(|(_, hash)| hash.as_str())
    }

    /// Remembers `hash` for the listing `fingerprint`, once every file was digested, and only
    /// if none of them changed too recently to be trusted.
    pub(crate) fn set_memo(&mut self, fingerprint: u128, hash: &str) {
        if self.all_storable && self.memo(fingerprint) != Some(hash) {
            self.memo = Some((fingerprint, hash.to_owned()));
            self.changed = true;
        }
    }

    /// The digests the file holds, parsed now if not yet; none when its records are damaged.
    fn known(&mut self) -> &HashMap<String, (Stamp, [u8; 32])> {
        let unparsed = &mut self.unparsed;
        self.known.get_or_insert_with(|| {
            unparsed
                .take()
                .and_then(|text| parse_records(&text))
                .unwrap_or_default()
        })
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
            .known()
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
        } else {
            self.all_storable = false;
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
    pub(crate) fn save(mut self) {
        if self.file.is_none() || !self.changed && self.used.len() == self.known().len() {
            return;
        }
        let memo = match &self.memo {
            Some((fingerprint, hash)) => format!("memo {fingerprint:032x} {hash}"),
            None => "memo".to_owned(),
        };
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
        let text = format!(
            "{HEADER}\n{memo} {}\n{}\n{body}",
            checksum(&memo),
            checksum(&body)
        );
        if let Some(file) = &self.file {
            let _ = state_file::write(file, text.as_bytes());
        }
    }
}

/// What a cache file holds: the memo, and the digest records, unparsed.
type Loaded = (Option<(u128, String)>, Option<String>);

/// The memo and the records of a cache file: `HEADER`, the memo line (`memo [FINGERPRINT
/// HASH] CHECKSUM`), the records' checksum, the records. `None` when the file is missing,
/// unreadable or not of this version, or the memo line fails its checksum.
fn load(file: &Path) -> Option<Loaded> {
    // A context hashed every day may leave its cache unwritten for weeks; the prune must not
    // take it for a cache of a context that is gone.
    let text = state_file::read_in_use(file)?;
    let rest = text.strip_prefix(HEADER)?.strip_prefix('\n')?;
    let (memo_line, records) = rest.split_once('\n')?;
    let (memo, sum) = memo_line.rsplit_once(' ')?;
    if checksum(memo) != sum {
        return None;
    }
    let memo = match memo.strip_prefix("memo ") {
        Some(memo) => {
            let (fingerprint, hash) = memo.split_once(' ')?;
            Some((u128::from_str_radix(fingerprint, 16).ok()?, hash.to_owned()))
        }
        None => None,
    };
    Some((memo, Some(records.to_owned())))
}

/// The digest records after the memo line; `None` when they fail their checksum.
fn parse_records(text: &str) -> Option<HashMap<String, (Stamp, [u8; 32])>> {
    let (sum, body) = text.split_once('\n')?;
    if checksum(body) != sum {
        return None;
    }
    body.lines().map(parse_record).collect()
}

/// The checksum a record file carries for `text`: its [`Fnv128`] as 32 hex digits.
pub(crate) fn checksum(text: &str) -> String {
    let mut hash = Fnv128::new();
    hash.write(text.as_bytes());
    format!("{:032x}", hash.finish())
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
    let digest = decode_digest(next()?)?;
    Some((next()?.to_owned(), (stamp, digest)))
}

/// The 32 bytes of a digest written as 64 hex digits (hex's decoder, generic, is slow in the
/// unoptimised builds tests run in, and a cache holds tens of thousands of digests).
pub(crate) fn decode_digest(text: &str) -> Option<[u8; 32]> {
    let text = text.as_bytes();
    if text.len() != 64 {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut digest = [0u8; 32];
    for (byte, pair) in digest.iter_mut().zip(text.chunks_exact(2)) {
        *byte = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(digest)
}

/// FNV-1a, 128 bits: the cache file's checksum and the listing's fingerprint. Not SHA-256:
/// test crates build their dependencies unoptimised, where SHA-256 runs at a few MB/s, and
/// these guard against damage and change, not against an attacker (the lock folder is the
/// user's own).
pub(crate) struct Fnv128(u128);

impl Fnv128 {
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013B;

    pub(crate) fn new() -> Fnv128 {
        Fnv128(0x6c62_272e_07bb_0142_62b8_2175_6295_c58d)
    }

    pub(crate) fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0 ^ u128::from(*byte)).wrapping_mul(Self::PRIME);
        }
    }

    /// Writes `bytes` with its length first, so fields cannot run into each other.
    pub(crate) fn field(&mut self, bytes: &[u8]) {
        self.write(&(bytes.len() as u64).to_le_bytes());
        self.write(bytes);
    }

    pub(crate) fn finish(&self) -> u128 {
        self.0
    }
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
    fn a_memo_is_used_only_intact_and_for_its_own_listing() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.digests");
        let reads = std::cell::Cell::new(0);
        let mut first = Digests::at(Some(file.clone()));
        first
            .digest("a", &stamp(3, OLD), reading(b"abc", &reads))
            .unwrap();
        first.set_memo(7, "the-hash");
        first.save();
        let loaded = Digests::at(Some(file.clone()));
        assert_eq!(loaded.memo(7), Some("the-hash"));
        assert_eq!(loaded.memo(8), None, "another listing");
        let good = fs::read_to_string(&file).unwrap();
        fs::write(&file, good.replacen("the-hash", "the-hasx", 1)).unwrap();
        assert_eq!(Digests::at(Some(file.clone())).memo(7), None, "damaged");

        // A listing with a file changed too recently gets no memo.
        let now = i128::try_from(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos(),
        )
        .unwrap();
        let mut racy = Digests::at(Some(file.clone()));
        racy.digest("a", &stamp(3, now), reading(b"abc", &reads))
            .unwrap();
        racy.set_memo(9, "racy-hash");
        racy.save();
        assert_eq!(Digests::at(Some(file)).memo(9), None);
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
