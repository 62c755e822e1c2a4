//! Registry operations on versions: listing them and publishing `$LATEST` (`PublishVersion`).

use std::sync::Arc;

use protocol::lambda_api::{LambdaError, LambdaErrorType};

use super::functions::{Provisioner, check_revision};
use super::registry::{Function, Registry, Version, new_revision_id};

impl Registry {
    /// The versions of `function`, `$LATEST` first, then by number (`ListVersionsByFunction`).
    pub fn versions(&self, function: &str) -> Result<Vec<Arc<Version>>, LambdaError> {
        let snapshot = self.snapshot();
        let f = snapshot.function(function)?;
        Ok(std::iter::once(Arc::clone(&f.latest))
            .chain(f.versions.values().cloned())
            .collect())
    }

    /// `PublishVersion`: a version snapshot of `$LATEST`, if `code_sha256` and `revision_id`
    /// (when given) are `$LATEST`'s (`PreconditionFailedException` otherwise). When neither code
    /// nor configuration changed since the last published version, that version is returned and
    /// nothing is published, as Lambda does.
    pub fn publish_version(
        &self,
        provisioner: &Provisioner,
        function: &str,
        code_sha256: Option<&str>,
        revision_id: Option<&str>,
        description: Option<String>,
    ) -> Result<Arc<Version>, LambdaError> {
        self.mutate(|snapshot| {
            let f = snapshot.functions.get_mut(function).ok_or_else(|| {
                LambdaError::new(
                    LambdaErrorType::ResourceNotFound,
                    format!("Function not found: {function}"),
                )
            })?;
            if let Some(sha) = code_sha256.filter(|s| *s != f.latest.meta.code_sha256) {
                return Err(LambdaError::new(
                    LambdaErrorType::PreconditionFailed,
                    format!(
                        "CodeSHA256 ({sha}) is different from current CodeSHA256 in $LATEST ({}). \
                         Please try again with the CodeSHA256 in $LATEST.",
                        f.latest.meta.code_sha256
                    ),
                ));
            }
            check_revision(revision_id, &f.latest)?;
            publish_latest(provisioner, f, description).map(Arc::clone)
        })
    }
}

/// Publishes `function`'s `$LATEST` as its next version number (numbers are never reused),
/// with a pool of its own; returns the last published version instead when `$LATEST` runs the
/// same code and configuration.
pub(super) fn publish_latest<'f>(
    provisioner: &Provisioner,
    function: &'f mut Function,
    description: Option<String>,
) -> Result<&'f Arc<Version>, LambdaError> {
    let last = function.versions.keys().next_back().copied();
    if let Some(last) = last
        && same_content(&function.latest, &function.versions[&last])
    {
        return Ok(&function.versions[&last]);
    }
    let number = function.last_published.max(last.unwrap_or(0)) + 1;
    let mut config = function.latest.config.clone();
    config.version = number.to_string();
    let mut meta = function.latest.meta.clone();
    if let Some(d) = description {
        meta.description = d;
    }
    meta.revision_id = new_revision_id();
    let version = provisioner.version(config, meta, &function.limit)?;
    function.last_published = number;
    function.versions.insert(number, Arc::new(version));
    Ok(&function.versions[&number])
}

/// Whether two versions run the same code with the same configuration (what `PublishVersion`
/// compares; the description and revision do not count).
pub fn same_content(a: &Version, b: &Version) -> bool {
    let (x, y) = (&a.config, &b.config);
    x.code_dir == y.code_dir
        && x.handler == y.handler
        && x.memory_mb == y.memory_mb
        && x.timeout == y.timeout
        && x.env_vars == y.env_vars
        && x.layer_dirs == y.layer_dirs
        && x.command == y.command
        && a.meta.code_sha256 == b.meta.code_sha256
        && a.meta.runtime == b.meta.runtime
        && a.meta.layers == b.meta.layers
        && a.meta.architecture == b.meta.architecture
}
