//! The extension's lifecycle: bind the proxy and the telemetry listener, register, subscribe to
//! platform telemetry, count invocations until SHUTDOWN, flush.
//!
//! With the proxy serving, the extension registers for SHUTDOWN only: the proxy sees every
//! invocation (it forwards the event), and an INVOKE event would wake a second thread at the
//! moment the event is on its way to the runtime, competing for the CPU (with 1 vCPU or less,
//! the usual Lambda size, that CPU time adds straight to the function's latency). Without the
//! proxy (port taken, ready file not written), or with metrics but no telemetry listener, it
//! registers for INVOKE and SHUTDOWN and counts INVOKE events. When the runtime bypasses a
//! serving proxy, telemetry's `platform.report` records count the invocations.
//!
//! Every optional part fails open: a port that cannot be bound or a refused subscription is
//! logged and that part is off; the function keeps working. Only a failed registration ends the
//! extension (there is no environment to work in).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use protocol::extension::{EventType, ShutdownReason};
use tracing::{error, info, warn};

use crate::config::Config;
use crate::endpoint::RuntimeApi;
use crate::extensions_api::{Event, ExtensionsApi};
use crate::metrics::Aggregate;
use crate::proxy::{self, Proxy, ProxySettings};
use crate::ready;
use crate::recorder::Recorder;
use crate::telemetry;

/// What the extension reads from Lambda's environment variables.
#[derive(Debug, Clone)]
pub struct LambdaEnv {
    /// `AWS_LAMBDA_RUNTIME_API`: the real Runtime API, as set (forms: [`crate::endpoint`]).
    pub runtime_api: String,
    /// `AWS_LAMBDA_FUNCTION_NAME`, if set.
    pub function_name: Option<String>,
    /// `AWS_LAMBDA_FUNCTION_VERSION`, if set (the register response confirms it).
    pub function_version: Option<String>,
    /// `TMPDIR`, where the ready file goes (default `/tmp`).
    pub tmpdir: Option<String>,
}

impl LambdaEnv {
    /// Reads the variables through `get`.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Self, RunError> {
        let runtime_api = get("AWS_LAMBDA_RUNTIME_API")
            .filter(|v| !v.is_empty())
            .ok_or(RunError::NoRuntimeApi)?;
        Ok(Self {
            runtime_api,
            function_name: get("AWS_LAMBDA_FUNCTION_NAME"),
            function_version: get("AWS_LAMBDA_FUNCTION_VERSION"),
            tmpdir: get("TMPDIR"),
        })
    }
}

/// Why the extension stopped early.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Not started by Lambda (or the lab).
    #[error(
        "AWS_LAMBDA_RUNTIME_API is not set: the extension must be started by Lambda (or the lab) from /opt/extensions/"
    )]
    NoRuntimeApi,
    /// `AWS_LAMBDA_RUNTIME_API` names no endpoint a runtime client could reach.
    #[error("{0}; the extension stays out of the way (no proxy, no metrics)")]
    Endpoint(#[from] crate::endpoint::EndpointError),
    /// Registration with the Extensions API failed.
    #[error("registering with the Extensions API failed: {0}")]
    Register(String),
    /// The event loop failed.
    #[error("the extension event loop failed: {0}")]
    EventLoop(String),
}

/// State of the INVOKE/SHUTDOWN loop.
#[derive(Debug)]
struct Events {
    recorder: Option<Arc<Recorder>>,
    version: Arc<OnceLock<String>>,
    invoked_any: AtomicBool,
    ready_path: Option<std::path::PathBuf>,
}

impl Events {
    /// Handles one event. SHUTDOWN flushes here; the caller then stops (the platform may end
    /// the process as soon as the extension calls `next` again, and after SHUTDOWN it must not).
    async fn on_event(&self, event: &Event) {
        let version = self.version.get().map_or("", String::as_str);
        match event {
            Event::Invoke { request_id } => {
                let cold = !self.invoked_any.swap(true, Ordering::Relaxed);
                if let Some(r) = &self.recorder {
                    r.lock().invocation(version, cold, request_id);
                }
            }
            Event::Shutdown { reason } => {
                info!(reason = reason.as_str(), "shutdown");
                if *reason == ShutdownReason::Timeout
                    && let Some(r) = &self.recorder
                {
                    // The timeout ended the last invocation counted (whoever counted it);
                    // telemetry may already have counted it under the same id.
                    let mut aggregate = r.lock();
                    let last = aggregate.last_request().map(str::to_owned);
                    aggregate.timeout(version, last.as_deref());
                }
                if let Some(r) = &self.recorder {
                    r.flush_stdout().await;
                }
                if let Some(path) = &self.ready_path {
                    ready::remove(path, std::process::id());
                }
            }
        }
    }
}

/// Runs the extension until SHUTDOWN. The proxy is served by the calling runtime (a thread to
/// itself on the invocation path); the Extensions API event loop, the telemetry listener and
/// the metrics flusher run on a second thread with its own runtime, so that an INVOKE event or
/// a telemetry batch never queues behind, or in front of, a forwarded call.
pub async fn run(config: Config, env: LambdaEnv) -> Result<(), RunError> {
    let pid = std::process::id();
    // Understood before anything is announced: an endpoint the proxy could not forward to
    // must not draw the runtime into it.
    let api = RuntimeApi::parse(&env.runtime_api)?;
    let version = Arc::new(OnceLock::new());
    if let Some(v) = &env.function_version {
        let _ = version.set(v.clone());
    }
    let recorder = config.metrics.as_ref().map(|m| {
        Recorder::new(Aggregate::new(
            env.function_name.clone().unwrap_or_default(),
            m.namespace.clone(),
        ))
    });

    // 1. The proxy, bound before registering: Lambda starts the runtime only after every
    //    extension registered, so the proxy is listening when the runtime needs it.
    let mut ready_path = None;
    let mut serving = None;
    if let Some(port) = config.proxy_port {
        match proxy::bind(port).await {
            Ok(listener) => {
                let proxy = Proxy::new(
                    ProxySettings {
                        upstream: api.to_string(),
                        version_header: config.tagging.as_ref().map(|t| t.version_header.clone()),
                    },
                    version.clone(),
                    recorder.clone(),
                );
                tokio::spawn(proxy.clone().serve(listener));
                let path = ready::ready_file(env.tmpdir.as_deref(), port);
                match ready::write(&path, pid) {
                    Ok(()) => {
                        ready_path = Some(path);
                        // Only now will the wrapper scripts send the runtime to the proxy.
                        serving = Some(proxy);
                    }
                    Err(e) => error!(path = %path.display(), error = %e,
                        "cannot write the proxy's ready file; the runtime will bypass the proxy (untagged)"),
                }
                info!(port, upstream = %api, "runtime API proxy listening");
            }
            Err(e) => error!(port, error = %e,
                "cannot bind the runtime API proxy; the runtime talks to Lambda directly (responses untagged). Set ROLLCALL_PROXY_PORT to a free port"),
        }
    }

    // 2. Everything else on the second thread.
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    let background = Background {
        config,
        api,
        version,
        recorder,
        proxy: serving,
        ready_path,
    };
    std::thread::Builder::new()
        .name("rollcall-events".into())
        .spawn(move || {
            let result = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt.block_on(background.run()),
                Err(e) => Err(RunError::EventLoop(format!("cannot start a runtime: {e}"))),
            };
            let _ = done_tx.send(result);
        })
        .map_err(|e| RunError::EventLoop(format!("cannot start the event thread: {e}")))?;
    done_rx
        .await
        .unwrap_or_else(|_| Err(RunError::EventLoop("the event thread ended".into())))
}

/// What the second thread owns.
struct Background {
    config: Config,
    api: RuntimeApi,
    version: Arc<OnceLock<String>>,
    recorder: Option<Arc<Recorder>>,
    proxy: Option<Arc<Proxy>>,
    ready_path: Option<std::path::PathBuf>,
}

impl Background {
    async fn run(self) -> Result<(), RunError> {
        let ready_path = self.ready_path.clone();
        let recorder = self.recorder.clone();
        let result = self.register_and_loop().await;
        if result.is_err() {
            // Failed without a SHUTDOWN: write what we have, and take the ready file back so
            // that a runtime starting now talks to Lambda directly.
            if let Some(r) = &recorder {
                r.flush_stdout().await;
            }
            if let Some(path) = &ready_path {
                ready::remove(path, std::process::id());
            }
        }
        result
    }

    async fn register_and_loop(self) -> Result<(), RunError> {
        let Background {
            config,
            api,
            version,
            recorder,
            proxy,
            ready_path,
        } = self;

        // The telemetry listener, bound before subscribing.
        // Telemetry feeds only metrics: with metrics off, no listener and no subscription.
        let mut telemetry_port = None;
        if let (Some(port), Some(_)) = (config.telemetry_port, &config.metrics) {
            match telemetry::bind(port).await {
                Ok(listener) => {
                    tokio::spawn(
                        telemetry::Listener::new(recorder.clone(), version.clone(), proxy.clone())
                            .serve(listener),
                    );
                    telemetry_port = Some(port);
                }
                Err(e) => error!(port, error = %e,
                    "cannot bind the telemetry listener; no timeout, init or memory metrics. Set ROLLCALL_TELEMETRY_PORT to a free port"),
            }
        }

        // Register for SHUTDOWN, and for INVOKE only when invocations could otherwise go
        // uncounted: no proxy, or metrics without the telemetry that notices a runtime
        // bypassing the proxy. Then INVOKE events count them, not the proxy.
        let invoke_events =
            proxy.is_none() || (config.metrics.is_some() && telemetry_port.is_none());
        if let (Some(p), true) = (&proxy, invoke_events) {
            p.set_counts_invocations(false);
        }
        let event_types: &[EventType] = if invoke_events {
            &[EventType::Invoke, EventType::Shutdown]
        } else {
            &[EventType::Shutdown]
        };
        let events = Events {
            recorder: recorder.clone(),
            version: version.clone(),
            invoked_any: AtomicBool::new(false),
            ready_path,
        };
        let client = ExtensionsApi::new(api.clone());
        let registered = client
            .register(&crate::extensions_api::own_name(), event_types)
            .await
            .map_err(|e| RunError::Register(e.to_string()))?;
        let function = &registered.response;
        if version
            .get()
            .is_some_and(|v| *v != function.function_version)
        {
            warn!(env = ?version.get(), registered = %function.function_version,
                "AWS_LAMBDA_FUNCTION_VERSION differs from the registered version; tagging with the former");
        }
        let _ = version.set(function.function_version.clone());
        if let Some(r) = &recorder {
            r.lock().set_function_name(&function.function_name);
        }
        let names: Vec<&str> = event_types.iter().map(|e| e.as_str()).collect();
        info!(function = %function.function_name, version = %function.function_version,
            events = ?names, "registered");

        // Subscribe to platform telemetry.
        if let Some(port) = telemetry_port
            && let Err(e) = telemetry::subscribe(&api, &registered.id, port).await
        {
            warn!(error = %e, "telemetry subscription failed; no timeout, init or memory metrics");
            if !invoke_events {
                warn!(
                    "invocations are counted by the proxy only: a runtime that bypasses it goes uncounted"
                );
            }
        }

        // Flush periodically; handle events until SHUTDOWN (which flushes), then stop: no
        // `next` call after SHUTDOWN.
        let flusher = match (&recorder, &config.metrics) {
            (Some(r), Some(m)) => Some(tokio::spawn(r.clone().run_flusher(m.flush_interval))),
            _ => None,
        };
        let result = loop {
            match client.next(&registered.id).await {
                Ok(event) => {
                    events.on_event(&event).await;
                    if matches!(event, Event::Shutdown { .. }) {
                        break Ok(());
                    }
                }
                Err(e) => break Err(RunError::EventLoop(e.to_string())),
            }
        };
        if let Some(f) = flusher {
            f.abort();
        }
        result
    }
}
