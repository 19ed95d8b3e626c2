//! The content hash of a context as the first process of a nextest run computed it, recorded in
//! the lock folder so the run's later processes use it without scanning the context again.
//!
//! Even with every digest cached, knowing that nothing changed costs one `lstat` per file, which
//! for a context of tens of thousands of files is most of a fresh process's start-up. Under
//! nextest every test is such a process, and cargo builds the test binaries once before the
//! run, so the run takes its build contexts as they were when it first hashed them: a later
//! process of the same run reads one small record instead of the whole tree.
//!
//! A record is found only by a key of everything the files' hash is for: the run
//! (`NEXTEST_RUN_ID`), the canonical context folder and Dockerfile path, the Dockerfile's bytes,
//! the build args in order and the target. Another run, another context, an edited Dockerfile or
//! other arguments name another record, so they hash afresh. The record repeats its whole key
//! and carries a checksum: a record cut short, edited or of another key is ignored, and the
//! context is scanned as if there were none. The record only says which hash to look for: an
//! image is used only when the daemon has one labelled with exactly that hash, and any build
//! scans the context again and hashes what it sends.

use std::fs;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::digests::{checksum, decode_digest};
use crate::state_file;

/// The first line of a record; a file with any other is ignored.
const HEADER: &str = "dockside run context hash v1";

/// What a recorded hash is the hash of, in this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RunKey {
    /// SHA-256 of every field of the key, length-prefixed, as 64 hex digits.
    digest: String,
}

impl RunKey {
    /// The key of the files' hash of a build of `dockerfile` (whose bytes are `dockerfile_text`)
    /// in `context_dir`, in the nextest run `run` ([`crate::config::session`]). `None` when a path
    /// cannot be made canonical: then nothing is recalled or recorded.
    pub(crate) fn new(
        run: &str,
        context_dir: &Path,
        dockerfile: &Path,
        dockerfile_text: &[u8],
        build_args: &[(String, String)],
        target: Option<&str>,
    ) -> Option<RunKey> {
        let context = fs::canonicalize(super::scan::root(context_dir)).ok()?;
        let dockerfile = fs::canonicalize(dockerfile).ok()?;
        let mut hasher = Sha256::new();
        let mut field = |bytes: &[u8]| {
            hasher.update((bytes.len() as u64).to_be_bytes());
            hasher.update(bytes);
        };
        field(HEADER.as_bytes());
        field(run.as_bytes());
        field(context.as_os_str().as_encoded_bytes());
        field(dockerfile.as_os_str().as_encoded_bytes());
        field(dockerfile_text);
        field(&(build_args.len() as u64).to_be_bytes());
        for (name, value) in build_args {
            field(name.as_bytes());
            field(value.as_bytes());
        }
        match target {
            Some(target) => {
                field(b"target");
                field(target.as_bytes());
            }
            None => field(b"no target"),
        }
        Some(RunKey {
            digest: hex::encode(hasher.finalize()),
        })
    }

    /// The files' hash a process of this run recorded for this key; `None` when there is no
    /// intact record of exactly this key.
    pub(crate) fn recall(&self) -> Option<String> {
        self.recall_from(&self.file()?)
    }

    /// Records `hash` as the files' hash for this key, for the run's later processes. Best
    /// effort: a record that cannot be written only costs them a scan.
    pub(crate) fn record(&self, hash: &str) {
        if let Some(file) = self.file() {
            self.record_in(&file, hash);
        }
    }

    /// `<lock folder>/<key>.context`.
    fn file(&self) -> Option<std::path::PathBuf> {
        state_file::path(&self.digest[..32], state_file::Kind::Context)
    }

    fn recall_from(&self, file: &Path) -> Option<String> {
        let text = state_file::read(file)?;
        let (body, sum) = text.strip_suffix('\n')?.rsplit_once('\n')?;
        if checksum(body) != sum {
            return None;
        }
        let mut lines = body.split('\n');
        let (header, key, hash) = (lines.next()?, lines.next()?, lines.next()?);
        let is_hash = decode_digest(hash).is_some();
        (header == HEADER && key == self.digest && is_hash && lines.next().is_none())
            .then(|| hash.to_owned())
    }

    fn record_in(&self, file: &Path, hash: &str) {
        let body = format!("{HEADER}\n{}\n{hash}", self.digest);
        let text = format!("{body}\n{}\n", checksum(&body));
        let _ = state_file::write(file, text.as_bytes());
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::image::context::testing::*;

    const HASH: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn key(
        run: &str,
        dir: &Path,
        text: &str,
        args: &[(&str, &str)],
        target: Option<&str>,
    ) -> RunKey {
        let args: Vec<(String, String)> = args
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        RunKey::new(
            run,
            dir,
            &dir.join("Dockerfile"),
            text.as_bytes(),
            &args,
            target,
        )
        .unwrap()
    }

    #[test]
    fn a_record_is_found_only_by_its_own_key() {
        let dir = context_dir();
        let other = context_dir();
        let records = tempfile::tempdir().unwrap();
        let file = records.path().join("r.context");
        let base = key("run-1", dir.path(), "FROM scratch\n", &[("A", "1")], None);
        base.record_in(&file, HASH);
        assert_eq!(base.recall_from(&file).as_deref(), Some(HASH));

        let others = [
            key("run-2", dir.path(), "FROM scratch\n", &[("A", "1")], None),
            key("run-1", other.path(), "FROM scratch\n", &[("A", "1")], None),
            key("run-1", dir.path(), "FROM scratch\n\n", &[("A", "1")], None),
            key("run-1", dir.path(), "FROM scratch\n", &[("A", "2")], None),
            key("run-1", dir.path(), "FROM scratch\n", &[], None),
            key(
                "run-1",
                dir.path(),
                "FROM scratch\n",
                &[("A", "1")],
                Some("t"),
            ),
        ];
        for other in others {
            assert_ne!(other, base);
            assert_eq!(other.recall_from(&file), None, "{other:?}");
        }
        // The same folder by another spelling is the same context.
        let spelled = dir.path().join("../").join(dir.path().file_name().unwrap());
        assert_eq!(
            key("run-1", &spelled, "FROM scratch\n", &[("A", "1")], None),
            base
        );
    }

    #[test]
    fn a_damaged_record_is_ignored() {
        let dir = context_dir();
        let records = tempfile::tempdir().unwrap();
        let file = records.path().join("r.context");
        let key = key("run-1", dir.path(), "FROM scratch\n", &[], None);
        key.record_in(&file, HASH);
        let good = fs::read_to_string(&file).unwrap();
        let flipped = HASH.replacen('0', "1", 1);
        let damaged = [
            good.replacen(HASH, &flipped, 1),
            good[..good.len() - 10].to_owned(),
            good.replacen(HEADER, "dockside run context hash v0", 1),
            good.lines().take(3).collect::<Vec<_>>().join("\n"),
            String::new(),
            "garbage\n".to_owned(),
        ];
        for text in damaged {
            fs::write(&file, &text).unwrap();
            assert_eq!(key.recall_from(&file), None, "{text:?}");
        }
        // A record whose checksum was made to match still needs a well-formed hash.
        let body = format!("{HEADER}\n{}\nnot-a-hash", key.digest);
        fs::write(&file, format!("{body}\n{}\n", checksum(&body))).unwrap();
        assert_eq!(key.recall_from(&file), None);
        fs::write(&file, &good).unwrap();
        assert_eq!(key.recall_from(&file).as_deref(), Some(HASH));
    }
}
