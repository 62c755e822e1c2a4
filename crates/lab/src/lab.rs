//! `rollcall-lab serve` put together: one [`VersionPool`] per version (sharing the function's
//! concurrency limit), an optional [`Alias`] over them, the API front door forwarding to the
//! alias (or to `$LATEST`), and the Invoke API over every version, `$LATEST` and the alias.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use crate::cli::ServeConfig;
use protocol::lambda_api::LATEST;

use crate::api::gateway::RouteTarget;
use crate::control::alias::{Alias, AliasError};
use crate::control::registry::{self, Registry};
use crate::env::FunctionConfig;
use crate::invoke::Invoker;
use crate::pool::{ConcurrencyLimit, PoolConfig, PoolError, VersionPool};

use crate::api::gateway::server::{ApiConfig, ApiGateway, Listener};
use crate::api::lambda::{FunctionControl, InvokeApi, function_arn};
use crate::control::Provisioner;
use crate::control::code::CodeStore;

/// Concurrency of a function without `--concurrency` (shared by its versions): Lambda's
/// unreserved account concurrency.
pub const DEFAULT_CONCURRENCY: usize = crate::pool::ACCOUNT_CONCURRENCY;

/// Why the lab could not start.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// A version's configuration is invalid (missing code dir, no bootstrap, ...).
    #[error("--version {version}: {reason}")]
    Version {
        /// The version.
        version: String,
        /// What is wrong.
        reason: PoolError,
    },
    /// The alias's routing is invalid.
    #[error("--alias: {0}")]
    Alias(#[from] AliasError),
    /// The lab's state directory could not be made.
    #[error("cannot create the lab's state directory: {0} (check TMPDIR)")]
    State(String),
    /// A port could not be bound.
    #[error(
        "cannot listen on {addr} for the {what}: {reason} (pick another port, or 0 for any free port)"
    )]
    Bind {
        /// Which front door.
        what: &'static str,
        /// The address.
        addr: SocketAddr,
        /// The error.
        reason: std::io::Error,
    },
}

impl LabError {
    /// The process exit code: [`crate::exit::EXIT_USAGE`] for what the flags got wrong,
    /// [`crate::exit::EXIT_UNAVAILABLE`] for a port that cannot be bound.
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Version { .. } | Self::Alias(_) => crate::exit::EXIT_USAGE,
            Self::Bind { .. } | Self::State(_) => crate::exit::EXIT_UNAVAILABLE,
        }
    }
}

/// The running lab.
#[derive(Debug)]
pub struct Lab {
    /// The API front door.
    pub api: Listener,
    /// The Invoke API.
    pub lambda: Listener,
    /// The functions, versions and aliases both front doors resolve through.
    pub registry: Arc<Registry>,
    /// Pools by version.
    pub pools: BTreeMap<String, Arc<VersionPool>>,
    /// The alias, when configured.
    pub alias: Option<Arc<Alias>>,
    /// The seed of the alias's RNG.
    pub seed: u64,
    /// The lab's state directory (the code store of `CreateFunction`/`UpdateFunctionCode`
    /// zips), removed when the lab ends.
    pub state_dir: tempfile::TempDir,
}

/// The registry of the one function `config` describes: `$LATEST` (the last version's
/// configuration and pool), the published versions and the alias.
fn registry_of(
    config: &ServeConfig,
    configs: &BTreeMap<String, FunctionConfig>,
    pools: &BTreeMap<String, Arc<VersionPool>>,
    alias: Option<&Arc<Alias>>,
    published: std::time::SystemTime,
    limit: &Arc<ConcurrencyLimit>,
) -> Arc<Registry> {
    let version = |v: &str, config: &FunctionConfig, pool: &Arc<VersionPool>| {
        let mut version =
            registry::Version::new(v, config.clone(), Arc::clone(pool) as _).with_logs(pool.logs());
        version.last_modified = published;
        version
    };
    let latest_version = &config.latest().version;
    let mut function = registry::Function::new(
        version(LATEST, &configs[latest_version], &pools[latest_version]),
        Arc::clone(limit),
    );
    for (v, pool) in pools {
        // `ServeConfig` holds version numbers only (checked when parsed).
        if let Ok(number) = v.parse::<u64>() {
            let snapshot = version(v, &configs[v], pool);
            function.versions.insert(number, Arc::new(snapshot));
        }
    }
    if let (Some(a), Some(spec)) = (alias, &config.alias) {
        function.aliases.insert(spec.name.clone(), Arc::clone(a));
    }
    let mut snapshot = registry::Snapshot::default();
    snapshot.functions.insert(config.function.clone(), function);
    Registry::new(snapshot)
}

impl Lab {
    /// Starts every pool and both front doors as `config` says.
    pub async fn start(config: &ServeConfig) -> Result<Self, LabError> {
        let limit = ConcurrencyLimit::new(
            config
                .concurrency
                .map_or(DEFAULT_CONCURRENCY, |c| c as usize),
        );
        let mut pools = BTreeMap::new();
        let mut configs = BTreeMap::new();
        for spec in &config.versions {
            let mut function = FunctionConfig::new(
                config.function.clone(),
                spec.version.clone(),
                spec.code_dir.clone(),
                config.handler.clone(),
            );
            function.memory_mb = config.memory_mb;
            function.timeout = config.timeout;
            function.env_vars = config.env.clone();
            function.env_vars.extend(spec.env.clone());
            function.layer_dirs = config.layers.clone();
            configs.insert(spec.version.clone(), function.clone());
            let mut pool_config = PoolConfig::new(function);
            pool_config.shared_limit = Some(Arc::clone(&limit));
            pool_config.log_dir = config.log_dir.clone();
            let pool = VersionPool::new(pool_config).map_err(|reason| LabError::Version {
                version: spec.version.clone(),
                reason,
            })?;
            pools.insert(spec.version.clone(), Arc::new(pool));
        }
        let invokers: BTreeMap<String, Arc<dyn Invoker>> = pools
            .iter()
            .map(|(v, p)| (v.clone(), Arc::clone(p) as Arc<dyn Invoker>))
            .collect();
        let published = std::time::SystemTime::now();
        let alias = match &config.alias {
            None => None,
            Some(spec) => {
                let latest = &configs[&config.latest().version];
                let arn = function_arn(
                    (&latest.region, &latest.account_id),
                    &config.function,
                    Some(&spec.name),
                );
                let alias = Alias::new(
                    &spec.name,
                    invokers.clone(),
                    spec.routing.clone(),
                    config.seed,
                )?
                .with_invoked_arn(arn);
                Some(Arc::new(alias))
            }
        };
        let registry = registry_of(config, &configs, &pools, alias.as_ref(), published, &limit);
        let name = &config.function;
        let alias_name = config.alias.as_ref().map(|a| a.name.as_str());
        let front: Arc<dyn Invoker> = Arc::new(registry.invoker(name, alias_name));
        let target = RouteTarget {
            function: name.clone(),
            qualifier: alias_name.map(str::to_owned),
        };
        let routes = config.routes.clone().targeting(&target);
        let api = ApiGateway::new(ApiConfig::new(routes, config.default_format), front)
            .with_registry(Arc::clone(&registry))
            .bind(config.api_addr)
            .await
            .map_err(|reason| LabError::Bind {
                what: "API front door (--api-port)",
                addr: config.api_addr,
                reason,
            })?;
        let state_dir = tempfile::Builder::new()
            .prefix("rollcall-lab-")
            .tempdir()
            .map_err(|e| LabError::State(e.to_string()))?;
        let store = CodeStore::open(state_dir.path().join("code"))
            .map_err(|e| LabError::State(e.to_string()))?;
        let provisioner = Provisioner {
            log_dir: config.log_dir.clone(),
            idle_timeout: None,
        };
        let lambda = InvokeApi::new(Arc::clone(&registry))
            .with_control(FunctionControl { store, provisioner })
            .bind(config.lambda_addr)
            .await
            .map_err(|reason| LabError::Bind {
                what: "Lambda Invoke API (--lambda-port)",
                addr: config.lambda_addr,
                reason,
            })?;
        Ok(Self {
            api,
            lambda,
            registry,
            pools,
            alias,
            seed: config.seed,
            state_dir,
        })
    }

    /// Base URL of the API front door.
    pub fn api_url(&self) -> String {
        format!("http://{}", self.api.local_addr())
    }

    /// Endpoint URL of the Lambda API (`aws lambda invoke --endpoint-url`).
    pub fn lambda_url(&self) -> String {
        format!("http://{}", self.lambda.local_addr())
    }

    /// Stops both front doors, then every pool (no environment process is left).
    pub async fn shutdown(self) {
        self.api.shutdown().await;
        self.lambda.shutdown().await;
        for pool in self.pools.values() {
            pool.shutdown().await;
        }
        self.registry.shutdown_pools().await;
    }
}
