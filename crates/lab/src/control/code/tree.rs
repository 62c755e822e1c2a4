//! Walks of a code tree: the symlink check of an unpacked package and the digest of a code dir.

use std::fs;
use std::io::Read as _;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

use super::CodeError;

/// Symlinks followed while resolving one path before it is called a loop (Linux `MAXSYMLINKS`).
const LINKS_MAX: usize = 40;

/// Every entry below `root`, as paths relative to it, in byte-wise order (symlinks not
/// followed).
fn walk(root: &Path) -> Result<Vec<PathBuf>, CodeError> {
    let mut found = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        let dir = root.join(&relative);
        let io = |source| CodeError::Io {
            path: dir.clone(),
            source,
        };
        for entry in fs::read_dir(&dir).map_err(io)? {
            let entry = entry.map_err(io)?;
            let child = relative.join(entry.file_name());
            if entry.file_type().map_err(io)?.is_dir() {
                pending.push(child.clone());
            }
            found.push(child);
        }
    }
    found.sort_by(|a, b| a.as_os_str().as_bytes().cmp(b.as_os_str().as_bytes()));
    Ok(found)
}

/// Refuses a package with a symlink that resolves outside `root`. Each link is resolved
/// component by component on the unpacked tree, following the links it passes through, so a
/// chain of links that each look inside (`a -> .`, `b -> a/..`) cannot climb out. A link whose
/// target does not exist is accepted when the part that exists stays inside.
pub(super) fn check_symlinks(root: &Path) -> Result<(), CodeError> {
    for relative in walk(root)? {
        let path = root.join(&relative);
        let meta = fs::symlink_metadata(&path).map_err(|source| CodeError::Io {
            path: path.clone(),
            source,
        })?;
        if !meta.file_type().is_symlink() {
            continue;
        }
        let mut stack: Vec<PathBuf> = relative
            .parent()
            .map(|p| {
                p.components()
                    .map(|c| PathBuf::from(c.as_os_str()))
                    .collect()
            })
            .unwrap_or_default();
        let mut followed = 0;
        let entry = relative.to_string_lossy().into_owned();
        if let Err(why) = resolve(root, &mut stack, &relative_target(&path)?, &mut followed) {
            return Err(CodeError::Escapes { entry, why });
        }
    }
    Ok(())
}

fn relative_target(link: &Path) -> Result<PathBuf, CodeError> {
    fs::read_link(link).map_err(|source| CodeError::Io {
        path: link.to_owned(),
        source,
    })
}

/// Resolves `target` from the directory `stack` (components below the root), following links;
/// `Ok(false)` when it runs into a missing entry (the rest cannot resolve).
fn resolve(
    root: &Path,
    stack: &mut Vec<PathBuf>,
    target: &Path,
    followed: &mut usize,
) -> Result<bool, &'static str> {
    if target.is_absolute() {
        return Err("is a symlink to an absolute path");
    }
    for component in target.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if stack.pop().is_none() {
                    return Err("is a symlink that leads outside the package");
                }
            }
            Component::Normal(part) => {
                stack.push(PathBuf::from(part));
                let here: PathBuf = stack.iter().collect();
                let Ok(meta) = fs::symlink_metadata(root.join(&here)) else {
                    return Ok(false);
                };
                if meta.file_type().is_symlink() {
                    *followed += 1;
                    if *followed > LINKS_MAX {
                        return Err("is a symlink loop");
                    }
                    let next = fs::read_link(root.join(&here))
                        .map_err(|_| "is a symlink that cannot be read")?;
                    stack.pop();
                    if !resolve(root, stack, &next, followed)? {
                        return Ok(false);
                    }
                }
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err("is a symlink to an absolute path");
            }
        }
    }
    Ok(true)
}

/// See [`super::tree_sha256`].
pub(super) fn digest(root: &Path) -> Result<([u8; 32], u64), CodeError> {
    let mut hash = Sha256::new();
    let mut size = 0u64;
    let framed = |hash: &mut Sha256, bytes: &[u8]| {
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(bytes);
    };
    for relative in walk(root)? {
        let path = root.join(&relative);
        let io = |source| CodeError::Io {
            path: path.clone(),
            source,
        };
        let meta = fs::symlink_metadata(&path).map_err(io)?;
        let kind = meta.file_type();
        let tag: &[u8] = if kind.is_dir() {
            b"d"
        } else if kind.is_file() {
            b"f"
        } else if kind.is_symlink() {
            b"l"
        } else {
            b"o"
        };
        framed(&mut hash, tag);
        framed(&mut hash, relative.as_os_str().as_bytes());
        hash.update((meta.permissions().mode() & 0o7777).to_le_bytes());
        if kind.is_file() {
            let mut contents = Vec::new();
            fs::File::open(&path)
                .and_then(|mut f| f.read_to_end(&mut contents))
                .map_err(io)?;
            size += contents.len() as u64;
            framed(&mut hash, &contents);
        } else if kind.is_symlink() {
            framed(
                &mut hash,
                fs::read_link(&path).map_err(io)?.as_os_str().as_bytes(),
            );
        }
    }
    Ok((hash.finalize().into(), size))
}
