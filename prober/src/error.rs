//! The prober's error type and the exit codes it maps to.

use std::borrow::Cow;
use std::path::PathBuf;

/// Exit code for a usage error (bad flag, bad input), as in `sysexits.h`.
pub const EXIT_USAGE: i32 = 64;
/// Exit code when `report.json` could not be written after the run (the verdict is still
/// printed), as in `sysexits.h`.
pub const EXIT_IO: i32 = 74;
/// Exit code when the `--out` directory cannot be created or written, found before the first
/// request (`EX_CANTCREAT` in `sysexits.h`).
pub const EXIT_CANTCREAT: i32 = 73;
/// Exit code for an internal failure (e.g. the runtime could not start).
pub const EXIT_SOFTWARE: i32 = 70;

/// Everything that can stop the prober before it produces a verdict.
#[derive(Debug, thiserror::Error)]
pub enum ProberError {
    /// A flag (or its `PROBER_*` variable) has a value the prober cannot use.
    #[error("invalid {flag} {value:?}: {reason}")]
    InvalidFlag {
        /// The flag, e.g. `--rps`, or the variable the value came from, e.g.
        /// `PROBER_RPS (for --rps)`.
        flag: Cow<'static, str>,
        /// The offending value (secrets redacted).
        value: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// A required flag is missing.
    #[error("missing {flag}: {reason}")]
    MissingFlag {
        /// The flag, e.g. `--url`.
        flag: &'static str,
        /// Why it is needed and how to give it.
        reason: String,
    },
    /// A `prober merge` input cannot be used.
    #[error("cannot merge {path}: {reason}")]
    BadMergeInput {
        /// The input path as given.
        path: PathBuf,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// The `--out` directory cannot be created or written (checked before the first request).
    #[error(
        "cannot write artifacts to {path}: {source}; give a writable directory with --out \
         (or PROBER_OUT)"
    )]
    OutDir {
        /// The directory.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// Writing an artifact failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file that could not be written.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// A control-plane call made before the first probe failed (no credentials, no region, an
    /// alias or deployment that does not exist, access denied): nothing was sent.
    #[error("{call} on {resource} failed: {reason}; {fix}")]
    ControlPlane {
        /// The call, as IAM names its permission, e.g. `lambda:GetAlias`.
        call: &'static str,
        /// What it was called on (an ARN, a name).
        resource: String,
        /// What AWS (or the SDK) said.
        reason: String,
        /// What to do about it.
        fix: String,
    },
    /// An internal failure (a task panicked, a send lane could not start, ...).
    #[error("internal error: {0}")]
    Internal(String),
}

impl ProberError {
    /// The process exit code: 64 for every usage error, 73 for an unwritable `--out`, 74 for
    /// I/O, 70 for internal failures.
    pub fn exit_code(&self) -> i32 {
        match self {
            ProberError::InvalidFlag { .. }
            | ProberError::MissingFlag { .. }
            | ProberError::BadMergeInput { .. }
            | ProberError::ControlPlane { .. } => EXIT_USAGE,
            ProberError::OutDir { .. } => EXIT_CANTCREAT,
            ProberError::Write { .. } => EXIT_IO,
            ProberError::Internal(_) => EXIT_SOFTWARE,
        }
    }

    /// This error naming the `PROBER_*` variable a flag's value came from; `from_env` holds
    /// `(flag, variable)` pairs ([`crate::Cli::from_env`]).
    pub fn naming_variable(self, from_env: &[(String, String)]) -> Self {
        match self {
            ProberError::InvalidFlag {
                flag,
                value,
                reason,
            } => {
                let flag = match from_env.iter().find(|(f, _)| *f == flag) {
                    Some((f, var)) => Cow::Owned(format!("{var} (for {f})")),
                    None => flag,
                };
                ProberError::InvalidFlag {
                    flag,
                    value,
                    reason,
                }
            }
            other => other,
        }
    }

    /// True for usage errors (exit code 64).
    pub fn is_usage(&self) -> bool {
        self.exit_code() == EXIT_USAGE
    }

    pub(crate) fn invalid(
        flag: &'static str,
        value: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        ProberError::InvalidFlag {
            flag: Cow::Borrowed(flag),
            value: value.into(),
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_errors_exit_64() {
        assert_eq!(
            ProberError::invalid("--rps", "0", "must be > 0").exit_code(),
            64
        );
        let missing = ProberError::MissingFlag {
            flag: "--url",
            reason: "give it".into(),
        };
        assert_eq!(missing.exit_code(), 64);
        let merge = ProberError::BadMergeInput {
            path: "x".into(),
            reason: "r".into(),
        };
        assert_eq!(merge.exit_code(), 64);
        assert_eq!(ProberError::Internal("x".into()).exit_code(), 70);
    }

    #[test]
    fn message_names_flag_value_and_fix() {
        let e = ProberError::invalid("--rps", "0", "the rate must be > 0, e.g. --rps 50");
        let s = e.to_string();
        assert!(
            s.contains("--rps") && s.contains("\"0\"") && s.contains("e.g."),
            "{s}"
        );
    }
}
