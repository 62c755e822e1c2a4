//! `rollcall-lab serve` put together: one [`VersionPool`] per version (sharing the function's
//! concurrency limit), an optional [`Alias`] over them, the API front door forwarding to the
//! alias (or to `$LATEST`), and the Invoke API over every version, `$LATEST` and the alias.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use crate::cli::ServeConfig;
use protocol::lambda_api::LATEST;

use crate::api::gateway::RouteTarget;
use crate::control::alarms::{AlarmFileError, LabCloudWatch};
use crate::control::alias::{Alias, AliasError};
use crate::control::deployments::{AlarmBoard, AlarmSource, Deployments};
use crate::control::events::{EventLog, EventLogError};
use crate::control::registry::{self, Registry};
use crate::env::{FunctionConfig, LogSink};
use crate::invoke::Invoker;
use crate::pool::{ConcurrencyLimit, PoolConfig, PoolError, VersionPool};

use crate::api::gateway::server::{ApiConfig, ApiGateway, Listener};
use crate::api::lambda::versions::VersionInfo;
use crate::api::lambda::{Function, InvokeApi, LogTail};

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
    /// An `--alarm` file is refused.
    #[error(transparent)]
    Alarm(#[from] AlarmFileError),
    /// The time scale is not a factor >= 1.
    #[error("--time-scale: {0}")]
    TimeScale(cloudwatch::AlarmError),
    /// The event log cannot be written.
    #[error(transparent)]
    EventLog(#[from] EventLogError),
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
            Self::Version { .. }
            | Self::Alias(_)
            | Self::Alarm(_)
            | Self::EventLog(_)
            | Self::TimeScale(_) => crate::exit::EXIT_USAGE,
            Self::Bind { .. } => crate::exit::EXIT_UNAVAILABLE,
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
    /// The lab's CloudWatch: every environment's EMF lines, the alarms on them.
    pub cloudwatch: Arc<LabCloudWatch>,
    /// The ground-truth event log.
    pub events: Arc<EventLog>,
    /// The alarms' evaluation task.
    evaluator: tokio::task::JoinHandle<()>,
    /// The CodeDeploy engine (its API is on the Lambda API's port).
    pub deployments: Arc<Deployments>,
    /// Alarm states set by hand (CloudWatch's SetAlarmState), over the lab's CloudWatch.
    pub alarms: Arc<AlarmBoard>,
}

struct PoolLogs(BTreeMap<String, Arc<LogSink>>);

impl LogTail for PoolLogs {
    /// The invocation's own lines: its environment's log stream from `START RequestId: <id>` up
    /// to its `REPORT` line or the next invocation's `START`, whichever comes first (the
    /// function's lines so far: `END`/`REPORT` are logged after the response, so they are
    /// usually not there yet). An invocation that never started (its environment's Init failed)
    /// gets the latest environment whose Init failed: the output that says why.
    fn tail(&self, version: &str, request_id: &str) -> Option<String> {
        let lines = self.0.get(version)?.snapshot();
        let start = format!("START RequestId: {request_id} ");
        let first = match lines.iter().rposition(|l| l.text.starts_with(&start)) {
            Some(i) => i,
            None => {
                let failed = lines.iter().rposition(|l| {
                    l.text.starts_with("INIT_REPORT ") && !l.text.contains("Status: success")
                })?;
                let stream = &lines[failed].stream;
                lines.iter().position(|l| &l.stream == stream)?
            }
        };
        let stream = &lines[first].stream;
        let report = format!("REPORT RequestId: {request_id} ");
        let mut text = String::new();
        for (i, l) in lines[first..]
            .iter()
            .enumerate()
            .filter(|(_, l)| &l.stream == stream)
        {
            if i > 0 && l.text.starts_with("START RequestId: ") {
                break;
            }
            text.push_str(&l.text);
            text.push('\n');
            if l.text.starts_with(&report) {
                break;
            }
        }
        Some(text)
    }
}

/// The registry of the one function `config` describes: `$LATEST` (the last version's
/// configuration and pool), the published versions and the alias.
fn registry_of(
    config: &ServeConfig,
    configs: &BTreeMap<String, FunctionConfig>,
    pools: &BTreeMap<String, Arc<dyn Invoker>>,
    latest: Arc<dyn Invoker>,
    alias: Option<&Arc<Alias>>,
    published: std::time::SystemTime,
    limit: &Arc<ConcurrencyLimit>,
) -> Arc<Registry> {
    let version = |v: &str, config: &FunctionConfig, pool: Arc<dyn Invoker>| registry::Version {
        version: v.to_owned(),
        config: config.clone(),
        last_modified: published,
        pool,
    };
    let latest_version = &config.latest().version;
    let mut function = registry::Function::new(
        version(LATEST, &configs[latest_version], latest),
        Arc::clone(limit),
    );
    for (v, pool) in pools {
        // `ServeConfig` holds version numbers only (checked when parsed).
        if let Ok(number) = v.parse::<u64>() {
            let snapshot = version(v, &configs[v], Arc::clone(pool));
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

/// The lab's CloudWatch at the lab's time scale, its `--alarm` files defined, its evaluation
/// task started.
fn cloudwatch_of(
    config: &ServeConfig,
    events: &Arc<EventLog>,
) -> Result<(Arc<LabCloudWatch>, tokio::task::JoinHandle<()>), LabError> {
    let cloudwatch =
        LabCloudWatch::new(config.time_scale, Arc::clone(events)).map_err(LabError::TimeScale)?;
    for path in &config.alarms {
        cloudwatch.load_alarm_file(path)?;
    }
    let evaluator = cloudwatch.spawn_evaluator();
    Ok((cloudwatch, evaluator))
}

impl Lab {
    /// Starts every pool and both front doors as `config` says.
    pub async fn start(config: &ServeConfig) -> Result<Self, LabError> {
        let events = Arc::new(match &config.event_log {
            Some(path) => EventLog::open(path)?,
            None => EventLog::console_only(),
        });
        if let Some(path) = events.path() {
            tracing::info!(path = %path.display(), "event log (JSON lines)");
        }
        let (cloudwatch, evaluator) = cloudwatch_of(config, &events)?;
        // Bound first: every environment gets its URL as the SDKs' Lambda/CodeDeploy endpoint.
        let lambda_socket = tokio::net::TcpListener::bind(config.lambda_addr)
            .await
            .map_err(|reason| LabError::Bind {
                what: "Lambda Invoke API (--lambda-port)",
                addr: config.lambda_addr,
                reason,
            })?;
        let sdk_endpoint = lambda_socket
            .local_addr()
            .map(|a| format!("http://{a}"))
            .ok();
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
            function.sdk_endpoint.clone_from(&sdk_endpoint);
            function.log_tap = Some(Arc::clone(&cloudwatch) as _);
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
        let latest = Arc::clone(&invokers[&config.latest().version]);
        let mut function = Function::new(config.function.clone());
        let published = std::time::SystemTime::now();
        let info = |version: &str, code_dir: &std::path::Path| VersionInfo {
            version: version.to_owned(),
            handler: config.handler.clone(),
            memory_mb: config.memory_mb,
            timeout: config.timeout,
            last_modified: published,
            code_dir: code_dir.to_owned(),
        };
        let latest_spec = config.latest();
        function.versions = std::iter::once(info(LATEST, &latest_spec.code_dir))
            .chain(
                config
                    .versions
                    .iter()
                    .map(|v| info(&v.version, &v.code_dir)),
            )
            .collect();
        function.logs = Some(Arc::new(PoolLogs(
            pools.iter().map(|(v, p)| (v.clone(), p.logs())).collect(),
        )));
        let alias = match &config.alias {
            None => None,
            Some(spec) => {
                let arn = function.arn(Some(&spec.name));
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
        let registry = registry_of(
            config,
            &configs,
            &invokers,
            latest,
            alias.as_ref(),
            published,
            &limit,
        );
        registry.set_event_log(Arc::clone(&events));
        let name = &config.function;
        let alias_name = config.alias.as_ref().map(|a| a.name.as_str());
        let front: Arc<dyn Invoker> = Arc::new(registry.invoker(name, alias_name));
        for version in invokers
            .keys()
            .map(String::as_str)
            .chain([LATEST])
            .chain(alias_name)
        {
            let invoker = Arc::new(registry.invoker(name, Some(version)));
            function = function.with(version, invoker);
        }
        if let (Some(a), Some(spec)) = (&alias, &config.alias) {
            function.aliases.insert(spec.name.clone(), Arc::clone(a));
        }
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
        let alarms = Arc::new(AlarmBoard::new());
        let deployments = Deployments::new(
            Arc::clone(&registry),
            vec![
                Arc::clone(&alarms) as Arc<dyn AlarmSource>,
                Arc::clone(&cloudwatch) as Arc<dyn AlarmSource>,
            ],
        );
        deployments
            .set_time_scale(config.time_scale)
            .expect("--time-scale is checked when parsed");
        let invoke_api = InvokeApi::new([function])
            .with_registry(Arc::clone(&registry))
            .with_codedeploy(Arc::clone(&deployments));
        let lambda = Listener::serve(
            lambda_socket,
            Arc::new(invoke_api),
            crate::accept::ServeLimits::PUBLIC,
        );
        Ok(Self {
            api,
            lambda,
            registry,
            pools,
            alias,
            seed: config.seed,
            cloudwatch,
            events,
            evaluator,
            deployments,
            alarms,
        })
    }

    /// Defines (or replaces) a metric alarm from PutMetricAlarm's JSON, as `--alarm FILE`
    /// does: for a spec file's alarms or a deployment group's. Returns the alarm's name.
    pub fn put_metric_alarm_json(&self, json: &str) -> Result<String, cloudwatch::AlarmError> {
        self.cloudwatch.put_metric_alarm_json(json)
    }

    /// The alarms' states and transitions, for the deployment engine.
    pub fn alarm_source(&self) -> Arc<dyn crate::control::alarms::AlarmSource> {
        Arc::clone(&self.cloudwatch) as _
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
        self.evaluator.abort();
        self.api.shutdown().await;
        self.lambda.shutdown().await;
        for pool in self.pools.values() {
            pool.shutdown().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::{LogLine, LogSource};

    fn logs(lines: &[(&str, &str)]) -> PoolLogs {
        let sink = Arc::new(LogSink::new("/aws/lambda/f", 100, None));
        for (stream, text) in lines {
            sink.push(LogLine {
                stream: (*stream).to_owned(),
                source: LogSource::Platform,
                text: (*text).to_owned(),
            });
        }
        PoolLogs(BTreeMap::from([("1".to_owned(), sink)]))
    }

    #[test]
    fn the_tail_is_the_invocations_own_lines() {
        let pool = logs(&[
            ("a", "START RequestId: r1 Version: 1"),
            ("a", "one"),
            ("b", "START RequestId: r2 Version: 1"),
            ("a", "END RequestId: r1"),
            ("a", "REPORT RequestId: r1 Duration: 1.00 ms"),
            ("b", "two"),
            ("a", "START RequestId: r3 Version: 1"),
            ("a", "three"),
        ]);
        assert_eq!(
            pool.tail("1", "r1").unwrap(),
            "START RequestId: r1 Version: 1\none\nEND RequestId: r1\nREPORT RequestId: r1 Duration: 1.00 ms\n"
        );
        assert_eq!(
            pool.tail("1", "r2").unwrap(),
            "START RequestId: r2 Version: 1\ntwo\n",
            "only its environment's stream"
        );
        assert_eq!(
            pool.tail("1", "r3").unwrap(),
            "START RequestId: r3 Version: 1\nthree\n"
        );
    }

    #[test]
    fn an_invocation_whose_init_failed_gets_that_environments_lines() {
        let pool = logs(&[
            ("bad", "boom: HELLO_FAIL_RATE is invalid"),
            (
                "bad",
                "INIT_REPORT Init Duration: 3.00 ms Phase: init Status: error Error Type: Runtime.ExitError",
            ),
            ("warm", "START RequestId: r9 Version: 1"),
            ("warm", "REPORT RequestId: r9 Duration: 1.00 ms"),
        ]);
        let tail = pool.tail("1", "never-started").unwrap();
        assert!(
            tail.starts_with("boom: HELLO_FAIL_RATE is invalid\n"),
            "{tail}"
        );
        assert!(
            !tail.contains("r9"),
            "not the warm environment's lines: {tail}"
        );
    }
}
