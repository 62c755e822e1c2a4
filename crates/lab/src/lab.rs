//! `rollcall-lab serve` put together from a [`LabSpec`] (a spec file, or the one-function
//! flags as a spec): every function's code (a dir registered, a zip unpacked into the lab's
//! code store), one [`VersionPool`] per version sharing the function's concurrency limit, its
//! aliases, the [`Registry`] holding them all, the API front door's routes (each to a function
//! and qualifier) and the Lambda API.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use protocol::lambda_api::LATEST;
use protocol::lambda_api::names::{ArnScope, FunctionName};

use crate::api::gateway::server::{ApiConfig, ApiGateway, Listener};
use crate::api::gateway::{LiveRoutes, Route, RouteTable, RouteTarget};
use crate::api::lambda::{FunctionControl, InvokeApi, function_arn};
use crate::cli::{ServeConfig, ServeOptions};
use crate::control::Provisioner;
use crate::control::alarms::{AlarmFileError, LabCloudWatch};
use crate::control::alias::{Alias, AliasError};
use crate::control::code::{self, CodeError, CodeStore};
use crate::control::deployments::{AlarmBoard, AlarmSource, Deployments};
use crate::control::events::{EventLog, EventLogError};
use crate::control::layers::{LayerDetails, LayerVersion, add_layer_version};
use crate::control::registry::{self, Registry, VersionMeta};
use crate::control::stacks::Stacks;
use crate::env::FunctionConfig;
use crate::invoke::Invoker;
use crate::pool::{ConcurrencyLimit, PoolConfig, PoolError, VersionPool};
use crate::spec::{LabSpec, SpecError};

mod build;

use build::Builder;

/// Concurrency of a function without reserved concurrency (shared by its versions and by every
/// other such function): Lambda's unreserved account concurrency.
pub const DEFAULT_CONCURRENCY: usize = crate::pool::ACCOUNT_CONCURRENCY;

/// Why the lab could not start.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// The flags, as a spec, are refused.
    #[error("{0}")]
    Spec(#[from] SpecError),
    /// A version's configuration is invalid (missing code dir, no bootstrap, ...).
    #[error("{key}: {reason}")]
    Version {
        /// The flag or spec key naming the version (`--version 1`, `lab.yaml:
        /// functions.hello.versions[0]`).
        key: String,
        /// What is wrong.
        reason: PoolError,
    },
    /// A function's or layer's code cannot be used.
    #[error("{key}: {reason}")]
    Code {
        /// The flag or spec key naming the code.
        key: String,
        /// What is wrong.
        reason: CodeError,
    },
    /// An alias's routing is invalid.
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
    /// The process exit code: [`crate::exit::EXIT_USAGE`] for what the flags or the spec got
    /// wrong, [`crate::exit::EXIT_UNAVAILABLE`] for a port that cannot be bound.
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Spec(_)
            | Self::Version { .. }
            | Self::Code { .. }
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
    /// The Lambda API.
    pub lambda: Listener,
    /// The functions, versions and aliases both front doors resolve through.
    pub registry: Arc<Registry>,
    /// Every function's pools started with the lab, by function, then by version (`"1"`, ...,
    /// and `"$LATEST"` when `$LATEST` runs code or variables no published version has).
    pub functions: BTreeMap<String, BTreeMap<String, Arc<VersionPool>>>,
    /// The first function's pools (the one function of the flags), as in
    /// [`functions`](Self::functions).
    pub pools: BTreeMap<String, Arc<VersionPool>>,
    /// The first function's first alias (the flags' `--alias`), when there is one.
    pub alias: Option<Arc<Alias>>,
    /// The seed of the aliases' RNGs (the `n`th alias of the lab, in order of function and
    /// alias names, draws from `seed + n`).
    pub seed: u64,
    /// The front door's routes, each with its target.
    pub routes: Vec<Route>,
    /// Function URLs by function name (`functions.<name>.url` in a spec file).
    pub function_urls: BTreeMap<String, Listener>,
    /// The lab's state directory (`code/`: the code store zipped code is unpacked into),
    /// removed when the lab is dropped.
    pub state_dir: tempfile::TempDir,
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
    /// The API front door's routes as served now (a stack's update replaces them).
    pub live_routes: Arc<LiveRoutes>,
    /// The code store and provisioner functions are created and changed with.
    pub control: FunctionControl,
    /// Partition, Region and account of the lab's ARNs.
    pub scope: ArnScope,
    /// CloudFormation's stacks (a template's, `serve --template`).
    pub stacks: Arc<Stacks>,
    /// What answers CreateStack and UpdateStack, once a template engine runs.
    pub stack_engine: Arc<EngineSlot>,
}

/// The engine CreateStack and UpdateStack go to, plugged in once the lab serves (a template's
/// engine needs the running lab); until then they are refused.
#[derive(Default)]
pub struct EngineSlot(std::sync::OnceLock<Arc<dyn crate::api::cloudformation::StackEngine>>);

impl std::fmt::Debug for EngineSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineSlot")
            .field("plugged", &self.0.get().is_some())
            .finish()
    }
}

impl crate::api::cloudformation::StackEngine for EngineSlot {
    fn create_stack(
        &self,
        request: crate::api::cloudformation::StackRequest,
    ) -> Result<String, crate::api::cloudformation::CloudFormationError> {
        match self.0.get() {
            Some(engine) => engine.create_stack(request),
            None => Err(no_template()),
        }
    }

    fn update_stack(
        &self,
        request: crate::api::cloudformation::StackRequest,
    ) -> Result<String, crate::api::cloudformation::CloudFormationError> {
        match self.0.get() {
            Some(engine) => engine.update_stack(request),
            None => Err(no_template()),
        }
    }
}

fn no_template() -> crate::api::cloudformation::CloudFormationError {
    crate::api::cloudformation::CloudFormationError::validation(
        "this lab runs no template: start it with `rollcall-lab serve --template template.yaml`",
    )
}

impl Lab {
    /// Starts the lab the one-function flags describe ([`LabSpec::from_serve_config`]).
    pub async fn start(config: &ServeConfig) -> Result<Self, LabError> {
        let spec = LabSpec::from_serve_config(config)?;
        Self::start_spec(&spec, &config.options()).await
    }

    /// Starts every function of `spec`, its pools and aliases, and both front doors, on the
    /// addresses of `options`.
    pub async fn start_spec(spec: &LabSpec, options: &ServeOptions) -> Result<Self, LabError> {
        let state_dir = tempfile::Builder::new()
            .prefix("rollcall-lab-")
            .tempdir()
            .map_err(|source| LabError::Code {
                key: "the lab's state directory (check TMPDIR)".into(),
                reason: CodeError::Io {
                    path: std::env::temp_dir(),
                    source,
                },
            })?;
        let store =
            CodeStore::open(state_dir.path().join("code")).map_err(|reason| LabError::Code {
                key: "the lab's code store".into(),
                reason,
            })?;
        let events = Arc::new(match &options.event_log {
            Some(path) => EventLog::open(path)?,
            None => EventLog::console_only(),
        });
        if let Some(path) = events.path() {
            tracing::info!(path = %path.display(), "event log (JSON lines)");
        }
        let cloudwatch = LabCloudWatch::new(options.time_scale, Arc::clone(&events))
            .map_err(LabError::TimeScale)?;
        for path in &options.alarms {
            cloudwatch.load_alarm_file(path)?;
        }
        // Bound first: every environment gets its URL as the SDKs' Lambda/CodeDeploy endpoint.
        let lambda_socket = tokio::net::TcpListener::bind(options.lambda_addr)
            .await
            .map_err(|reason| LabError::Bind {
                what: "Lambda Invoke API (--lambda-port)",
                addr: options.lambda_addr,
                reason,
            })?;
        let sdk_endpoint = lambda_socket
            .local_addr()
            .map(|a| format!("http://{a}"))
            .ok();
        let reserved: usize = spec
            .functions
            .values()
            .filter_map(|f| f.reserved_concurrency)
            .map(|n| n as usize)
            .sum();
        let mut builder = Builder {
            spec,
            options,
            store,
            layers: BTreeMap::new(),
            unreserved: ConcurrencyLimit::new(DEFAULT_CONCURRENCY.saturating_sub(reserved)),
            published: SystemTime::now(),
            seed: spec.seed.unwrap_or_else(rand::random),
            aliases_so_far: 0,
            sdk_endpoint,
            cloudwatch: Arc::clone(&cloudwatch),
        };
        let mut snapshot = registry::Snapshot::default();
        for (name, layer) in &spec.layers {
            let key = builder.key(|| "--layer".into(), || format!("layers.{name}.content"));
            let layer_code = builder.code(&layer.content, key).await?;
            let version = add_layer_version(
                &mut snapshot,
                &spec.scope,
                name,
                &layer_code,
                LayerDetails::default(),
            );
            builder.layers.insert(name.as_str().to_owned(), version);
        }
        let mut functions = BTreeMap::new();
        for (name, f) in &spec.functions {
            let built = builder.function(name, f).await?;
            snapshot
                .functions
                .insert(name.as_str().to_owned(), built.function);
            functions.insert(name.as_str().to_owned(), built.pools);
        }
        let alias = snapshot
            .functions
            .values()
            .next()
            .and_then(|f| f.aliases.values().next().cloned());
        let registry = Registry::new(snapshot);
        registry.set_event_log(Arc::clone(&events));
        registry.set_next_alias_seed(builder.seed.wrapping_add(builder.aliases_so_far));
        let routes: Vec<Route> = spec
            .routes
            .iter()
            .map(|r| {
                let mut route = r.route.clone();
                route.target = Some(RouteTarget {
                    function: r.function.as_str().to_owned(),
                    qualifier: r.qualifier.as_ref().map(ToString::to_string),
                });
                route
            })
            .collect();
        let (api, live_routes) = Self::front_door(spec, options, &registry, &routes).await?;
        let provisioner = Provisioner {
            log_dir: options.log_dir.clone(),
            idle_timeout: None,
            sdk_endpoint: builder.sdk_endpoint.clone(),
            log_tap: Some(Arc::clone(&cloudwatch) as _),
        };
        let alarms = Arc::new(AlarmBoard::new());
        let deployments = Deployments::new(
            Arc::clone(&registry),
            vec![
                Arc::clone(&alarms) as Arc<dyn AlarmSource>,
                Arc::clone(&cloudwatch) as Arc<dyn AlarmSource>,
            ],
        );
        deployments
            .set_time_scale(options.time_scale)
            .expect("--time-scale is checked when parsed");
        let control = FunctionControl {
            store: builder.store.clone(),
            provisioner,
        };
        let stacks = Arc::new(Stacks::new(
            spec.scope.region.as_str(),
            spec.scope.account.as_str(),
        ));
        let stack_engine = Arc::new(EngineSlot::default());
        let lambda = InvokeApi::new(Arc::clone(&registry))
            .with_control(control.clone())
            .with_codedeploy(Arc::clone(&deployments))
            .with_cloudformation(
                Arc::clone(&stacks),
                Some(Arc::clone(&stack_engine) as Arc<dyn crate::api::cloudformation::StackEngine>),
            );
        let lambda = Listener::serve(
            lambda_socket,
            Arc::new(lambda),
            crate::accept::ServeLimits::PUBLIC,
        );
        let function_urls =
            crate::api::url::bind_all(spec, &registry, options.api_addr.ip()).await?;
        let evaluator = cloudwatch.spawn_evaluator();
        Ok(Self {
            function_urls,
            api,
            lambda,
            pools: functions.values().next().cloned().unwrap_or_default(),
            functions,
            registry,
            alias,
            seed: builder.seed,
            routes,
            state_dir,
            cloudwatch,
            events,
            evaluator,
            deployments,
            alarms,
            live_routes,
            control,
            scope: spec.scope.clone(),
            stacks,
            stack_engine,
        })
    }

    async fn front_door(
        spec: &LabSpec,
        options: &ServeOptions,
        registry: &Arc<Registry>,
        routes: &[Route],
    ) -> Result<(Listener, Arc<LiveRoutes>), LabError> {
        // Every route has its target; the default only answers a route without one.
        let first = spec.functions.keys().next().map(FunctionName::as_str);
        let front: Arc<dyn Invoker> = Arc::new(registry.invoker(first.unwrap_or_default(), None));
        let mut config = ApiConfig::new(RouteTable::new(routes.to_vec()), options.default_format);
        config.account_id = spec.scope.account.clone();
        let gateway = ApiGateway::new(config, front).with_registry(Arc::clone(registry));
        let live_routes = gateway.live_routes();
        let listener = gateway
            .bind(options.api_addr)
            .await
            .map_err(|reason| LabError::Bind {
                what: "API front door (--api-port)",
                addr: options.api_addr,
                reason,
            })?;
        Ok((listener, live_routes))
    }

    /// Plugs the engine that answers CreateStack and UpdateStack (once; later calls are
    /// ignored).
    pub fn set_stack_engine(&self, engine: Arc<dyn crate::api::cloudformation::StackEngine>) {
        let _ = self.stack_engine.0.set(engine);
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

    /// The function URL of `function` (`http://127.0.0.1:PORT/`), if it has one.
    pub fn function_url(&self, function: &str) -> Option<String> {
        let listener = self.function_urls.get(function)?;
        Some(format!("http://{}/", listener.local_addr()))
    }

    /// Stops both front doors, then every pool (no environment process is left).
    pub async fn shutdown(self) {
        self.evaluator.abort();
        self.api.shutdown().await;
        self.lambda.shutdown().await;
        for pool in self.functions.values().flat_map(BTreeMap::values) {
            pool.shutdown().await;
        }
        self.registry.shutdown_pools().await;
    }
}
