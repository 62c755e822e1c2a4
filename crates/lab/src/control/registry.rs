//! The lab's registry of functions: each function's `$LATEST`, its published versions (an
//! immutable configuration snapshot and the version's pool), its aliases and its shared
//! concurrency limit.
//!
//! Readers never wait for a writer: every lookup clones the current [`Snapshot`] (an `Arc`, the
//! read lock is held only for that clone) and resolves against it. Mutations serialise on their
//! own lock, build a new snapshot and publish it. Operations are split by resource:
//! [`functions`](super::functions), [`versions`](super::versions), [`aliases`](super::aliases).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock};
use std::time::SystemTime;

use protocol::lambda_api::{Architecture, LATEST, LambdaError, LambdaErrorType};

use super::alias::Alias;
use super::events::EventLog;
use crate::env::FunctionConfig;
use crate::invoke::Invoker;
use crate::pool::{ConcurrencyLimit, VersionPool};

/// One version of a function (`$LATEST` or a published number): what it runs, never changed
/// once published, and where its invocations go.
pub struct Version {
    /// `"$LATEST"`, `"1"`, ...
    pub version: String,
    /// The configuration this version runs with.
    pub config: FunctionConfig,
    /// When it was published (or `$LATEST` last changed).
    pub last_modified: SystemTime,
    /// Its pool of environments.
    pub pool: Arc<dyn Invoker>,
    /// Its environments' logs, for `X-Amz-Log-Type: Tail`, when the lab keeps them.
    pub logs: Option<Arc<dyn LogTail>>,
    /// What the Lambda API reports of it beyond what its environments run.
    pub meta: VersionMeta,
    /// The pool the lab shuts down when this version is replaced or deleted (`None`: the pool
    /// is owned elsewhere).
    pub owned_pool: Option<Arc<VersionPool>>,
}

/// What the Lambda API reports of a version beyond its [`FunctionConfig`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionMeta {
    /// `Runtime` (informational: the lab runs `bootstrap` or the configured command).
    pub runtime: String,
    /// `Description`.
    pub description: String,
    /// `CodeSha256` (base64).
    pub code_sha256: String,
    /// `CodeSize` in bytes.
    pub code_size: u64,
    /// `RevisionId`: changes on every change of the version (`$LATEST`'s code or configuration).
    pub revision_id: String,
    /// `Layers`: each layer version's ARN and `CodeSize`, in order (their dirs are in
    /// [`FunctionConfig::layer_dirs`]).
    pub layers: Vec<(String, u64)>,
    /// `Architectures`.
    pub architecture: Architecture,
}

impl Default for VersionMeta {
    fn default() -> Self {
        Self {
            runtime: crate::spec::DEFAULT_RUNTIME.to_owned(),
            description: String::new(),
            code_sha256: String::new(),
            code_size: 0,
            revision_id: new_revision_id(),
            layers: Vec::new(),
            architecture: Architecture::X86_64,
        }
    }
}

/// A fresh UUID-shaped `RevisionId`, never handed out before by this process.
pub fn new_revision_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let start = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let v = (u128::from(start) << 64) | u128::from(n);
    let x = format!("{v:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &x[..8],
        &x[8..12],
        &x[12..16],
        &x[16..20],
        &x[20..]
    )
}

/// Where a version's invocation logs are found, for `X-Amz-Log-Type: Tail`.
pub trait LogTail: Send + Sync {
    /// The log text of invocation `request_id`, if the lab keeps it.
    fn tail(&self, request_id: &str) -> Option<String>;
}

impl Version {
    /// Version `version` running `config` on `pool`, modified now, without logs.
    pub fn new(version: impl Into<String>, config: FunctionConfig, pool: Arc<dyn Invoker>) -> Self {
        Self {
            version: version.into(),
            config,
            last_modified: SystemTime::now(),
            pool,
            logs: None,
            meta: VersionMeta::default(),
            owned_pool: None,
        }
    }

    /// The same version with its logs at `logs`.
    #[must_use]
    pub fn with_logs(mut self, logs: Arc<dyn LogTail>) -> Self {
        self.logs = Some(logs);
        self
    }
}

impl std::fmt::Debug for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Version")
            .field("version", &self.version)
            .finish()
    }
}

/// One function in a snapshot.
#[derive(Debug, Clone)]
pub struct Function {
    /// Its name.
    pub name: String,
    /// `$LATEST`.
    pub latest: Arc<Version>,
    /// Published versions by number.
    pub versions: BTreeMap<u64, Arc<Version>>,
    /// Aliases by name (each holds its routing state).
    pub aliases: BTreeMap<String, Arc<Alias>>,
    /// The concurrency every version of the function draws from.
    pub limit: Arc<ConcurrencyLimit>,
    /// The highest version number ever published (numbers are never reused, even after a
    /// version is deleted).
    pub last_published: u64,
}

impl Function {
    /// A function whose `$LATEST` is `latest`, with no versions or aliases yet.
    pub fn new(latest: Version, limit: Arc<ConcurrencyLimit>) -> Self {
        Self {
            name: latest.config.function_name.clone(),
            latest: Arc::new(latest),
            versions: BTreeMap::new(),
            aliases: BTreeMap::new(),
            limit,
            last_published: 0,
        }
    }

    /// The version `version` names (`$LATEST` or a published number), if it exists.
    pub fn version(&self, version: &str) -> Option<&Arc<Version>> {
        if version == LATEST {
            return Some(&self.latest);
        }
        self.versions.get(&version.parse::<u64>().ok()?)
    }
}

/// What a qualifier resolved to.
#[derive(Debug, Clone)]
pub enum Target {
    /// A version (`$LATEST` or a number).
    Version(Arc<Version>),
    /// An alias, which picks its version per invocation.
    Alias(Arc<Alias>),
}

/// The registry at one moment; never changed once published.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Functions by name.
    pub functions: BTreeMap<String, Function>,
    /// Layers by name (see [`layers`](super::layers)).
    pub layers: BTreeMap<String, super::layers::Layer>,
}

impl Snapshot {
    /// The function `name`, or `ResourceNotFoundException`.
    pub fn function(&self, name: &str) -> Result<&Function, LambdaError> {
        self.functions.get(name).ok_or_else(|| {
            LambdaError::new(
                LambdaErrorType::ResourceNotFound,
                format!("Function not found: {name}"),
            )
        })
    }

    /// What `qualifier` (`None` for `$LATEST`) names in function `name`, or
    /// `ResourceNotFoundException`.
    pub fn resolve(&self, name: &str, qualifier: Option<&str>) -> Result<Target, LambdaError> {
        let function = self.function(name)?;
        let qualifier = qualifier.unwrap_or(LATEST);
        if let Some(v) = function.version(qualifier) {
            return Ok(Target::Version(Arc::clone(v)));
        }
        function
            .aliases
            .get(qualifier)
            .map(|a| Target::Alias(Arc::clone(a)))
            .ok_or_else(|| {
                LambdaError::new(
                    LambdaErrorType::ResourceNotFound,
                    format!("Function not found: {name}:{qualifier}"),
                )
            })
    }
}

/// The lab's mutable registry.
#[derive(Debug, Default)]
pub struct Registry {
    current: RwLock<Arc<Snapshot>>,
    writer: Mutex<()>,
    /// Where applied routing changes are recorded (set once by the lab's wiring).
    events: OnceLock<Arc<EventLog>>,
    /// The RNG seed of the next alias made through the Lambda API.
    next_alias_seed: std::sync::atomic::AtomicU64,
}

impl Registry {
    /// A registry holding `snapshot`.
    pub fn new(snapshot: Snapshot) -> Arc<Self> {
        Arc::new(Self {
            current: RwLock::new(Arc::new(snapshot)),
            writer: Mutex::new(()),
            events: OnceLock::new(),
            next_alias_seed: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Aliases created from now on draw from `seed`, `seed + 1`, ... (the lab's seed plus the
    /// number of aliases it already has).
    pub fn set_next_alias_seed(&self, seed: u64) {
        self.next_alias_seed
            .store(seed, std::sync::atomic::Ordering::Relaxed);
    }

    /// The RNG seed of a new alias.
    pub fn take_alias_seed(&self) -> u64 {
        self.next_alias_seed
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// Records every routing change applied from now on in `log` (the first log set stays).
    pub fn set_event_log(&self, log: Arc<EventLog>) {
        let _ = self.events.set(log);
    }

    /// The event log routing changes go to, when set.
    pub fn event_log(&self) -> Option<&Arc<EventLog>> {
        self.events.get()
    }

    /// The current snapshot (never blocks behind a mutation in progress).
    pub fn snapshot(&self) -> Arc<Snapshot> {
        Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Runs `change` on a copy of the current snapshot and publishes the copy if `change`
    /// succeeds. Mutations run one at a time; readers keep the snapshot they hold.
    pub fn mutate<T, E>(&self, change: impl FnOnce(&mut Snapshot) -> Result<T, E>) -> Result<T, E> {
        let _writer = self.lock_writer();
        let mut next = (*self.snapshot()).clone();
        let out = change(&mut next)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(next);
        Ok(out)
    }

    /// The pool of `version` of `function`, reading a newer snapshot than `seen` if the version
    /// was published after it.
    pub fn version_pool(
        &self,
        seen: &Snapshot,
        function: &str,
        version: &str,
    ) -> Result<Arc<dyn Invoker>, LambdaError> {
        let find = |s: &Snapshot| {
            s.function(function)
                .ok()
                .and_then(|f| f.version(version))
                .map(|v| Arc::clone(&v.pool))
        };
        find(seen)
            .or_else(|| find(&self.snapshot()))
            .ok_or_else(|| {
                LambdaError::new(
                    LambdaErrorType::ResourceNotFound,
                    format!("Function not found: {function}:{version}"),
                )
            })
    }

    fn lock_writer(&self) -> MutexGuard<'_, ()> {
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
#[path = "registry_tests.rs"]
mod tests;
