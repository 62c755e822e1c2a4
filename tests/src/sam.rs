//! The SAM transform, run offline with the real translator (`aws-sam-translator`), as the lab
//! runs it (`lab::template::translate`): what CloudFormation would deploy from a template.
//! Code that `sam build` builds is staged as `s3://rollcall-lab/<Id>-unbuilt`, so a Version's
//! hashed logical id depends on the properties, not on a build.

use std::collections::BTreeMap;
use std::path::Path;

use crate::cfn::Value;

/// Why a template could not be translated.
#[derive(Debug, thiserror::Error)]
pub enum TranslateError {
    /// The template cannot be read or parsed.
    #[error("{path}: {message}")]
    Read {
        /// The template.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The translator refused the template, or is not installed.
    #[error("{0}")]
    Translator(#[from] lab::template::translate::TranslateError),
}

/// The CloudFormation template SAM expands `template` into (long-form intrinsics), with the
/// parameters' defaults.
pub fn translate(template: &Path) -> Result<Value, TranslateError> {
    let read = |message: String| TranslateError::Read {
        path: template.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(template).map_err(|e| read(e.to_string()))?;
    let parsed = cloudformation::parse_template(&text).map_err(|e| read(e.to_string()))?;
    let options = lab::template::translate::TranslateOptions::default();
    let translation =
        lab::template::translate::translate(template, parsed, &BTreeMap::new(), &options)?;
    serde_norway::to_value(&translation.template).map_err(|e| read(e.to_string()))
}
