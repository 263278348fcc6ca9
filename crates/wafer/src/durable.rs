//! Files that must survive a crash or a power cut whole: written to a
//! temporary file, synced, renamed into place, and the directory synced, so
//! that after a crash the path holds either the old content or the new, never
//! a truncated mix (a rename alone may reach the disk before the data does).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

/// Replaces `path` with `bytes` through the temporary file `tmp` (same directory).
pub(crate) fn write_atomic(path: &Path, tmp: &Path, bytes: &[u8]) -> io::Result<()> {
    replace(path, tmp, bytes, false)
}

/// As [`write_atomic`], for secrets (private keys, tokens): the file is
/// made readable by its owner only, before anything is written to it.
pub(crate) fn write_atomic_private(path: &Path, tmp: &Path, bytes: &[u8]) -> io::Result<()> {
    replace(path, tmp, bytes, true)
}

fn replace(path: &Path, tmp: &Path, bytes: &[u8], private: bool) -> io::Result<()> {
    if let Err(e) = write_synced(tmp, bytes, private).and_then(|()| std::fs::rename(tmp, path)) {
        // Best effort: a failed write leaves no stray temporary file behind.
        let _ = std::fs::remove_file(tmp);
        return Err(e);
    }
    sync_dir(path)
}

fn write_synced(path: &Path, bytes: &[u8], private: bool) -> io::Result<()> {
    let mut opts = OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Makes the rename itself durable: the directory entry lives in the directory.
fn sync_dir(path: &Path) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_whole_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.json");
        let tmp = dir.path().join("policy.json.tmp");
        std::fs::write(&path, b"old").unwrap();
        let big = vec![b'x'; 3 * 1024 * 1024];
        write_atomic(&path, &tmp, &big).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), big);
        assert!(!tmp.exists());
    }

    #[test]
    fn a_failed_write_keeps_the_old_file_and_removes_the_temporary_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ACTIVE");
        std::fs::write(&path, b"v1\n").unwrap();
        // A directory where the file should go: the rename fails.
        let tmp = dir.path().join("ACTIVE.tmp");
        let blocked = dir.path().join("sub");
        std::fs::create_dir_all(blocked.join("x")).unwrap();
        assert!(write_atomic(&blocked, &tmp, b"v2\n").is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"v1\n");
        assert!(!tmp.exists());
    }
}
