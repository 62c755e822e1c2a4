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

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use protocol::lambda_api::{LATEST, LambdaErrorType};

    use super::*;
    use crate::control::{Snapshot, VersionMeta};
    use crate::env::FunctionConfig;
    use crate::pool::ConcurrencyLimit;

    /// A registry with `f`, whose code dir holds an executable `bootstrap` (never run here).
    fn registry(dir: &std::path::Path) -> Arc<Registry> {
        let bootstrap = dir.join("bootstrap");
        std::fs::write(&bootstrap, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&bootstrap, PermissionsExt::from_mode(0o755)).unwrap();
        let registry = Registry::new(Snapshot::default());
        let config = FunctionConfig::new("f", LATEST, dir, "bootstrap");
        let meta = VersionMeta {
            code_sha256: "one".into(),
            ..VersionMeta::default()
        };
        let limit = ConcurrencyLimit::new(10);
        registry
            .create_function(&Provisioner::default(), config, meta, limit, false)
            .unwrap();
        registry
    }

    #[tokio::test]
    async fn publishing_snapshots_latest_once_per_change_and_never_reuses_a_number() {
        let dir = tempfile::tempdir().unwrap();
        let registry = registry(dir.path());
        let p = Provisioner::default();
        let publish = || registry.publish_version(&p, "f", None, None, None).unwrap();
        let one = publish();
        assert_eq!(one.version, "1");
        assert_eq!(one.config.version, "1", "the version's environments say 1");
        assert_eq!(publish().version, "1", "nothing changed: the same version");
        let latest = registry.snapshot().functions["f"]
            .latest
            .meta
            .revision_id
            .clone();
        assert_ne!(
            one.meta.revision_id, latest,
            "each version has its own revision"
        );
        registry.delete_function("f", Some("1")).unwrap();
        registry
            .update_latest(&p, "f", Some(&latest), false, |c, _| {
                c.memory_mb = 256;
                Ok(())
            })
            .unwrap();
        let two = publish();
        assert_eq!(
            two.version, "2",
            "version 1 was deleted, its number is not reused"
        );
        assert_eq!(two.config.memory_mb, 256);
        let stale = registry
            .publish_version(&p, "f", None, Some(&latest), None)
            .unwrap_err();
        assert_eq!(stale.kind, LambdaErrorType::PreconditionFailed);
        let other_code = registry
            .publish_version(&p, "f", Some("two"), None, None)
            .unwrap_err();
        assert_eq!(other_code.kind, LambdaErrorType::PreconditionFailed);
        registry.shutdown_pools().await;
    }
}
