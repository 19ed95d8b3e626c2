//! The content hash of a build: what decides whether an image must be built again.

use std::borrow::Cow;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::digests::Fnv128;
use super::{read_error, Context, ContextError, Digests, Entry, EntryKind, SizedFile};

/// Versions the hash encoding: bump it when the encoding changes (v2: a file counts by the
/// SHA-256 of its content, which the digest cache can keep).
const HASH_DOMAIN: &[u8] = b"dockside build context v2";

/// SHA-256 over length-prefixed fields, so no two different inputs encode alike.
struct FieldHasher(Sha256);

impl FieldHasher {
    fn number(&mut self, n: u64) {
        self.0.update(n.to_be_bytes());
    }

    fn bytes(&mut self, bytes: &[u8]) {
        self.number(bytes.len() as u64);
        self.0.update(bytes);
    }
}

impl Context {
    /// A SHA-256 (64 hex digits) of everything that makes up the build: every entry's
    /// path, kind, mode bits, file content and symlink target, the Dockerfile and its
    /// name, the build args (sorted by name) and the target stage.
    ///
    /// Excluded files, mtimes and owners do not count, so the hash is the same across
    /// runs and machines for the same content.
    ///
    /// Files unchanged since a process hashed them before are not read again: their digests
    /// come from the context's shared cache ([`Digests::shared`]), which this updates.
    pub(crate) fn content_hash(
        &self,
        build_args: &[(String, String)],
        target: Option<&str>,
    ) -> Result<String, ContextError> {
        self.content_hash_cached(Digests::shared(&self.root), build_args, target)
    }

    /// [`Context::content_hash`] with the cache `digests`: the memo when the listing is
    /// unchanged, else the digests, which are saved with what was learnt.
    pub(crate) fn content_hash_cached(
        &self,
        mut digests: Digests,
        build_args: &[(String, String)],
        target: Option<&str>,
    ) -> Result<String, ContextError> {
        let fingerprint = self.fingerprint(build_args, target);
        if let Some(hash) = fingerprint.and_then(|f| digests.memo(f)) {
            return Ok(hash.to_owned());
        }
        let hash = self.content_hash_with(&mut digests, build_args, target)?;
        if let Some(fingerprint) = fingerprint {
            digests.set_memo(fingerprint, &hash);
        }
        digests.save();
        Ok(hash)
    }

    /// What the content hash depends on, short of reading the files: every entry's path, kind,
    /// mode, stamp and link target, the Dockerfile, the build args and the target. Cheap to
    /// compute (no SHA-256, which is slow in the unoptimised builds tests run in), so an
    /// unchanged context of many files costs its scan and little more. `None` when a file has no
    /// stamp, so nothing could tell that it changed.
    fn fingerprint(&self, build_args: &[(String, String)], target: Option<&str>) -> Option<u128> {
        let mut fingerprint = Fnv128::new();
        fingerprint.field(HASH_DOMAIN);
        for entry in &self.entries {
            fingerprint.field(entry.path.as_bytes());
            fingerprint.write(&entry.mode.to_le_bytes());
            match &entry.kind {
                EntryKind::File { size } => {
                    fingerprint.field(b"file");
                    fingerprint.write(&size.to_le_bytes());
                    entry.stamp.as_ref()?.feed(&mut fingerprint);
                }
                EntryKind::Dir => fingerprint.field(b"dir"),
                EntryKind::Symlink { target } => {
                    fingerprint.field(b"symlink");
                    fingerprint.field(&path_bytes(target));
                }
            }
        }
        fingerprint.field(self.dockerfile.name.as_bytes());
        fingerprint.field(&self.dockerfile.content);
        for (name, value) in build_args {
            fingerprint.field(name.as_bytes());
            fingerprint.field(value.as_bytes());
        }
        fingerprint.write(&(build_args.len() as u64).to_le_bytes());
        match target {
            Some(target) => {
                fingerprint.field(b"target");
                fingerprint.field(target.as_bytes());
            }
            None => fingerprint.field(b"no target"),
        }
        Some(fingerprint.finish())
    }

    /// [`Context::content_hash`] with the file digests taken from, and added to, `digests`.
    pub(crate) fn content_hash_with(
        &self,
        digests: &mut Digests,
        build_args: &[(String, String)],
        target: Option<&str>,
    ) -> Result<String, ContextError> {
        let mut hasher = FieldHasher(Sha256::new());
        hasher.bytes(HASH_DOMAIN);
        hasher.number(self.entries.len() as u64);
        for entry in &self.entries {
            self.hash_entry(&mut hasher, digests, entry)?;
        }
        hasher.bytes(self.dockerfile.name.as_bytes());
        hasher.bytes(&self.dockerfile.content);
        let mut args: Vec<&(String, String)> = build_args.iter().collect();
        // Stable, so repeated names keep their order and the last one still wins.
        args.sort_by(|a, b| a.0.cmp(&b.0));
        hasher.number(args.len() as u64);
        for (name, value) in args {
            hasher.bytes(name.as_bytes());
            hasher.bytes(value.as_bytes());
        }
        match target {
            Some(target) => {
                hasher.number(1);
                hasher.bytes(target.as_bytes());
            }
            None => hasher.number(0),
        }
        Ok(hex::encode(hasher.0.finalize()))
    }

    fn hash_entry(
        &self,
        hasher: &mut FieldHasher,
        digests: &mut Digests,
        entry: &Entry,
    ) -> Result<(), ContextError> {
        hasher.bytes(entry.path.as_bytes());
        hasher.number(u64::from(entry.mode));
        match &entry.kind {
            EntryKind::File { size } => {
                hasher.bytes(b"file");
                // The digest is of exactly `size` bytes: `SizedFile` yields that many or fails.
                hasher.number(*size);
                let full = self.root.join(&entry.path);
                let read = || SizedFile::open(&full, *size).map(|f| Box::new(f) as Box<_>);
                let digest = match &entry.stamp {
                    Some(stamp) => digests.digest(&entry.path, stamp, read),
                    None => digests.digest_uncached(read),
                }
                .map_err(|source| read_error(&full, source))?;
                hasher.0.update(digest);
            }
            EntryKind::Dir => hasher.bytes(b"dir"),
            EntryKind::Symlink { target } => {
                hasher.bytes(b"symlink");
                hasher.bytes(&path_bytes(target));
            }
        }
        Ok(())
    }
}

#[cfg(unix)]
fn path_bytes(path: &Path) -> Cow<'_, [u8]> {
    use std::os::unix::ffi::OsStrExt;
    Cow::Borrowed(path.as_os_str().as_bytes())
}

#[cfg(not(unix))]
fn path_bytes(path: &Path) -> Cow<'_, [u8]> {
    match path.to_string_lossy() {
        Cow::Borrowed(text) => Cow::Borrowed(text.as_bytes()),
        Cow::Owned(text) => Cow::Owned(text.into_bytes()),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    use crate::image::context::testing::*;

    #[test]
    fn hash_follows_content_mode_dockerfile_args_and_target() {
        let dir = context_dir();
        write(dir.path(), "run.sh", "echo");
        let context = scan_dir(dir.path());
        let base = context.content_hash(&[], None).unwrap();
        assert_eq!(base.len(), 64);
        assert!(base.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(
            context.content_hash(&[], None).unwrap(),
            base,
            "deterministic"
        );

        let args = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let ab = context
            .content_hash(&args(&[("A", "1"), ("B", "2")]), None)
            .unwrap();
        let ba = context
            .content_hash(&args(&[("B", "2"), ("A", "1")]), None)
            .unwrap();
        assert_eq!(ab, ba, "build args are sorted");
        assert_ne!(ab, base);
        assert_ne!(
            context.content_hash(&args(&[("A", "12")]), None).unwrap(),
            context.content_hash(&args(&[("A1", "2")]), None).unwrap()
        );
        assert_ne!(
            context
                .content_hash(&args(&[("A", "1"), ("B", "2")]), None)
                .unwrap(),
            context
                .content_hash(&args(&[("A", "1"), ("B", "3")]), None)
                .unwrap()
        );
        let targeted = context.content_hash(&[], Some("test")).unwrap();
        assert_ne!(targeted, base);
        assert_ne!(context.content_hash(&[], Some("")).unwrap(), base);

        fs::set_permissions(dir.path().join("run.sh"), fs::Permissions::from_mode(0o755)).unwrap();
        let executable = hash(dir.path());
        assert_ne!(executable, base, "mode bits count");
        write(dir.path(), "Dockerfile", "FROM scratch\n");
        assert_ne!(hash(dir.path()), executable, "the dockerfile counts");
    }

    #[test]
    fn hash_ignores_mtimes_and_location() {
        let one = context_dir();
        let two = context_dir();
        for dir in [&one, &two] {
            write(dir.path(), "a/b.txt", "same");
        }
        let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        fs::File::options()
            .write(true)
            .open(two.path().join("a/b.txt"))
            .unwrap()
            .set_modified(old)
            .unwrap();
        assert_eq!(hash(one.path()), hash(two.path()));
        let tar_one = scan_dir(one.path()).write_tar(Vec::new()).unwrap();
        let tar_two = scan_dir(two.path()).write_tar(Vec::new()).unwrap();
        assert_eq!(tar_one, tar_two, "the archive is reproducible");
    }
}
