// SPDX-License-Identifier: Apache-2.0
//! Crash-safe file writes and the cross-process lock, used for every vault and keystore file.
//!
//! Guarantees:
//! - [`write_atomic`] writes a temporary file in the same directory, fsyncs it, renames it
//!   over the target and fsyncs the directory. A kill or power loss at any point leaves the
//!   target either with its old content or with the new one, never a mix (POSIX `rename`
//!   is atomic; the directory fsync makes the rename durable).
//! - New files are created with mode `0600` on Unix.
//! - [`DirLock`] is an exclusive advisory lock (`flock` on Unix) on a lock file; the OS
//!   releases it when the holder dies, so a killed process never leaves the vault locked.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Largest file [`read`] accepts, so a planted huge file cannot exhaust memory.
pub(crate) const MAX_FILE_LEN: u64 = 64 * 1024 * 1024;

/// Prefix of temporary files (hidden; leftovers after a crash are removed by wipe).
pub(crate) const TEMP_PREFIX: &str = ".tmp.";

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Opens `path` for writing a new file, `0600` on Unix, failing if it exists.
fn create_new_private(path: &Path) -> io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
}

fn temp_path(dir: &Path, name: &str) -> PathBuf {
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    dir.join(format!("{TEMP_PREFIX}{name}.{}.{n}", std::process::id()))
}

/// Makes the directory entries of `dir` durable (renames, creations, deletions).
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
    }
    Ok(())
}

/// Writes `bytes` to a new, fsynced temporary file beside `dir/name` and returns its path,
/// so the caller can publish it (rename or link).
fn write_temp(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<PathBuf> {
    crash_point(dir)?;
    let tmp = temp_path(dir, name);
    let result = (|| {
        let mut f = create_new_private(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(tmp)
}

/// Replaces `dir/name` with `bytes` atomically and durably (see the module docs).
pub(crate) fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    let tmp = write_temp(dir, name, bytes)?;
    crash_point(dir)?;
    if let Err(e) = fs::rename(&tmp, dir.join(name)) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    crash_point(dir)?;
    sync_dir(dir)
}

/// Creates `dir/name` with `bytes` atomically and durably only if it does not exist yet.
/// Returns `Ok(false)` (and leaves the existing file alone) when another writer won.
pub(crate) fn create_atomic(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<bool> {
    let tmp = write_temp(dir, name, bytes)?;
    crash_point(dir)?;
    // A hard link fails when the target exists: a race-free "create if absent".
    let linked = fs::hard_link(&tmp, dir.join(name));
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            sync_dir(dir)?;
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

/// Reads `dir/name` whole, refusing files larger than [`MAX_FILE_LEN`] (`InvalidData`).
pub(crate) fn read(dir: &Path, name: &str) -> io::Result<Vec<u8>> {
    let f = File::open(dir.join(name))?;
    let len = f.metadata()?.len();
    if len > MAX_FILE_LEN {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "file too large"));
    }
    let mut buf = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    f.take(MAX_FILE_LEN + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > MAX_FILE_LEN {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "file too large"));
    }
    Ok(buf)
}

/// Removes `dir/name`; a missing file is not an error.
pub(crate) fn remove(dir: &Path, name: &str) -> io::Result<()> {
    crash_point(dir)?;
    match fs::remove_file(dir.join(name)) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// A point where a kill can land between two file-system changes. In unit tests a simulated
/// kill ([`crash`]) makes this and every later step in `dir` fail, so that the files left are
/// exactly those a real kill at that point would leave; in every other build it does nothing.
#[inline]
fn crash_point(dir: &Path) -> io::Result<()> {
    #[cfg(test)]
    crash::step(dir)?;
    #[cfg(not(test))]
    let _ = dir;
    Ok(())
}

/// Simulated kills for the vault's unit tests: [`crash::arm`] lets a directory's next `n`
/// file-system steps happen (temp file written, renamed into place, removed…), then stops
/// every later one, as a `SIGKILL` between two steps would.
#[cfg(test)]
pub(crate) mod crash {
    use std::io;
    use std::path::{Path, PathBuf};
    use std::sync::{Mutex, PoisonError};

    struct Armed {
        dir: PathBuf,
        steps_left: usize,
        fired: bool,
    }

    static ARMED: Mutex<Vec<Armed>> = Mutex::new(Vec::new());

    /// Lets the next `steps` file-system steps in `dir` happen, then "kills" the writer.
    pub(crate) fn arm(dir: &Path, steps: usize) {
        let mut armed = ARMED.lock().unwrap_or_else(PoisonError::into_inner);
        armed.retain(|a| a.dir != dir);
        armed.push(Armed {
            dir: dir.to_path_buf(),
            steps_left: steps,
            fired: false,
        });
    }

    /// Stops simulating for `dir`; true when the simulated kill happened.
    pub(crate) fn disarm(dir: &Path) -> bool {
        let mut armed = ARMED.lock().unwrap_or_else(PoisonError::into_inner);
        let fired = armed.iter().any(|a| a.dir == dir && a.fired);
        armed.retain(|a| a.dir != dir);
        fired
    }

    pub(super) fn step(dir: &Path) -> io::Result<()> {
        let mut armed = ARMED.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(a) = armed.iter_mut().find(|a| a.dir == dir) else {
            return Ok(());
        };
        if a.fired || a.steps_left == 0 {
            a.fired = true;
            return Err(io::Error::other("simulated kill"));
        }
        a.steps_left -= 1;
        Ok(())
    }
}

/// An exclusive lock on `dir/name`, held until dropped.
#[derive(Debug)]
pub(crate) struct DirLock {
    _file: File,
}

impl DirLock {
    /// Blocks until this process holds the exclusive lock on `dir/name` (created if absent).
    pub(crate) fn acquire(dir: &Path, name: &str) -> io::Result<Self> {
        let mut opts = OpenOptions::new();
        opts.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let file = opts.open(dir.join(name))?;
        file.lock()?;
        Ok(Self { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().expect("tempdir");
        write_atomic(dir.path(), "f", b"one").expect("write");
        write_atomic(dir.path(), "f", b"two").expect("write");
        assert_eq!(read(dir.path(), "f").expect("read"), b"two");
        let names: Vec<_> = fs::read_dir(dir.path())
            .expect("ls")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec!["f"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join("f"))
                .expect("meta")
                .permissions();
            assert_eq!(mode.mode() & 0o777, 0o600);
        }
    }

    #[test]
    fn create_atomic_never_clobbers() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(create_atomic(dir.path(), "k", b"first").expect("create"));
        assert!(!create_atomic(dir.path(), "k", b"second").expect("create"));
        assert_eq!(read(dir.path(), "k").expect("read"), b"first");
        remove(dir.path(), "k").expect("remove");
        remove(dir.path(), "k").expect("remove twice");
        assert_eq!(
            read(dir.path(), "k").map_err(|e| e.kind()),
            Err(io::ErrorKind::NotFound)
        );
    }
}
