//! Registry operations on functions: invoking a function by qualifier; creating, changing
//! (`$LATEST`) and deleting functions, each version with a pool of its own.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use protocol::lambda_api::{LATEST, LambdaError, LambdaErrorType};

use super::registry::{Function, Registry, Target, Version, VersionMeta, new_revision_id};
use super::versions::publish_latest;
use crate::env::FunctionConfig;
use crate::invoke::{InvokeError, InvokeFuture, InvokeRequest, Invoker};
use crate::pool::{ConcurrencyLimit, PoolConfig, VersionPool};

/// Invokes `(function, qualifier)` through the registry: the qualifier is resolved per
/// invocation from the current snapshot, so versions and aliases changed later are followed.
#[derive(Debug)]
pub struct RegistryInvoker {
    registry: Arc<Registry>,
    function: String,
    qualifier: Option<String>,
}

impl Registry {
    /// An invoker of `function` at `qualifier` (`None`: `$LATEST`).
    pub fn invoker(self: &Arc<Self>, function: &str, qualifier: Option<&str>) -> RegistryInvoker {
        RegistryInvoker {
            registry: Arc::clone(self),
            function: function.to_owned(),
            qualifier: qualifier.map(str::to_owned),
        }
    }
}

impl Invoker for RegistryInvoker {
    fn invoke(&self, mut request: InvokeRequest) -> InvokeFuture<'_> {
        Box::pin(async move {
            let snapshot = self.registry.snapshot();
            let target = snapshot
                .resolve(&self.function, self.qualifier.as_deref())
                .map_err(|e| InvokeError::NotFound(e.message))?;
            let pool = match target {
                Target::Version(v) => Arc::clone(&v.pool),
                Target::Alias(alias) => {
                    let version = alias.pick();
                    if request.invoked_function_arn.is_none() {
                        request.invoked_function_arn = alias.invoked_arn().map(str::to_owned);
                    }
                    self.registry
                        .version_pool(&snapshot, &self.function, &version)
                        .map_err(|e| InvokeError::NotFound(e.message))?
                }
            };
            let retry = request.clone();
            match pool.invoke(request).await {
                // The version's pool was replaced (`$LATEST` changed) between the lookup and
                // the invocation: the new snapshot's pool takes it.
                Err(InvokeError::Service { status: 503, .. })
                    if !Arc::ptr_eq(&snapshot, &self.registry.snapshot()) =>
                {
                    Box::pin(self.invoke(retry)).await
                }
                other => other,
            }
        })
    }
}

/// What the registry needs to make a new version's pool: where its logs go and how long idle
/// environments live.
#[derive(Debug, Clone, Default)]
pub struct Provisioner {
    /// Directory for log files (see [`PoolConfig::log_dir`]); memory only when `None`.
    pub log_dir: Option<PathBuf>,
    /// Idle environments are stopped after this long (the pool's default when `None`).
    pub idle_timeout: Option<Duration>,
    /// The lab's Lambda API URL, every environment's SDK endpoint (see
    /// [`FunctionConfig::sdk_endpoint`]).
    pub sdk_endpoint: Option<String>,
    /// Where every environment's output lines also go (the lab's CloudWatch).
    pub log_tap: Option<Arc<dyn crate::env::LineTap>>,
}

impl Provisioner {
    /// A version running `config` (whose `version` names it) with a pool of its own drawing on
    /// `limit`. A configuration the lab cannot run (no `bootstrap` in the package, ...) is
    /// refused with `InvalidParameterValueException` naming what is wrong.
    pub fn version(
        &self,
        config: FunctionConfig,
        meta: VersionMeta,
        limit: &Arc<ConcurrencyLimit>,
    ) -> Result<Version, LambdaError> {
        let mut config = config;
        config.sdk_endpoint.clone_from(&self.sdk_endpoint);
        config.log_tap.clone_from(&self.log_tap);
        let mut pool_config = PoolConfig::new(config.clone());
        pool_config.shared_limit = Some(Arc::clone(limit));
        pool_config.log_dir.clone_from(&self.log_dir);
        if let Some(idle) = self.idle_timeout {
            pool_config.idle_timeout = idle;
        }
        let pool = VersionPool::new(pool_config).map_err(|e| {
            LambdaError::new(
                LambdaErrorType::InvalidParameterValue,
                format!("The lab cannot run this configuration: {e}"),
            )
        })?;
        let pool = Arc::new(pool);
        let mut version = Version::new(config.version.clone(), config, Arc::clone(&pool) as _)
            .with_logs(pool.logs());
        version.meta = meta;
        version.owned_pool = Some(pool);
        Ok(version)
    }
}

/// Stops `version`'s environments once its invocations in flight have ended (idle ones at
/// once), if the registry owns its pool. Needs a Tokio runtime.
pub fn retire(version: &Version) {
    if let Some(pool) = version.owned_pool.clone() {
        tracing::info!(version = %version.version, function = %version.config.function_name, "retiring a version's environments");
        tokio::spawn(async move { pool.shutdown().await });
    }
}

/// `PreconditionFailedException` unless `revision_id` (when given) is `current`'s.
pub fn check_revision(revision_id: Option<&str>, current: &Version) -> Result<(), LambdaError> {
    match revision_id {
        Some(r) if r != current.meta.revision_id => Err(LambdaError::new(
            LambdaErrorType::PreconditionFailed,
            "The Revision Id provided does not match the latest Revision Id. Call the \
             GetFunction/GetAlias API to retrieve the latest Revision Id",
        )),
        _ => Ok(()),
    }
}

impl Registry {
    /// `CreateFunction`: a new function whose `$LATEST` runs `config` (its `version` is
    /// `$LATEST`); with `publish`, version 1 too. Returns the version to report (`$LATEST`, or
    /// version 1 when published). `ResourceConflictException` when the name is taken.
    pub fn create_function(
        &self,
        provisioner: &Provisioner,
        config: FunctionConfig,
        meta: VersionMeta,
        limit: Arc<ConcurrencyLimit>,
        publish: bool,
    ) -> Result<Arc<Version>, LambdaError> {
        let name = config.function_name.clone();
        let conflict = || {
            LambdaError::new(
                LambdaErrorType::ResourceConflict,
                format!("Function already exist: {name}"),
            )
        };
        if self.snapshot().functions.contains_key(&name) {
            return Err(conflict());
        }
        let latest = provisioner.version(config, meta, &limit)?;
        self.mutate(|snapshot| {
            if snapshot.functions.contains_key(&name) {
                return Err(conflict());
            }
            let mut function = Function::new(latest, limit);
            let reported = if publish {
                Arc::clone(publish_latest(provisioner, &mut function, None)?)
            } else {
                Arc::clone(&function.latest)
            };
            snapshot.functions.insert(name.clone(), function);
            Ok(reported)
        })
    }

    /// Changes `$LATEST` of `function` (`UpdateFunctionCode`, `UpdateFunctionConfiguration`):
    /// `change` edits a copy of its configuration and metadata; a new pool runs the result
    /// (the old one drains, then stops), under a new `RevisionId`. With `publish`, the result is
    /// published too and that version is returned.
    pub fn update_latest(
        &self,
        provisioner: &Provisioner,
        function: &str,
        revision_id: Option<&str>,
        publish: bool,
        change: impl FnOnce(&mut FunctionConfig, &mut VersionMeta) -> Result<(), LambdaError>,
    ) -> Result<Arc<Version>, LambdaError> {
        let (reported, old) = self.mutate(|snapshot| {
            let f = snapshot.functions.get_mut(function).ok_or_else(|| {
                LambdaError::new(
                    LambdaErrorType::ResourceNotFound,
                    format!("Function not found: {function}"),
                )
            })?;
            check_revision(revision_id, &f.latest)?;
            let mut config = f.latest.config.clone();
            // The one-function flags run `$LATEST` in their last version's environments; a
            // changed `$LATEST` runs in its own, which report `$LATEST` as Lambda's do.
            config.version = LATEST.to_owned();
            let mut meta = f.latest.meta.clone();
            change(&mut config, &mut meta)?;
            meta.revision_id = new_revision_id();
            let latest = provisioner.version(config, meta, &f.limit)?;
            let old = std::mem::replace(&mut f.latest, Arc::new(latest));
            let reported = if publish {
                Arc::clone(publish_latest(provisioner, f, None)?)
            } else {
                Arc::clone(&f.latest)
            };
            Ok((reported, old))
        })?;
        retire(&old);
        Ok(reported)
    }

    /// `DeleteFunction`: the whole function (`qualifier` `None`), or one published version.
    /// A version an alias routes to is refused (`ResourceConflictException`), as is
    /// `$LATEST` alone. The deleted versions' idle environments stop at once, busy ones after
    /// their invocation.
    pub fn delete_function(
        &self,
        function: &str,
        qualifier: Option<&str>,
    ) -> Result<(), LambdaError> {
        let gone = self.mutate(|snapshot| {
            let f = snapshot.function(function)?;
            let Some(qualifier) = qualifier else {
                let f = snapshot.functions.remove(function).expect("found above");
                return Ok(std::iter::once(f.latest).chain(f.versions.into_values()).collect::<Vec<_>>());
            };
            let invalid = |message: String| LambdaError::new(LambdaErrorType::InvalidParameterValue, message);
            if qualifier == LATEST {
                return Err(invalid(
                    "$LATEST version cannot be deleted without deleting the function.".into(),
                ));
            }
            let number = qualifier.parse::<u64>().map_err(|_| {
                invalid(format!(
                    "Deletion of aliases is not supported by DeleteFunction: use DeleteAlias for {qualifier}"
                ))
            })?;
            if !f.versions.contains_key(&number) {
                return Err(LambdaError::new(
                    LambdaErrorType::ResourceNotFound,
                    format!("Function not found: {function}:{qualifier}"),
                ));
            }
            let users: Vec<&str> = f
                .aliases
                .values()
                .filter(|a| a.routing().versions().any(|v| v == qualifier))
                .map(|a| a.name())
                .collect();
            if !users.is_empty() {
                return Err(LambdaError::new(
                    LambdaErrorType::ResourceConflict,
                    format!(
                        "Unable to delete version because the following aliases reference it: [{}]",
                        users.join(", ")
                    ),
                ));
            }
            let f = snapshot.functions.get_mut(function).expect("found above");
            Ok(f.versions.remove(&number).into_iter().collect())
        })?;
        for version in &gone {
            retire(version);
        }
        Ok(())
    }

    /// Shuts down every pool the registry owns (the lab's exit): invocations in flight end
    /// first.
    pub async fn shutdown_pools(&self) {
        let snapshot = self.snapshot();
        for f in snapshot.functions.values() {
            for v in std::iter::once(&f.latest).chain(f.versions.values()) {
                if let Some(pool) = &v.owned_pool {
                    pool.shutdown().await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::SystemTime;

    use super::*;
    use crate::control::Snapshot;
    use crate::invoke::{InvokeOutcome, InvokeResponse};

    /// Answers as its version.
    struct Answers(&'static str);

    impl Invoker for Answers {
        fn invoke(&self, _: InvokeRequest) -> InvokeFuture<'_> {
            Box::pin(async move {
                Ok(InvokeResponse {
                    executed_version: self.0.to_owned(),
                    cold_start: false,
                    outcome: InvokeOutcome::Success { body: "{}".into() },
                })
            })
        }
    }

    /// A `$LATEST` pool that was replaced between the invoker's lookup and its invocation:
    /// it replaces itself in the registry, then answers as a closed pool does.
    struct Replaced(Mutex<Option<Arc<Registry>>>);

    impl Invoker for Replaced {
        fn invoke(&self, _: InvokeRequest) -> InvokeFuture<'_> {
            Box::pin(async move {
                if let Some(registry) = self.0.lock().unwrap().take() {
                    registry
                        .mutate(|s| {
                            let f = s.functions.get_mut("f").unwrap();
                            f.latest = Arc::new(version(Arc::new(Answers("new"))));
                            Ok::<_, ()>(())
                        })
                        .unwrap();
                }
                Err(InvokeError::Service {
                    status: 503,
                    error_type: "ServiceException".into(),
                    message: "version $LATEST is shutting down".into(),
                })
            })
        }
    }

    fn version(pool: Arc<dyn Invoker>) -> Version {
        let mut v = Version::new(
            LATEST,
            FunctionConfig::new("f", LATEST, "/code", "bootstrap"),
            pool,
        );
        v.last_modified = SystemTime::UNIX_EPOCH;
        v
    }

    #[tokio::test]
    async fn an_invocation_that_meets_a_replaced_pool_runs_on_its_successor() {
        let replaced = Arc::new(Replaced(Mutex::new(None)));
        let mut snapshot = Snapshot::default();
        let f = Function::new(version(replaced.clone()), ConcurrencyLimit::new(1));
        snapshot.functions.insert("f".into(), f);
        let registry = Registry::new(snapshot);
        *replaced.0.lock().unwrap() = Some(Arc::clone(&registry));
        let answer = registry
            .invoker("f", None)
            .invoke(InvokeRequest::default())
            .await
            .expect("the new $LATEST answers");
        assert_eq!(answer.executed_version, "new");
    }
}
