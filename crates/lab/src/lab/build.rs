//! Building a lab's functions from its spec: code ready to run, one pool per version sharing
//! the function's concurrency, and its aliases.

use super::*;
use crate::spec::{self, FunctionSpec};

/// One function built from its spec.
pub(super) struct Built {
    pub(super) function: registry::Function,
    pub(super) pools: BTreeMap<String, Arc<VersionPool>>,
}

/// What the lab needs while it builds its functions.
pub(super) struct Builder<'a> {
    pub(super) spec: &'a LabSpec,
    pub(super) options: &'a ServeOptions,
    pub(super) store: CodeStore,
    /// The spec's layers, each registered as its layer's version 1.
    pub(super) layers: BTreeMap<String, Arc<LayerVersion>>,
    pub(super) unreserved: Arc<ConcurrencyLimit>,
    pub(super) published: SystemTime,
    pub(super) seed: u64,
    pub(super) aliases_so_far: u64,
    /// The Lambda API's URL, every environment's SDK endpoint for Lambda and CodeDeploy.
    pub(super) sdk_endpoint: Option<String>,
    /// The lab's CloudWatch, fed every environment's output lines.
    pub(super) cloudwatch: Arc<LabCloudWatch>,
}

impl Builder<'_> {
    /// How an error names a key: the flag (`--version 1`) or the spec file and key.
    pub(super) fn key(
        &self,
        flag: impl FnOnce() -> String,
        key: impl FnOnce() -> String,
    ) -> String {
        match &self.options.spec_file {
            None => flag(),
            Some(file) => format!("{}: {}", file.display(), key()),
        }
    }

    /// `code` ready to run: a dir as it is, a zip unpacked into the store.
    pub(super) async fn code(
        &self,
        code: &spec::Code,
        key: String,
    ) -> Result<code::Code, LabError> {
        let store = self.store.clone();
        let code = code.clone();
        let resolved = tokio::task::spawn_blocking(move || match &code {
            spec::Code::Dir(dir) => store.register_dir(dir),
            spec::Code::Zip(zip) => {
                let bytes = std::fs::read(zip).map_err(|source| CodeError::Io {
                    path: zip.clone(),
                    source,
                })?;
                store.unpack_zip(&bytes)
            }
        })
        .await
        .expect("resolving code does not panic");
        resolved.map_err(|reason| LabError::Code { key, reason })
    }

    /// `config` with the lab's SDK endpoint and its output tapped for EMF.
    pub(super) fn wired(&self, mut config: FunctionConfig) -> FunctionConfig {
        config.sdk_endpoint.clone_from(&self.sdk_endpoint);
        config.log_tap = Some(Arc::clone(&self.cloudwatch) as _);
        config
    }

    pub(super) fn pool(
        &self,
        config: FunctionConfig,
        limit: &Arc<ConcurrencyLimit>,
        key: String,
    ) -> Result<Arc<VersionPool>, LabError> {
        let mut pool_config = PoolConfig::new(config);
        pool_config.shared_limit = Some(Arc::clone(limit));
        pool_config.log_dir = self.options.log_dir.clone();
        VersionPool::new(pool_config)
            .map(Arc::new)
            .map_err(|reason| LabError::Version { key, reason })
    }

    /// Starts the pools of `name`'s `$LATEST` and published versions, and its aliases.
    pub(super) async fn function(
        &mut self,
        name: &FunctionName,
        f: &FunctionSpec,
    ) -> Result<Built, LabError> {
        let limit = match f.reserved_concurrency {
            Some(n) => ConcurrencyLimit::new(n as usize),
            None => Arc::clone(&self.unreserved),
        };
        let layers: Vec<&Arc<LayerVersion>> =
            f.layers.iter().map(|l| &self.layers[l.as_str()]).collect();
        let layer_dirs: Vec<PathBuf> = layers.iter().map(|l| l.dir.clone()).collect();
        let layer_refs: Vec<(String, u64)> = layers
            .iter()
            .map(|l| (l.arn.to_string(), l.code_size))
            .collect();
        let mut pools: BTreeMap<String, Arc<VersionPool>> = BTreeMap::new();
        let mut configs: BTreeMap<String, (FunctionConfig, code::Code)> = BTreeMap::new();
        for (i, (n, v)) in f.numbered_versions().enumerate() {
            let key = |what: &str| {
                self.key(
                    || format!("--version {n}"),
                    || format!("functions.{name}.versions[{i}]{what}"),
                )
            };
            let code = self.code(&v.code, key(".code")).await?;
            let config = self
                .spec
                .function_config(name, Some(n), code.dir.clone(), layer_dirs.clone())
                .map(|c| self.wired(c))
                .expect("the version is in the spec");
            pools.insert(n.to_string(), self.pool(config.clone(), &limit, key(""))?);
            configs.insert(n.to_string(), (config, code));
        }
        // `$LATEST` runs in the last version's pool for the flags (see
        // `FunctionSpec::latest_is_last_version`); otherwise in its own.
        let last = f
            .versions
            .last()
            .map(|v| (v, pools.keys().next_back().cloned()));
        let (latest_config, latest_pool) = match last {
            Some((v, Some(number)))
                if f.latest_is_last_version
                    && v.code == f.code
                    && v.environment == f.environment =>
            {
                (configs[&number].clone(), Arc::clone(&pools[&number]))
            }
            _ => {
                let key = || self.key(|| "--version".into(), || format!("functions.{name}.code"));
                let code = self.code(&f.code, key()).await?;
                let config = self
                    .spec
                    .function_config(name, None, code.dir.clone(), layer_dirs.clone())
                    .map(|c| self.wired(c))
                    .expect("the function is in the spec");
                let pool = self.pool(config.clone(), &limit, key())?;
                pools.insert(LATEST.to_owned(), Arc::clone(&pool));
                ((config, code), pool)
            }
        };
        let version = |label: &str,
                       (config, code): &(FunctionConfig, code::Code),
                       pool: &Arc<VersionPool>| {
            let mut version = registry::Version::new(label, config.clone(), Arc::clone(pool) as _)
                .with_logs(pool.logs());
            version.last_modified = self.published;
            version.meta = VersionMeta {
                runtime: f.runtime.clone(),
                code_sha256: code.sha256.clone(),
                code_size: code.size,
                layers: layer_refs.clone(),
                ..VersionMeta::default()
            };
            version
        };
        let mut function =
            registry::Function::new(version(LATEST, &latest_config, &latest_pool), limit);
        for (label, config) in &configs {
            let number = label
                .parse::<u64>()
                .expect("a published version is a number");
            let snapshot = version(label, config, &pools[label]);
            function.versions.insert(number, Arc::new(snapshot));
            function.last_published = function.last_published.max(number);
        }
        let invokers: BTreeMap<String, Arc<dyn Invoker>> = function
            .versions
            .values()
            .map(|v| (v.version.clone(), Arc::clone(&v.pool)))
            .chain([(LATEST.to_owned(), Arc::clone(&function.latest.pool))])
            .collect();
        let home = (
            self.spec.scope.region.as_str(),
            self.spec.scope.account.as_str(),
        );
        for (alias_name, routing) in &f.aliases {
            let arn = function_arn(home, name.as_str(), Some(alias_name.as_str()));
            let seed = self.seed.wrapping_add(self.aliases_so_far);
            self.aliases_so_far += 1;
            let alias = Alias::new(alias_name.as_str(), invokers.clone(), routing.clone(), seed)?
                .with_invoked_arn(arn);
            function
                .aliases
                .insert(alias_name.as_str().to_owned(), Arc::new(alias));
        }
        Ok(Built { function, pools })
    }
}
