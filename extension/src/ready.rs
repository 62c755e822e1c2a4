//! The proxy's ready file: how the wrapper scripts know the proxy is listening (fail open).
//!
//! After binding, the extension writes its process id to
//! `${TMPDIR:-/tmp}/rollcall-proxy-<port>.ready`; the wrapper redirects the runtime only when
//! that file names a live process. The file is removed on SHUTDOWN; a stale file left by a
//! killed extension names a dead process and is ignored.

use std::io;
use std::path::{Path, PathBuf};

/// The ready file for a proxy on `port`, under `tmpdir` (`TMPDIR`, default `/tmp`).
pub fn ready_file(tmpdir: Option<&str>, port: u16) -> PathBuf {
    let dir = tmpdir.filter(|d| !d.is_empty()).unwrap_or("/tmp");
    Path::new(dir).join(format!("rollcall-proxy-{port}.ready"))
}

/// Writes `pid` to `path` atomically (a temporary file renamed over it).
pub fn write(path: &Path, pid: u32) -> io::Result<()> {
    let tmp = path.with_extension(format!("tmp{pid}"));
    std::fs::write(&tmp, format!("{pid}\n"))?;
    std::fs::rename(&tmp, path)
}

/// Removes the ready file if it still names `pid`.
pub fn remove(path: &Path, pid: u32) {
    if std::fs::read_to_string(path).is_ok_and(|s| s.trim() == pid.to_string()) {
        let _ = std::fs::remove_file(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_follows_tmpdir_and_port() {
        assert_eq!(
            ready_file(None, 9009),
            PathBuf::from("/tmp/rollcall-proxy-9009.ready")
        );
        assert_eq!(
            ready_file(Some(""), 1),
            PathBuf::from("/tmp/rollcall-proxy-1.ready")
        );
        assert_eq!(
            ready_file(Some("/x/y"), 2),
            PathBuf::from("/x/y/rollcall-proxy-2.ready")
        );
    }

    #[test]
    fn write_then_remove_only_our_own() {
        let dir = tempfile::tempdir().unwrap();
        let path = ready_file(dir.path().to_str(), 4242);
        write(&path, 17).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "17\n");
        remove(&path, 18);
        assert!(path.exists(), "another process's file stays");
        remove(&path, 17);
        assert!(!path.exists());
    }
}
