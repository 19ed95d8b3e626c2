//! The cross-process build lock: one advisory file lock per image, in a per-user folder.
//!
//! The OS releases an `fs2` lock when its holder dies, so a builder killed mid-build never wedges
//! the processes waiting behind it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

use sha2::{Digest, Sha256};

use crate::config;
use crate::error::{Error, Result};

/// Held while this process inspects and builds (or pulls) one image.
pub(crate) struct ImageLock {
    file: File,
}

impl ImageLock {
    /// Blocks until this process holds the lock for `image`.
    ///
    /// While another process holds it, says so on stderr, naming the image and the holder's pid
    /// (which each holder writes into the file): a test waiting a minute for someone else's
    /// build should not look hung.
    pub(crate) fn acquire(image: &str) -> Result<ImageLock> {
        let dir = config::lock_dir();
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("creating lock folder", &dir, e))?;
        let path = dir.join(lock_file_name(image));
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io("opening lock file", &path, e))?;
        if fs2::FileExt::try_lock_exclusive(&file).is_err() {
            eprintln!(
                "dockside: waiting for {} to finish preparing image {image} (lock {})",
                holder(&mut file),
                path.display()
            );
            fs2::FileExt::lock_exclusive(&file).map_err(|e| Error::io("locking", &path, e))?;
        }
        record_holder(&mut file).map_err(|e| Error::io("writing lock file", &path, e))?;
        Ok(ImageLock { file })
    }
}

impl Drop for ImageLock {
    fn drop(&mut self) {
        // Closing the file would release the lock too; unlocking first says what we mean.
        let _ = fs2::FileExt::unlock(&self.file);
    }
}

/// One lock file per image, named by a hash so any reference makes a valid file name.
fn lock_file_name(image: &str) -> PathBuf {
    let digest = hex::encode(Sha256::digest(image.as_bytes()));
    PathBuf::from(format!("{}.lock", &digest[..32]))
}

fn holder(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file
        .seek(SeekFrom::Start(0))
        .and_then(|_| file.read_to_string(&mut text));
    match text.trim() {
        "" => "another process".to_owned(),
        pid => format!("process {pid}"),
    }
}

fn record_holder(file: &mut File) -> std::io::Result<()> {
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    write!(file, "{}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_names_are_stable_and_distinct() {
        assert_eq!(lock_file_name("a:1"), lock_file_name("a:1"));
        assert_ne!(lock_file_name("a:1"), lock_file_name("a:2"));
    }
}
