//! The SAM transform, run offline with the real translator (the `aws-sam-translator` that
//! cfn-lint imports): what CloudFormation would deploy from a template.

use std::path::Path;
use std::process::Command;

use crate::cfn::Value;

const TRANSLATE_PY: &str = include_str!("translate.py");

/// Why a template could not be translated.
#[derive(Debug, thiserror::Error)]
pub enum TranslateError {
    /// `python3` could not be started.
    #[error("cannot run python3 (needed for aws-sam-translator): {0}")]
    Spawn(std::io::Error),
    /// The translator refused the template, or is not installed.
    #[error(
        "the SAM translator failed on {path} ({status}); install it with \
         `pip install cfn-lint==1.51.0 aws-sam-translator==1.110.0`:\n{stderr}"
    )]
    Failed {
        /// The template.
        path: String,
        /// python3's exit status.
        status: std::process::ExitStatus,
        /// What it printed on stderr.
        stderr: String,
    },
    /// Its output is not JSON.
    #[error("the SAM translator's output for {path} is not JSON: {source}")]
    Output {
        /// The template.
        path: String,
        /// The parser's error.
        source: serde_norway::Error,
    },
}

/// The CloudFormation template SAM expands `template` into (long-form intrinsics), with the
/// parameters' defaults.
pub fn translate(template: &Path) -> Result<Value, TranslateError> {
    let path = template.display().to_string();
    let out = Command::new("python3")
        .args(["-c", TRANSLATE_PY])
        .arg(template)
        .output()
        .map_err(TranslateError::Spawn)?;
    if !out.status.success() {
        return Err(TranslateError::Failed {
            path,
            status: out.status,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    serde_norway::from_slice(&out.stdout).map_err(|source| TranslateError::Output { path, source })
}
