//! The code store: deployment packages (`ZipFile` of `CreateFunction`, `UpdateFunctionCode` and
//! `PublishLayerVersion`) unpacked safely under the lab's state directory, and local code
//! directories registered in place.
//!
//! Layout under the store's root (the root belongs to one lab):
//!
//! ```text
//! <root>/<hex sha-256 of the zip>/   one unpacked package, never changed once renamed here
//! <root>/.unpack-XXXXXX/             a package being unpacked (removed on failure, and on open)
//! ```
//!
//! A package is unpacked into a temporary directory inside the root, then renamed to its
//! content address, so a directory at an address is always complete and the same zip is
//! unpacked once. Refused packages leave nothing behind, and nothing is ever written outside
//! the root: entry names with `..` or a leading `/` are refused before anything is written,
//! files are created without following symlinks, and every symlink of the package must resolve
//! inside it.
//!
//! File modes come from the entries' Unix external attributes (`zip -X`-less `zip`, Python's
//! `zipfile`, `cargo lambda`, SAM all write them). An entry without a mode gets 0644 (file) or
//! 0755 (directory), the permissions AWS names as correct for a package ("For interpreted
//! runtimes ... 644. For folders ... 755", Knowledge Center *lambda-deployment-package-errors*):
//! Lambda documents nothing for such entries, and zips made on Windows are known to lose the
//! executable bit there (aws/aws-sam-cli#2193, aws/aws-lambda-go's `build-lambda-zip`). An
//! entry made by MS-DOS tools gets what the `zip` crate derives from its DOS attributes (0664,
//! or 0444 when read-only; 0775 for directories). Set-id and sticky bits are dropped, and
//! directories keep their owner's `rwx` so that the lab can remove them (Lambda's `/var/task`
//! is read-only whatever the modes say).

mod tree;
mod unzip;

use std::fmt;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use protocol::lambda_api::error::{EMPTY_ZIP, LambdaError, LambdaErrorType, NOT_A_ZIP};
use protocol::lambda_api::limits::{UNZIPPED_CODE_MAX, ZIP_DIRECT_UPLOAD_MAX};
use sha2::{Digest, Sha256};

/// The request size the API takes for a zip of [`ZIP_DIRECT_UPLOAD_MAX`] bytes: the zip travels
/// base64-encoded in JSON, so Lambda's front end answers "Request must be smaller than 69905067
/// bytes" (⌈4/3 × 50 MiB⌉).
pub const ZIP_REQUEST_MAX: u64 = (ZIP_DIRECT_UPLOAD_MAX * 4).div_ceil(3);

/// Prefix of the temporary directories a package is unpacked into.
const UNPACK_PREFIX: &str = ".unpack-";

/// Code ready to run: a directory and what Lambda reports about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code {
    /// The directory holding the code (`/var/task` or a layer's `/opt` contribution).
    pub dir: PathBuf,
    /// `CodeSha256`: base64 of the SHA-256 of the zip bytes (of the tree, for a code dir).
    pub sha256: String,
    /// `CodeSize`: bytes of the zip (sum of file sizes, for a code dir).
    pub size: u64,
}

/// The limits a store enforces; [`Limits::default`] is Lambda's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest zip taken (`ZipFile`, direct upload): 50 MB.
    pub zipped: u64,
    /// Largest unpacked package, counted while inflating: 250 MB.
    pub unzipped: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            zipped: ZIP_DIRECT_UPLOAD_MAX,
            unzipped: UNZIPPED_CODE_MAX,
        }
    }
}

/// Why the store refused a package or a code directory.
#[derive(Debug, thiserror::Error)]
pub enum CodeError {
    /// The bytes are not a zip archive, or one whose entries cannot be inflated.
    #[error("the deployment package is not a valid zip: {detail}")]
    NotAZip {
        /// What the zip reader found.
        detail: String,
    },
    /// The zip has no entries.
    #[error("the deployment package is an empty zip")]
    EmptyZip,
    /// The zip is larger than a direct upload may be.
    #[error(
        "the deployment package is {size} bytes, over the {limit}-byte direct-upload limit; upload a smaller zip (move dependencies into a layer)"
    )]
    ZipTooLarge {
        /// Bytes of the zip.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The unpacked content would pass the limit (counted while inflating).
    #[error(
        "the deployment package unpacks to more than {limit} bytes; make it smaller (move dependencies into a layer)"
    )]
    UnzippedTooLarge {
        /// The limit.
        limit: u64,
    },
    /// An entry would land outside the package: `..`, an absolute path, a symlink leaving it, or
    /// a path through a symlink.
    #[error(
        "the deployment package's entry `{entry}` {why}; build the zip from inside the code directory (`cd dir && zip -r -y ../code.zip .`)"
    )]
    Escapes {
        /// The entry's name as written in the zip.
        entry: String,
        /// How it escapes.
        why: &'static str,
    },
    /// Two entries with the same name.
    #[error("the deployment package holds `{entry}` twice; rebuild the zip")]
    Duplicate {
        /// The entry's name.
        entry: String,
    },
    /// A code directory that does not exist or is not a directory.
    #[error(
        "code directory {}: {reason}; give an existing directory holding the function's code (e.g. the output of `cargo lambda build`)", path.display()
    )]
    NoCodeDir {
        /// The directory as given.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The store's own file system failed.
    #[error("code store {}: {source}", path.display())]
    Io {
        /// The path the operation was on.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
}

impl CodeError {
    fn io(path: &Path) -> impl FnOnce(io::Error) -> Self + '_ {
        move |source| Self::Io {
            path: path.to_owned(),
            source,
        }
    }

    /// The Lambda API's answer to this error.
    ///
    /// - not a zip: 400 `InvalidParameterValueException`, [`NOT_A_ZIP`];
    /// - empty: 400 `InvalidParameterValueException`, [`EMPTY_ZIP`];
    /// - too large zipped: 413 `RequestEntityTooLargeException`, "Request must be smaller than
    ///   69905067 bytes" (Lambda adds " for the `<Operation>` operation": use
    ///   [`Self::lambda_error_for`]);
    /// - too large unzipped: 400 `InvalidParameterValueException`, "Unzipped size must be
    ///   smaller than 262144000 bytes" (Lambda's words, boto3/serverless/Zappa reports);
    /// - an escaping or duplicate entry: 400 `InvalidParameterValueException` with
    ///   [`NOT_A_ZIP`] followed by the lab's reason (Lambda documents no answer for these);
    /// - a missing code dir: 400 `InvalidParameterValueException` naming it (lab only);
    /// - the store's I/O: 500 `ServiceException`.
    pub fn lambda_error(&self) -> LambdaError {
        use LambdaErrorType::{InvalidParameterValue, RequestEntityTooLarge, Service};
        match self {
            Self::NotAZip { .. } => LambdaError::new(InvalidParameterValue, NOT_A_ZIP),
            Self::EmptyZip => LambdaError::new(InvalidParameterValue, EMPTY_ZIP),
            Self::ZipTooLarge { limit, .. } => LambdaError::new(
                RequestEntityTooLarge,
                format!(
                    "Request must be smaller than {} bytes",
                    (limit * 4).div_ceil(3)
                ),
            ),
            Self::UnzippedTooLarge { limit } => LambdaError::new(
                InvalidParameterValue,
                format!("Unzipped size must be smaller than {limit} bytes"),
            ),
            Self::Escapes { .. } | Self::Duplicate { .. } => {
                LambdaError::new(InvalidParameterValue, format!("{NOT_A_ZIP} ({self})"))
            }
            Self::NoCodeDir { .. } => LambdaError::new(InvalidParameterValue, self.to_string()),
            Self::Io { .. } => LambdaError::new(Service, self.to_string()),
        }
    }

    /// [`Self::lambda_error`] with the operation named as Lambda names it in a size refusal
    /// (`"CreateFunction"`, `"UpdateFunctionCode"`, `"PublishLayerVersion"`).
    pub fn lambda_error_for(&self, operation: &str) -> LambdaError {
        let mut error = self.lambda_error();
        if let Self::ZipTooLarge { .. } = self {
            error.message = format!("{} for the {operation} operation", error.message);
        }
        error
    }
}

/// The lab's store of unpacked deployment packages.
#[derive(Debug, Clone)]
pub struct CodeStore {
    root: PathBuf,
    limits: Limits,
}

impl CodeStore {
    /// A store under `root` (created if missing) with Lambda's limits. Leftovers of an unpack
    /// cut short (a killed lab) are removed.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, CodeError> {
        Self::with_limits(root, Limits::default())
    }

    /// A store with other limits (tests use small ones).
    pub fn with_limits(root: impl Into<PathBuf>, limits: Limits) -> Result<Self, CodeError> {
        let root = root.into();
        std::fs::create_dir_all(&root).map_err(CodeError::io(&root))?;
        for entry in std::fs::read_dir(&root).map_err(CodeError::io(&root))? {
            let entry = entry.map_err(CodeError::io(&root))?;
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with(UNPACK_PREFIX)
            {
                let path = entry.path();
                std::fs::remove_dir_all(&path).map_err(CodeError::io(&path))?;
            }
        }
        Ok(Self { root, limits })
    }

    /// The limits the store enforces.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The store's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Unpacks a deployment package (what `CreateFunction`, `UpdateFunctionCode` and
    /// `PublishLayerVersion` do with `ZipFile`). The same zip gives the same directory, unpacked
    /// once.
    pub fn unpack_zip(&self, zip: &[u8]) -> Result<Code, CodeError> {
        let size = zip.len() as u64;
        if size > self.limits.zipped {
            return Err(CodeError::ZipTooLarge {
                size,
                limit: self.limits.zipped,
            });
        }
        let digest = Sha256::digest(zip);
        let sha256 = base64::engine::general_purpose::STANDARD.encode(digest);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        let dir = self.root.join(hex);
        let code = Code {
            dir: dir.clone(),
            sha256,
            size,
        };
        if dir.is_dir() {
            return Ok(code);
        }
        let staging = tempfile::Builder::new()
            .prefix(UNPACK_PREFIX)
            .tempdir_in(&self.root)
            .map_err(CodeError::io(&self.root))?;
        unzip::unpack(zip, staging.path(), self.limits.unzipped)?;
        tree::check_symlinks(staging.path())?;
        // Like `/var/task`: readable by all (a temporary directory starts at 0700).
        std::fs::set_permissions(staging.path(), PermissionsExt::from_mode(0o755))
            .map_err(CodeError::io(staging.path()))?;
        let staged = staging.keep();
        match std::fs::rename(&staged, &dir) {
            Ok(()) => Ok(code),
            // Another unpack of the same zip won the race: its directory is complete.
            Err(_) if dir.is_dir() => {
                std::fs::remove_dir_all(&staged).map_err(CodeError::io(&staged))?;
                Ok(code)
            }
            Err(source) => {
                let _ = std::fs::remove_dir_all(&staged);
                Err(CodeError::Io { path: dir, source })
            }
        }
    }

    /// Registers a local code directory, kept in place (local work). `CodeSha256` is taken over
    /// a walk of the tree (see [`tree_sha256`]), `CodeSize` is the sum of its regular files'
    /// sizes.
    pub fn register_dir(&self, dir: impl AsRef<Path>) -> Result<Code, CodeError> {
        register_dir(dir.as_ref())
    }
}

/// [`CodeStore::register_dir`], which needs no store.
pub fn register_dir(dir: &Path) -> Result<Code, CodeError> {
    let no_dir = |reason: String| CodeError::NoCodeDir {
        path: dir.to_owned(),
        reason,
    };
    let meta = std::fs::metadata(dir).map_err(|e| no_dir(e.to_string()))?;
    if !meta.is_dir() {
        return Err(no_dir("not a directory".into()));
    }
    let absolute = std::fs::canonicalize(dir).map_err(|e| no_dir(e.to_string()))?;
    let (digest, size) = tree_sha256(&absolute)?;
    Ok(Code {
        dir: absolute,
        sha256: base64::engine::general_purpose::STANDARD.encode(digest),
        size,
    })
}

/// The SHA-256 of a code directory and the sum of its regular files' sizes.
///
/// The walk visits every entry below `dir` (not `dir` itself), symlinks not followed, in
/// byte-wise order of their paths relative to `dir` (`/`-separated). Each entry feeds the hash
/// one record, every variable part preceded by its length as a little-endian `u64`:
/// a kind byte (`d` directory, `f` regular file, `l` symlink, `o` other), the relative path,
/// the permission bits (`mode & 0o7777`, `u32` little-endian), then the file's contents or the
/// link's target (nothing for a directory or other).
pub fn tree_sha256(dir: &Path) -> Result<([u8; 32], u64), CodeError> {
    tree::digest(dir)
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({} bytes, sha256 {})",
            self.dir.display(),
            self.size,
            self.sha256
        )
    }
}
