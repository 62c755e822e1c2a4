//! A function version's pool of execution environments, implementing [`Invoker`].
//!
//! - Warm reuse, most recently used first (LIFO), like Lambda, so idle environments age out.
//! - Cold start on demand while fewer than the concurrency limit are busy (initialising or
//!   invoking); beyond it the invocation is **throttled**, not queued: Lambda answers a
//!   synchronous invoke over the concurrency limit with `429 TooManyRequestsException`
//!   (`ReservedFunctionConcurrentInvocationLimitExceeded`) at once.
//! - A [`ConcurrencyLimit`] can be shared by the pools of several versions of one function
//!   (reserved concurrency is per function).
//! - Idle environments are spun down after the idle timeout; [`VersionPool::shutdown`] stops
//!   everything; dropping the pool SIGKILLs whatever is left.
//! - An environment whose Init fails is discarded; the caller gets the init error as a function
//!   error (`X-Amz-Function-Error: Unhandled` with Lambda's error document), as Lambda reports
//!   an on-demand init failure; the next invocation cold-starts again.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::accept::{WARN_EVERY, WarnThrottle};
use crate::env::{ConfigError, Environment, FunctionConfig, LogSink, Resolved, StartError};
use crate::invoke::{
    InvokeError, InvokeFuture, InvokeOutcome, InvokeRequest, InvokeResponse, Invoker,
};

/// Largest synchronous request payload Lambda accepts (6 MB).
pub const MAX_REQUEST_BYTES: usize = protocol::lambda_api::limits::SYNC_PAYLOAD_MAX;

/// Lambda's default concurrency limit of an account in a Region (the "Concurrent executions"
/// quota of the Lambda quotas page: 1,000): what a function without reserved concurrency may
/// use, shared as "unreserved account concurrency".
pub const ACCOUNT_CONCURRENCY: usize = 1000;

/// A concurrency budget (reserved concurrency), shareable between the versions of a function.
#[derive(Debug)]
pub struct ConcurrencyLimit {
    limit: usize,
    used: Mutex<usize>,
}

impl ConcurrencyLimit {
    /// A budget of `limit` concurrent executions.
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self {
            limit,
            used: Mutex::new(0),
        })
    }

    /// Takes one unit unless all are in use.
    fn try_acquire(self: &Arc<Self>) -> Option<Permit> {
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        (*used < self.limit).then(|| {
            *used += 1;
            Permit(self.clone())
        })
    }

    /// Units in use.
    pub fn in_use(&self) -> usize {
        *self.used.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The limit.
    pub fn limit(&self) -> usize {
        self.limit
    }
}

#[derive(Debug)]
struct Permit(Arc<ConcurrencyLimit>);

impl Drop for Permit {
    fn drop(&mut self) {
        let mut used = self.0.used.lock().unwrap_or_else(|e| e.into_inner());
        *used = used.saturating_sub(1);
    }
}

/// What happened to a version's invocations and environments, counted since the pool started.
#[derive(Debug, Default)]
struct Counters {
    invocations: AtomicU64,
    cold_starts: AtomicU64,
    throttles: AtomicU64,
    init_failures: AtomicU64,
    replacements: AtomicU64,
}

/// A snapshot of a pool's counters, for the lab's summary on exit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Invocations that got an environment (cold or warm).
    pub invocations: u64,
    /// Of which started a new environment.
    pub cold_starts: u64,
    /// Invocations refused at the concurrency limit (429).
    pub throttles: u64,
    /// Environments whose Init failed.
    pub init_failures: u64,
    /// Environments reset by an invocation (timeout, crash) and replaced on the next one.
    pub replacements: u64,
}

impl std::fmt::Display for PoolStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} invocations, {} cold starts, {} throttled, {} init failures, {} environments replaced",
            self.invocations,
            self.cold_starts,
            self.throttles,
            self.init_failures,
            self.replacements
        )
    }
}

/// Configuration of a [`VersionPool`].
#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// The version's function configuration.
    pub function: FunctionConfig,
    /// Concurrent executions allowed (ignored when `shared_limit` is set).
    pub concurrency_limit: usize,
    /// A limit shared with other versions of the same function.
    pub shared_limit: Option<Arc<ConcurrencyLimit>>,
    /// Idle environments are spun down after this long.
    pub idle_timeout: Duration,
    /// Directory for log files: `<dir>/<function>/<version>/<stream>.log` (the version's "log
    /// group" holds one file per environment, its "log stream"); memory only when `None`.
    pub log_dir: Option<PathBuf>,
    /// Lines kept in memory by the version's log sink.
    pub log_capacity: usize,
}

impl PoolConfig {
    /// Defaults: concurrency [`ACCOUNT_CONCURRENCY`], idle timeout 5 min, logs in memory
    /// (10,000 lines).
    pub fn new(function: FunctionConfig) -> Self {
        Self {
            function,
            concurrency_limit: ACCOUNT_CONCURRENCY,
            shared_limit: None,
            idle_timeout: Duration::from_secs(300),
            log_dir: None,
            log_capacity: 10_000,
        }
    }
}

/// Why a pool could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// The function configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The concurrency limit is 0.
    #[error("concurrency limit 0 is invalid; use at least 1")]
    ZeroConcurrency,
}

struct Idle {
    env: Environment,
    since: Instant,
}

struct PoolState {
    idle: Vec<Idle>,
    busy: usize,
    closed: bool,
}

struct PoolInner {
    cfg: Arc<FunctionConfig>,
    resolved: Arc<Resolved>,
    limit: Arc<ConcurrencyLimit>,
    idle_timeout: Duration,
    logs: Arc<LogSink>,
    state: Mutex<PoolState>,
    busy_changed: watch::Sender<usize>,
    groups: Mutex<BTreeSet<i32>>,
    counters: Counters,
    /// Throttles are warned about at most once a second (with the count), not one line each.
    throttle_warnings: Mutex<WarnThrottle>,
}

impl PoolInner {
    fn lock(&self) -> std::sync::MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn groups(&self) -> std::sync::MutexGuard<'_, BTreeSet<i32>> {
        self.groups.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn done_busy(&self) {
        let busy = {
            let mut st = self.lock();
            st.busy -= 1;
            st.busy
        };
        self.busy_changed.send_replace(busy);
    }

    /// Ends an invocation's hold on `env` and its concurrency unit. A reusable environment goes
    /// back to the idle list in the same critical section that frees its unit, so a request
    /// that finds the limit free again also finds the environment warm (no needless cold start,
    /// no throttle while an idle environment is being put back).
    async fn finish(&self, env: Environment, permit: Permit, reusable: bool) {
        let env = {
            let mut st = self.lock();
            if reusable && !st.closed {
                st.idle.push(Idle {
                    env,
                    since: Instant::now(),
                });
                drop(permit);
                st.busy -= 1;
                let busy = st.busy;
                drop(st);
                self.busy_changed.send_replace(busy);
                return;
            }
            env
        };
        self.retire(env).await;
        drop(permit);
        self.done_busy();
    }

    async fn retire(&self, mut env: Environment) {
        env.shutdown().await;
        let mut groups = self.groups();
        for pid in env.pids() {
            groups.remove(&pid);
        }
    }
}

/// The environments of one function version.
pub struct VersionPool {
    inner: Arc<PoolInner>,
    reaper: JoinHandle<()>,
}

impl std::fmt::Debug for VersionPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VersionPool")
            .field("function", &self.inner.cfg.function_name)
            .field("version", &self.inner.cfg.version)
            .finish_non_exhaustive()
    }
}

impl VersionPool {
    /// Validates the configuration (paths, bootstrap, memory, timeout, limit) and starts the idle
    /// reaper. Must be called inside a Tokio runtime.
    pub fn new(config: PoolConfig) -> Result<Self, PoolError> {
        let resolved = config.function.validate()?;
        let limit = match config.shared_limit {
            Some(l) => l,
            None if config.concurrency_limit == 0 => return Err(PoolError::ZeroConcurrency),
            None => ConcurrencyLimit::new(config.concurrency_limit),
        };
        let group = format!(
            "{}/{}",
            config.function.log_group(),
            config.function.version
        );
        let mut logs = LogSink::new(
            group,
            config.log_capacity,
            config.log_dir.map(|d| {
                d.join(&config.function.function_name)
                    .join(sanitise(&config.function.version))
            }),
        );
        if let Some(tap) = &config.function.log_tap {
            logs = logs.with_tap(Arc::clone(tap));
        }
        let inner = Arc::new(PoolInner {
            logs: Arc::new(logs),
            cfg: Arc::new(config.function),
            resolved: Arc::new(resolved),
            limit,
            idle_timeout: config.idle_timeout,
            state: Mutex::new(PoolState {
                idle: Vec::new(),
                busy: 0,
                closed: false,
            }),
            busy_changed: watch::channel(0).0,
            groups: Mutex::new(BTreeSet::new()),
            counters: Counters::default(),
            throttle_warnings: Mutex::new(WarnThrottle::new(WARN_EVERY)),
        });
        let reaper = tokio::spawn(reap(Arc::downgrade(&inner)));
        Ok(Self { inner, reaper })
    }

    /// The version this pool runs.
    pub fn version(&self) -> &str {
        &self.inner.cfg.version
    }

    /// The version's log group (captured stdout/stderr and platform lines of every environment).
    pub fn logs(&self) -> Arc<LogSink> {
        self.inner.logs.clone()
    }

    /// Warm environments waiting for work.
    pub fn idle_count(&self) -> usize {
        self.inner.lock().idle.len()
    }

    /// What happened so far: invocations, cold starts, throttles, init failures, replacements.
    pub fn stats(&self) -> PoolStats {
        let c = &self.inner.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        PoolStats {
            invocations: get(&c.invocations),
            cold_starts: get(&c.cold_starts),
            throttles: get(&c.throttles),
            init_failures: get(&c.init_failures),
            replacements: get(&c.replacements),
        }
    }

    /// Process groups of every live environment (leader pids).
    pub fn process_groups(&self) -> Vec<i32> {
        self.inner.groups().iter().copied().collect()
    }

    /// Stops taking invocations, waits for those in flight to end, and shuts every environment
    /// down; no process of the pool is left afterwards.
    pub async fn shutdown(&self) {
        self.inner.lock().closed = true;
        let mut busy = self.inner.busy_changed.subscribe();
        let _ = busy.wait_for(|_| self.inner.lock().busy == 0).await;
        let idle: Vec<Idle> = std::mem::take(&mut self.inner.lock().idle);
        let mut set = tokio::task::JoinSet::new();
        for i in idle {
            let inner = self.inner.clone();
            set.spawn(async move { inner.retire(i.env).await });
        }
        while set.join_next().await.is_some() {}
        self.reaper.abort();
    }
}

impl Drop for VersionPool {
    fn drop(&mut self) {
        self.reaper.abort();
        let idle = {
            let mut st = self.inner.lock();
            st.closed = true;
            std::mem::take(&mut st.idle)
        };
        drop(idle); // Environment::drop SIGKILLs each process group
    }
}

/// `$LATEST` and other names as a safe directory name.
fn sanitise(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

async fn reap(inner: Weak<PoolInner>) {
    let tick = match inner.upgrade() {
        Some(i) => (i.idle_timeout / 4).clamp(Duration::from_millis(10), Duration::from_secs(1)),
        None => return,
    };
    loop {
        tokio::time::sleep(tick).await;
        let Some(inner) = inner.upgrade() else { return };
        let expired: Vec<Idle> = {
            let mut st = inner.lock();
            let (old, keep): (Vec<_>, Vec<_>) = st
                .idle
                .drain(..)
                .partition(|i| i.since.elapsed() >= inner.idle_timeout);
            st.idle = keep;
            old
        };
        for i in expired {
            let inner = inner.clone();
            tokio::spawn(async move { inner.retire(i.env).await });
        }
    }
}

async fn run(inner: Arc<PoolInner>, request: InvokeRequest) -> Result<InvokeResponse, InvokeError> {
    if request.payload.len() > MAX_REQUEST_BYTES {
        return Err(InvokeError::RequestTooLarge(format!(
            "{} byte payload is too large for the RequestResponse invocation type (limit {MAX_REQUEST_BYTES} bytes)",
            request.payload.len()
        )));
    }
    let executed_version = inner.cfg.version.clone();
    let (permit, warm) = {
        let mut st = inner.lock();
        if st.closed {
            return Err(InvokeError::Service {
                status: 503,
                error_type: "ServiceException".into(),
                message: format!("version {executed_version} is shutting down"),
            });
        }
        let Some(permit) = inner.limit.try_acquire() else {
            drop(st);
            inner.counters.throttles.fetch_add(1, Ordering::Relaxed);
            let held_back = inner
                .throttle_warnings
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .note(Instant::now());
            if let Some(held_back) = held_back {
                tracing::warn!(
                    function = %inner.cfg.function_name,
                    version = %executed_version,
                    limit = inner.limit.limit(),
                    throttles_since_last_warning = held_back,
                    "throttled (429 TooManyRequestsException): every one of the function's \
                     concurrent executions is busy; raise --concurrency to allow more"
                );
            }
            return Err(InvokeError::Throttled(
                "Rate Exceeded. (ReservedFunctionConcurrentInvocationLimitExceeded)".into(),
            ));
        };
        st.busy += 1;
        (permit, st.idle.pop())
    };
    inner.counters.invocations.fetch_add(1, Ordering::Relaxed);
    let cold_start = warm.is_none();
    if cold_start {
        inner.counters.cold_starts.fetch_add(1, Ordering::Relaxed);
    }
    let env = match warm {
        Some(i) => i.env,
        None => match Environment::start(
            inner.cfg.clone(),
            inner.resolved.clone(),
            inner.logs.clone(),
        )
        .await
        {
            Ok(env) => {
                inner.groups().extend(env.pids());
                env
            }
            Err(e) => {
                inner.done_busy();
                drop(permit);
                inner.counters.init_failures.fetch_add(1, Ordering::Relaxed);
                return match e {
                    StartError::Init(e) => {
                        tracing::warn!(
                            function = %inner.cfg.function_name,
                            version = %executed_version,
                            error_type = %e.error_type,
                            error = %String::from_utf8_lossy(&e.body),
                            "init failed: the environment is discarded; the next invocation \
                             cold-starts again"
                        );
                        Ok(InvokeResponse {
                            executed_version,
                            cold_start: true,
                            outcome: InvokeOutcome::FunctionError {
                                error_type: e.error_type,
                                body: e.body,
                            },
                        })
                    }
                    StartError::Io(e) => {
                        tracing::error!(version = %executed_version, error = %e,
                            "could not start an execution environment");
                        Err(InvokeError::Service {
                            status: 500,
                            error_type: "ServiceException".into(),
                            message: format!("could not start an execution environment: {e}"),
                        })
                    }
                };
            }
        },
    };
    let (tx, rx) = oneshot::channel();
    let task_inner = inner.clone();
    tokio::spawn(async move {
        let mut env = env;
        let end = env.invoke(request, tx).await;
        if let Some(reason) = &end.reset {
            task_inner
                .counters
                .replacements
                .fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                function = %task_inner.cfg.function_name,
                version = %task_inner.cfg.version,
                reason = %reason,
                "environment reset: it is shut down and the next invocation cold-starts a new one"
            );
        }
        task_inner.finish(env, permit, end.reusable).await;
    });
    match rx.await {
        Ok(outcome) => Ok(InvokeResponse {
            executed_version,
            cold_start,
            outcome,
        }),
        Err(_) => Err(InvokeError::Service {
            status: 500,
            error_type: "ServiceException".into(),
            message: "the execution environment ended without an outcome".into(),
        }),
    }
}

impl Invoker for VersionPool {
    fn invoke(&self, request: InvokeRequest) -> InvokeFuture<'_> {
        Box::pin(run(self.inner.clone(), request))
    }
}

#[cfg(test)]
#[path = "pool_tests.rs"]
mod tests;
