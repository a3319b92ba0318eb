//! Temporary output files. An output is written beside its target under a hidden name that
//! says what it is and whose it is, `.filigree-<pid>-<random>.tmp.<ext>` (the extension kept
//! so FFmpeg picks the target's container), and renamed onto the target only when complete.
//!
//! Three ways an unfinished one goes away: dropping its [`TempOutput`] deletes it (a failed
//! embed); [`remove_unfinished`] deletes every one this process still has open (a signal
//! handler about to exit); and [`sweep_stale_beside`] deletes those left by processes that
//! no longer exist (killed with SIGKILL, or a crashed machine), the next time an embed writes
//! into the same folder.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use tempfile::NamedTempFile;

const PREFIX: &str = ".filigree-";
/// Between the random part and the target's extension.
const MARK: &str = ".tmp";
const RANDOM_LEN: usize = 6;

/// The temporary files this process has open, for [`remove_unfinished`].
static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn live() -> MutexGuard<'static, Vec<PathBuf>> {
    // The list stays valid even if a thread panicked while holding the lock.
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// A temporary file beside an output; deleted when dropped unless persisted.
#[derive(Debug)]
pub struct TempOutput {
    file: Option<NamedTempFile>,
}

impl TempOutput {
    /// Creates the temporary file for `target` in `target`'s folder (so the final rename
    /// stays on one file system).
    pub fn beside(target: &Path) -> io::Result<TempOutput> {
        let suffix = match target.extension() {
            Some(ext) => format!("{MARK}.{}", ext.to_string_lossy()),
            None => MARK.to_string(),
        };
        let prefix = format!("{PREFIX}{}-", std::process::id());
        let mut builder = tempfile::Builder::new();
        builder
            .prefix(&prefix)
            .rand_bytes(RANDOM_LEN)
            .suffix(&suffix);
        #[cfg(unix)]
        {
            // Like any new file (subject to umask), not tempfile's private 0600.
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let file = builder.tempfile_in(folder_of(target))?;
        live().push(file.path().to_path_buf());
        Ok(TempOutput { file: Some(file) })
    }

    /// Where the temporary file is now, beside its target.
    pub fn path(&self) -> &Path {
        self.named().path()
    }

    /// The open temporary file.
    pub fn as_file(&self) -> &File {
        self.named().as_file()
    }

    /// Renames the file onto `target`, replacing any file there.
    pub fn persist(mut self, target: &Path) -> io::Result<()> {
        let file = self
            .file
            .take()
            .expect("a TempOutput holds its file until persisted");
        let path = file.path().to_path_buf();
        let result = file.persist(target).map(drop).map_err(|e| e.error);
        forget(&path);
        result
    }

    fn named(&self) -> &NamedTempFile {
        self.file
            .as_ref()
            .expect("a TempOutput holds its file until persisted")
    }
}

impl Write for TempOutput {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.as_mut().expect("not persisted").write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.as_mut().expect("not persisted").flush()
    }
}

impl Drop for TempOutput {
    fn drop(&mut self) {
        if let Some(file) = self.file.take() {
            let path = file.path().to_path_buf();
            drop(file); // deletes it
            forget(&path);
        }
    }
}

fn folder_of(target: &Path) -> &Path {
    match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

fn forget(path: &Path) {
    live().retain(|p| p != path);
}

/// Deletes every temporary output this process still has open. For a signal handler that is
/// about to exit without unwinding; the files' writers may still hold them open (harmless on
/// Unix: the data goes to an unlinked file).
pub fn remove_unfinished() {
    for path in live().drain(..) {
        let _ = std::fs::remove_file(path);
    }
}

/// Deletes the temporary outputs in `target`'s folder left by processes that are gone;
/// returns the files removed. Only regular files named exactly like ours are touched, never
/// one whose process still runs (so concurrent embeds into one folder are safe).
pub fn sweep_stale_beside(target: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(folder_of(target)) else {
        return Vec::new();
    };
    let own = std::process::id();
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(owner_pid) else {
            continue;
        };
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        if is_file && pid != own && !process_exists(pid) {
            let path = entry.path();
            if std::fs::remove_file(&path).is_ok() {
                removed.push(path);
            }
        }
    }
    removed
}

/// The pid in a temporary output's name, `None` for any other name.
fn owner_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(PREFIX)?;
    let (pid, rest) = rest.split_once('-')?;
    let valid_pid = !pid.is_empty() && pid.len() <= 10 && pid.bytes().all(|b| b.is_ascii_digit());
    let random = rest.get(..RANDOM_LEN)?;
    let tail = &rest[RANDOM_LEN..];
    let valid_tail = tail == MARK
        || tail
            .strip_prefix(MARK)
            .and_then(|t| t.strip_prefix('.'))
            .is_some_and(|ext| !ext.is_empty() && !ext.contains('.'));
    (valid_pid && random.bytes().all(|b| b.is_ascii_alphanumeric()) && valid_tail)
        .then(|| pid.parse().ok())
        .flatten()
        .filter(|&pid| pid > 0)
}

#[cfg(unix)]
fn process_exists(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return true; // not a pid this system uses: leave the file alone
    };
    // SAFETY: signal 0 only checks whether the process exists; nothing is sent.
    let status = unsafe { libc::kill(pid, 0) };
    status == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(not(unix))]
fn process_exists(_pid: u32) -> bool {
    true // no portable check: never sweep
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_say_whose_and_what() {
        let dir = tempfile::tempdir().unwrap();
        let temp = TempOutput::beside(&dir.path().join("out.mp4")).unwrap();
        let name = temp
            .path()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        assert!(name.ends_with(".tmp.mp4"), "{name}");
        assert_eq!(owner_pid(&name), Some(std::process::id()));
        assert_eq!(live().iter().filter(|p| *p == temp.path()).count(), 1);
        let path = temp.path().to_path_buf();
        drop(temp);
        assert!(!path.exists());
        assert!(!live().contains(&path));
    }

    #[test]
    fn only_exact_names_are_ours() {
        for name in [".filigree-12-aB3xZ9.tmp.mp4", ".filigree-12-aB3xZ9.tmp"] {
            assert_eq!(owner_pid(name), Some(12), "{name}");
        }
        for name in [
            "filigree-12-aB3xZ9.tmp.mp4",
            ".filigree-12-aB3xZ9.mp4",
            ".filigree-x12-aB3xZ9.tmp.mp4",
            ".filigree-12-aB3x.tmp.mp4",
            ".filigree-12-aB3xZ9.tmp.",
            ".filigree-12-aB3xZ9.tmp.mp4.bak",
            ".filigree-0-aB3xZ9.tmp.mp4",
            ".filigree--aB3xZ9.tmp.mp4",
        ] {
            assert_eq!(owner_pid(name), None, "{name}");
        }
    }

    #[test]
    fn sweep_removes_only_dead_owners_files() {
        let dir = tempfile::tempdir().unwrap();
        // A child that has exited and been reaped: its pid is (for now) nobody's.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let stale = dir.path().join(format!(".filigree-{dead}-aB3xZ9.tmp.mov"));
        let alive = dir
            .path()
            .join(format!(".filigree-{}-aB3xZ9.tmp.mov", std::process::id()));
        let other = dir.path().join(format!(".filigree-{dead}-aB3xZ9.mov"));
        for path in [&stale, &alive, &other] {
            std::fs::write(path, b"x").unwrap();
        }
        let target = dir.path().join("out.mov");
        assert_eq!(sweep_stale_beside(&target), vec![stale.clone()]);
        assert!(!stale.exists() && alive.exists() && other.exists());
    }
}
