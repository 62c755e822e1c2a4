//! One execution environment: its API server, its processes, and the driver that walks the
//! [`State`] machine through Init, invocations and Shutdown.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::process::ExitStatus;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde_json::json;
use tokio::task::JoinHandle;

use super::api;
use super::config::{self, EnvironmentSlots, FunctionConfig, Resolved};
use super::delivery::{DeliveryStats, TelemetryHub};
use super::extensions_api::{push_hex, uuid_v4};
use super::logs::{LogLine, LogSink, LogSource};
use super::memory::{MEMORY_REFRESH, MemoryGauge};
use super::process::{self, ManagedProcess};
use super::shared::{Identity, PostedError, Shared};
use super::state::{State, Transition};
use super::telemetry::{self, Category, Status};
use super::timing::{InitBreakdown, InitMarks};

/// Why an environment shuts down (the SHUTDOWN event's `shutdownReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownReason {
    /// Idle spin-down or pool shutdown.
    Spindown,
    /// The invocation timed out.
    Timeout,
    /// Crash or init failure.
    Failure,
}

impl ShutdownReason {
    /// Wire value (RAPID sends lower case).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Spindown => "spindown",
            Self::Timeout => "timeout",
            Self::Failure => "failure",
        }
    }
}

/// Why an environment could not be started.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The lab could not bind its server or spawn a process.
    #[error("cannot start execution environment: {0}")]
    Io(#[from] std::io::Error),
    /// Init failed: the caller gets this as a function error (`errorType`, error document).
    #[error("init failed: {}", .0.error_type)]
    Init(PostedError),
}

/// How an invocation left the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokeEnd {
    /// The environment is Ready again (false: it was reset and is Dead).
    pub reusable: bool,
    /// Why it was reset, when it was: the error type (`Sandbox.Timedout`, `Runtime.ExitError`,
    /// `Extension.Crash`, ...).
    pub reset: Option<String>,
}

/// One execution environment.
#[derive(Debug)]
pub struct Environment {
    pub(super) cfg: Arc<FunctionConfig>,
    pub(super) resolved: Arc<Resolved>,
    pub(super) shared: Arc<Shared>,
    pub(super) state: State,
    pub(super) addr: SocketAddr,
    pub(super) server: JoinHandle<()>,
    pub(super) runtime: Option<ManagedProcess>,
    pub(super) extensions: Vec<ManagedProcess>,
    pub(super) slots: EnvironmentSlots,
    pub(super) logs: Arc<LogSink>,
    pub(super) stats: Arc<DeliveryStats>,
    pub(super) launched: Instant,
    pub(super) init_duration: Option<Duration>,
    pub(super) invocations: u64,
    pub(super) memory: MemoryGauge,
    pub(super) init_marks: InitMarks,
}

pub(super) fn epoch_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A fresh X-Ray trace header (`Root=1-<epoch hex>-<24 hex>;Parent=<16 hex>;Sampled=0`).
pub fn new_trace_id() -> String {
    let secs = epoch_ms(SystemTime::now()) / 1000;
    let r: [u8; 20] = rand::random();
    let mut s = String::with_capacity(72);
    let _ = write!(s, "Root=1-{secs:08x}-");
    r[..12].iter().for_each(|b| push_hex(&mut s, *b));
    s.push_str(";Parent=");
    r[12..].iter().for_each(|b| push_hex(&mut s, *b));
    s.push_str(";Sampled=0");
    s
}

fn log_stream_name(version: &str) -> String {
    let now = time::OffsetDateTime::now_utc();
    let id: String = uuid_v4().chars().filter(|c| *c != '-').collect();
    format!(
        "{:04}/{:02}/{:02}/[{version}]{id}",
        now.year(),
        u8::from(now.month()),
        now.day()
    )
}

pub(super) fn exit_text(status: Option<ExitStatus>) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status {
        Some(s) => match (s.code(), s.signal()) {
            (Some(c), _) => format!("exit status {c}"),
            (None, Some(sig)) => format!("signal: {sig}"),
            _ => s.to_string(),
        },
        None => "unknown".into(),
    }
}

pub(super) fn error_doc(error_type: &str, message: &str) -> Bytes {
    Bytes::from(json!({ "errorType": error_type, "errorMessage": message }).to_string())
}

impl Environment {
    /// Validates, binds the API server, picks the per-environment ports and starts the
    /// extensions (state Init). Call [`Environment::init`] next, or use [`Environment::start`].
    pub async fn launch(
        cfg: Arc<FunctionConfig>,
        resolved: Arc<Resolved>,
        logs: Arc<LogSink>,
    ) -> Result<Self, StartError> {
        let marks = InitMarks::start();
        let stats = Arc::new(DeliveryStats::default());
        let identity = Identity {
            function_name: cfg.function_name.clone(),
            version: cfg.version.clone(),
            handler: cfg.handler.clone(),
            account_id: cfg.account_id.clone(),
        };
        let names = resolved.extensions.iter().map(|e| e.name.clone()).collect();
        let shared = Arc::new(Shared::new(
            identity,
            names,
            TelemetryHub::new(stats.clone()),
            cfg.stream_bandwidth,
        ));
        let (addr, server) = api::serve(shared.clone()).await?;
        let slots = EnvironmentSlots {
            runtime_api: addr.to_string(),
            log_stream: log_stream_name(&cfg.version),
            proxy_port: process::free_loopback_port()?,
            telemetry_port: process::free_loopback_port()?,
        };
        let mut env = Self {
            cfg,
            resolved,
            shared,
            state: State::Init,
            addr,
            server,
            runtime: None,
            extensions: Vec::new(),
            slots,
            logs,
            stats,
            launched: Instant::now(),
            init_duration: None,
            invocations: 0,
            memory: MemoryGauge::new(MEMORY_REFRESH),
            init_marks: marks,
        };
        env.shared.hub.emit(telemetry::init_start());
        let runtime_env = env.runtime_env();
        for ext in env.resolved.extensions.clone() {
            let vars = config::extension_env(&runtime_env, &ext.layer_dir);
            let spawning = Instant::now();
            let p = env.spawn(
                &ext.name,
                std::slice::from_ref(&ext.path),
                &vars,
                &ext.layer_dir,
                Category::Extension,
            )?;
            env.init_marks.spawning += spawning.elapsed();
            env.extensions.push(p);
        }
        env.init_marks.extensions_spawned = Some(Instant::now());
        Ok(env)
    }

    /// [`Environment::launch`] then [`Environment::init`].
    pub async fn start(
        cfg: Arc<FunctionConfig>,
        resolved: Arc<Resolved>,
        logs: Arc<LogSink>,
    ) -> Result<Self, StartError> {
        let mut env = Self::launch(cfg, resolved, logs).await?;
        env.init().await?;
        Ok(env)
    }

    fn runtime_env(&self) -> std::collections::BTreeMap<String, String> {
        config::runtime_env(&self.cfg, &self.slots, &|k| std::env::var(k).ok())
    }

    fn spawn(
        &self,
        name: &str,
        command: &[std::path::PathBuf],
        vars: &std::collections::BTreeMap<String, String>,
        cwd: &std::path::Path,
        category: Category,
    ) -> std::io::Result<ManagedProcess> {
        let weak: Weak<Shared> = Arc::downgrade(&self.shared);
        let logs = self.logs.clone();
        let stream = self.slots.log_stream.clone();
        let source = if category == Category::Extension {
            LogSource::Extension
        } else {
            LogSource::Function
        };
        let on_line = Arc::new(move |line: String| {
            if let Some(s) = weak.upgrade() {
                s.hub
                    .emit_with(category, || telemetry::log_line(category, &line));
            }
            logs.push(LogLine {
                stream: stream.clone(),
                source,
                text: line,
            });
        });
        let weak = Arc::downgrade(&self.shared);
        let on_exit = Arc::new(move || {
            if let Some(s) = weak.upgrade() {
                s.bump();
            }
        });
        ManagedProcess::spawn(name, command, vars, cwd, on_line, on_exit)
    }

    /// Runs Init: waits for every extension to register, starts the runtime, waits for everyone
    /// to call `next` (within the Init limit), then closes registration. On failure the
    /// environment is shut down (reason `failure`) and the init error returned.
    pub async fn init(&mut self) -> Result<(), StartError> {
        let deadline = tokio::time::Instant::from_std(self.launched + self.cfg.init_timeout);
        let result = self.run_init(deadline).await;
        let duration = self.launched.elapsed();
        match result {
            Ok(()) => {
                self.init_marks.ready = Some(Instant::now());
                let (registered, next, extensions) = self.shared.update(|i| {
                    i.registration_open = false;
                    let extensions: Vec<String> = i
                        .extensions
                        .iter()
                        .map(|s| {
                            let events: Vec<&str> =
                                [(s.invoke, "INVOKE"), (s.shutdown, "SHUTDOWN")]
                                    .into_iter()
                                    .filter_map(|(on, name)| on.then_some(name))
                                    .collect();
                            // Lambda's own line: `EXTENSION Name: x State: Ready Events: [...]`.
                            format!(
                                "EXTENSION\tName: {}\tState: Ready\tEvents: [{}]",
                                s.name,
                                events.join(",")
                            )
                        })
                        .collect();
                    (i.last_register_at, i.last_next_at, extensions)
                });
                for line in extensions {
                    self.logs.push(self.platform_line(line));
                }
                self.init_marks.last_register = registered;
                self.init_marks.last_next = next;
                self.log_init_breakdown();
                self.shared.hub.end_init();
                self.shared.hub.emit(telemetry::init_runtime_done(
                    Status::Success,
                    None,
                    Vec::new(),
                ));
                self.shared.hub.emit(telemetry::init_report(duration));
                self.init_duration = Some(duration);
                self.transition(Transition::InitDone);
                Ok(())
            }
            Err(e) => {
                let status = if e.error_type == "Sandbox.Timedout" {
                    Status::Timeout
                } else {
                    Status::Error
                };
                self.shared.update(|i| i.registration_open = false);
                self.shared.hub.emit(telemetry::init_runtime_done(
                    status,
                    Some(&e.error_type),
                    Vec::new(),
                ));
                self.shared.hub.emit(telemetry::init_report(duration));
                self.logs.push(self.platform_line(format!(
                    "INIT_REPORT Init Duration: {:.2} ms Phase: init Status: {} Error Type: {}",
                    telemetry::ms(duration),
                    status.as_str(),
                    e.error_type
                )));
                self.transition(Transition::InitFailed);
                self.stop_processes(ShutdownReason::Failure).await;
                Err(StartError::Init(e))
            }
        }
    }

    async fn run_init(&mut self, deadline: tokio::time::Instant) -> Result<(), PostedError> {
        let timeout = || {
            let msg = format!(
                "Init phase timed out after {:.2} seconds",
                self.cfg.init_timeout.as_secs_f64()
            );
            PostedError {
                error_type: "Sandbox.Timedout".into(),
                body: error_doc("Sandbox.Timedout", &msg),
            }
        };
        // 1. every launched extension registers
        let externals = &self.extensions;
        let registered = tokio::time::timeout_at(
            deadline,
            self.shared.wait_for(|inner| {
                if let Some(e) = failure(inner, None, externals, None) {
                    return Some(Err(e));
                }
                let all = externals
                    .iter()
                    .all(|p| inner.extensions.iter().any(|s| s.name == p.name()));
                all.then_some(Ok(()))
            }),
        )
        .await;
        match registered {
            Err(_) => return Err(timeout()),
            Ok(Err(e)) => return Err(e),
            Ok(Ok(())) => {}
        }
        // 2. the runtime starts; everyone calls next
        let command = config::runtime_command(&self.resolved);
        let vars = self.runtime_env();
        let spawning = Instant::now();
        let rt = self
            .spawn(
                "runtime",
                &command,
                &vars,
                &self.cfg.code_dir,
                Category::Function,
            )
            .map_err(|e| {
                let msg = format!("cannot start {}: {e}", command[0].display());
                PostedError {
                    error_type: "Runtime.InvalidEntrypoint".into(),
                    body: error_doc("Runtime.InvalidEntrypoint", &msg),
                }
            })?;
        self.runtime = Some(rt);
        self.init_marks.runtime_spawned = Some(Instant::now());
        self.init_marks.spawning += spawning.elapsed();
        let runtime = self.runtime.as_ref();
        let externals = &self.extensions;
        let ready = tokio::time::timeout_at(
            deadline,
            self.shared.wait_for(|inner| {
                if let Some(e) = inner.init_error.clone() {
                    let body = if e.body.is_empty() {
                        error_doc(&e.error_type, "")
                    } else {
                        e.body.clone()
                    };
                    return Some(Err(PostedError {
                        error_type: e.error_type,
                        body,
                    }));
                }
                if let Some(e) = failure(inner, runtime, externals, None) {
                    return Some(Err(e));
                }
                let all = inner.runtime_ready() && inner.extensions.iter().all(|s| s.ready());
                all.then_some(Ok(()))
            }),
        )
        .await;
        match ready {
            Err(_) => Err(timeout()),
            Ok(r) => r,
        }
    }

    /// Where Init's time went, once the environment is Ready.
    pub fn init_breakdown(&self) -> Option<InitBreakdown> {
        self.init_marks.breakdown()
    }

    fn log_init_breakdown(&self) {
        let Some(b) = self.init_breakdown() else {
            return;
        };
        let us = |d: Duration| d.as_micros() as u64;
        tracing::debug!(
            target: "lab::timing",
            version = %self.cfg.version,
            extensions = self.extensions.len(),
            setup_us = us(b.setup),
            extensions_us = us(b.extensions),
            runtime_spawn_us = us(b.runtime_spawn),
            processes_to_next_us = us(b.processes_to_next),
            ready_us = us(b.ready),
            lab_us = us(b.lab()),
            spawn_us = us(b.spawn),
            total_us = us(b.total),
            "environment ready"
        );
    }

    pub(super) fn transition(&mut self, t: Transition) {
        match self.state.next(t) {
            Ok(s) => self.state = s,
            Err(e) => tracing::error!(error = %e, "lifecycle bug"),
        }
    }

    pub(super) fn platform_line(&self, text: String) -> LogLine {
        LogLine {
            stream: self.slots.log_stream.clone(),
            source: LogSource::Platform,
            text,
        }
    }
}

/// Why the environment cannot go on, as Lambda reports it: an error an extension posted
/// (`/extension/init/error`, `/exit/error`), else the **first** of its processes to die, as
/// RAPID keeps the first fatal error: `Runtime.ExitError` for the runtime, `Extension.Crash` for
/// an external extension. (An extension that dies often takes the runtime with it, e.g. a
/// Runtime API proxy: the extension's death is the cause.) `request_id` prefixes the message
/// during an invocation. `runtime` is `None` before the runtime is started.
pub(super) fn failure(
    inner: &super::shared::Inner,
    runtime: Option<&ManagedProcess>,
    externals: &[ManagedProcess],
    request_id: Option<&str>,
) -> Option<PostedError> {
    if let Some(e) = inner.extensions.iter().find_map(|s| s.error.clone()) {
        let body = if e.body.is_empty() {
            error_doc(&e.error_type, "")
        } else {
            e.body
        };
        return Some(PostedError {
            error_type: e.error_type,
            body,
        });
    }
    let first = runtime
        .into_iter()
        .chain(externals)
        .filter_map(|p| p.exit().map(|e| (e.at, p)))
        .min_by_key(|(at, _)| *at)?
        .1;
    let prefix = request_id
        .map(|id| format!("RequestId: {id} Error: "))
        .unwrap_or_default();
    let status = exit_text(first.exit_status());
    let (error_type, message) = if runtime.is_some_and(|r| std::ptr::eq(r, first)) {
        (
            "Runtime.ExitError",
            format!("{prefix}Runtime exited with error: {status}"),
        )
    } else {
        (
            "Extension.Crash",
            format!("{prefix}Extension {} exited: {status}", first.name()),
        )
    };
    Some(PostedError {
        error_type: error_type.into(),
        body: error_doc(error_type, &message),
    })
}

impl Drop for Environment {
    fn drop(&mut self) {
        let _ = self.shared.closing.send(true);
        self.server.abort();
        self.logs.close_stream(&self.slots.log_stream);
        // ManagedProcess::drop SIGKILLs every process group.
    }
}

// Invocation, shutdown and accessors are in `invocation.rs`.
