//! Unpacking one zip into a fresh directory: names checked before anything is written, sizes
//! counted while inflating, files created without following symlinks.

use std::collections::HashSet;
use std::fs::{self, OpenOptions, Permissions};
use std::io::{self, Cursor, Read, Write};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Component, Path, PathBuf};

use zip::ZipArchive;
use zip::result::ZipError;

use super::CodeError;

/// File type bits of a Unix mode.
const S_IFMT: u32 = 0o170_000;
/// A symlink's type bits.
const S_IFLNK: u32 = 0o120_000;
/// A directory's type bits.
const S_IFDIR: u32 = 0o040_000;
/// Mode of a file whose entry carries none (see the module doc of `code`).
const FILE_MODE_DEFAULT: u32 = 0o644;
/// Mode of a directory whose entry carries none.
const DIR_MODE_DEFAULT: u32 = 0o755;
/// Longest symlink target read from a zip (Linux `PATH_MAX`).
const LINK_TARGET_MAX: u64 = 4096;

fn not_a_zip(error: ZipError) -> CodeError {
    CodeError::NotAZip {
        detail: error.to_string(),
    }
}

/// Unpacks `zip` into `target` (an empty directory), at most `unzipped_max` bytes of content.
pub(super) fn unpack(zip: &[u8], target: &Path, unzipped_max: u64) -> Result<(), CodeError> {
    let mut archive = ZipArchive::new(Cursor::new(zip)).map_err(not_a_zip)?;
    if archive.is_empty() {
        return Err(CodeError::EmptyZip);
    }
    // Names first: a package with one bad entry writes nothing.
    let mut seen = HashSet::new();
    let mut declared: u64 = 0;
    for index in 0..archive.len() {
        let entry = archive.by_index_raw(index).map_err(not_a_zip)?;
        let name = entry.name().to_owned();
        relative_path(&name)?;
        if !seen.insert(name.trim_end_matches('/').to_owned()) {
            return Err(CodeError::Duplicate { entry: name });
        }
        declared = declared.saturating_add(entry.size());
    }
    // Honest headers are refused before inflating; lying ones are caught while inflating.
    if declared > unzipped_max {
        return Err(CodeError::UnzippedTooLarge {
            limit: unzipped_max,
        });
    }
    let mut budget = unzipped_max;
    let mut dirs: Vec<(PathBuf, u32)> = Vec::new();
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).map_err(not_a_zip)?;
        let name = entry.name().to_owned();
        let relative = relative_path(&name)?;
        let path = target.join(&relative);
        // A Unix entry with neither type nor permission bits (Python's `writestr` of a bare
        // `ZipInfo`) carries no mode.
        let mode = entry.unix_mode().filter(|m| *m != 0);
        let io = |source| CodeError::Io {
            path: path.clone(),
            source,
        };
        create_parents(target, &relative, &name)?;
        if entry.is_dir() || mode.is_some_and(|m| m & S_IFMT == S_IFDIR) {
            match fs::symlink_metadata(&path) {
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => return Err(CodeError::Duplicate { entry: name }),
                Err(_) => fs::create_dir(&path).map_err(io)?,
            }
            dirs.push((path, mode.map_or(DIR_MODE_DEFAULT, |m| m & 0o777)));
        } else if mode.is_some_and(|m| m & S_IFMT == S_IFLNK) {
            let mut link = Vec::new();
            (&mut entry)
                .take(LINK_TARGET_MAX + 1)
                .read_to_end(&mut link)
                .map_err(|e| CodeError::NotAZip {
                    detail: format!("{name}: {e}"),
                })?;
            let link = String::from_utf8(link).ok().filter(|l| {
                !l.is_empty() && l.len() as u64 <= LINK_TARGET_MAX && !l.contains('\0')
            });
            let Some(link) = link else {
                return Err(CodeError::Escapes {
                    entry: name,
                    why: "is a symlink whose target is empty, too long or not UTF-8",
                });
            };
            if link.starts_with('/') {
                return Err(CodeError::Escapes {
                    entry: name,
                    why: "is a symlink to an absolute path",
                });
            }
            budget = charge(budget, link.len() as u64, unzipped_max)?;
            std::os::unix::fs::symlink(&link, &path).map_err(|source| match source.kind() {
                io::ErrorKind::AlreadyExists => CodeError::Duplicate {
                    entry: name.clone(),
                },
                _ => io(source),
            })?;
        } else {
            let mode = mode.map_or(FILE_MODE_DEFAULT, |m| m & 0o777);
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(nix::libc::O_NOFOLLOW)
                .open(&path)
                .map_err(|source| match source.kind() {
                    io::ErrorKind::AlreadyExists => CodeError::Duplicate {
                        entry: name.clone(),
                    },
                    _ => io(source),
                })?;
            budget = copy_within(&mut entry, &mut file, budget, unzipped_max, &name)
                .map_err(|e| e.unwrap_or_else(io))?;
            file.set_permissions(Permissions::from_mode(mode))
                .map_err(io)?;
        }
    }
    // Directory modes last (a read-only directory must still take its files), owner rwx kept.
    for (path, mode) in dirs.into_iter().rev() {
        fs::set_permissions(&path, Permissions::from_mode(mode | 0o700)).map_err(|source| {
            CodeError::Io {
                path: path.clone(),
                source,
            }
        })?;
    }
    Ok(())
}

/// `name` as a path below the package root, or why it is refused.
fn relative_path(name: &str) -> Result<PathBuf, CodeError> {
    let escapes = |why| CodeError::Escapes {
        entry: name.to_owned(),
        why,
    };
    if name.contains('\0') {
        return Err(escapes("has a NUL byte in its name"));
    }
    let mut relative = PathBuf::new();
    for component in Path::new(name).components() {
        match component {
            Component::Normal(part) => relative.push(part),
            Component::CurDir => {}
            Component::ParentDir => return Err(escapes("has a `..` component")),
            Component::RootDir | Component::Prefix(_) => {
                return Err(escapes("is an absolute path"));
            }
        }
    }
    if relative.as_os_str().is_empty() {
        return Err(escapes("names no file"));
    }
    Ok(relative)
}

/// Creates the directories above `relative` under `target`, refusing a path through a
/// symlink or a file.
fn create_parents(target: &Path, relative: &Path, name: &str) -> Result<(), CodeError> {
    let mut path = target.to_path_buf();
    let parents: Vec<_> = relative.components().collect();
    for part in &parents[..parents.len().saturating_sub(1)] {
        path.push(part);
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_dir() => {}
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(CodeError::Escapes {
                    entry: name.to_owned(),
                    why: "is written through a symlink",
                });
            }
            Ok(_) => {
                return Err(CodeError::Duplicate {
                    entry: name.to_owned(),
                });
            }
            Err(_) => fs::create_dir(&path).map_err(|source| CodeError::Io {
                path: path.clone(),
                source,
            })?,
        }
    }
    Ok(())
}

/// Takes `bytes` from the remaining `budget`.
fn charge(budget: u64, bytes: u64, limit: u64) -> Result<u64, CodeError> {
    budget
        .checked_sub(bytes)
        .ok_or(CodeError::UnzippedTooLarge { limit })
}

/// Copies an entry's inflated bytes into `file`, never more than `budget`: the headers' sizes
/// are not trusted. The error is `Err(CodeError)` for the package's fault, `Ok(io)` for the
/// store's.
fn copy_within(
    entry: &mut impl Read,
    file: &mut fs::File,
    mut budget: u64,
    limit: u64,
    name: &str,
) -> Result<u64, Result<CodeError, io::Error>> {
    let mut buffer = vec![0; 64 * 1024];
    loop {
        let read = match entry.read(&mut buffer) {
            Ok(0) => return Ok(budget),
            Ok(read) => read,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(Ok(CodeError::NotAZip {
                    detail: format!("{name}: {e}"),
                }));
            }
        };
        budget = charge(budget, read as u64, limit).map_err(Ok)?;
        file.write_all(&buffer[..read]).map_err(Err)?;
    }
}
