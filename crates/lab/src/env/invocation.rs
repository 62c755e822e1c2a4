//! The invoke and shutdown halves of the environment driver, and its accessors.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use serde_json::json;
use tokio::sync::oneshot;

use super::delivery::DeliveryStats;
use super::environment::{
    Environment, InvokeEnd, ShutdownReason, epoch_ms, error_doc, failure, new_trace_id,
};
use super::extensions_api::uuid_v4;
use super::memory::ProcTable;
use super::process::ManagedProcess;
use super::shared::{Current, RuntimeAnswer, RuntimeInvocation};
use super::state::{State, Transition};
use super::stream::{StreamDone, stream_end};
use super::telemetry::{self, Category, Report, RuntimeDone, Status};
use crate::invoke::{InvokeOutcome, InvokeRequest, ResponseStream, StreamOutcome, StreamParts};

/// What the invoke loop is waiting for next.
enum Step {
    Answer(Option<RuntimeAnswer>),
    StreamDone(Option<StreamDone>),
    RuntimeNext,
    Done,
    Crashed(String, Bytes),
    Timeout,
}

/// The end result of the runtime's part, for `runtimeDone`/`report`.
pub(super) struct Outcome {
    pub(super) status: Status,
    pub(super) error_type: Option<String>,
    pub(super) produced_bytes: Option<u64>,
    pub(super) spans: Vec<protocol::telemetry::Span>,
}

impl Environment {
    /// Runs one invocation. The caller's outcome is sent on `respond` as soon as it is known
    /// (the runtime posted `/response` or `/error`, or the invocation failed); this future
    /// resolves only when the invocation has ended: the runtime and every INVOKE extension called
    /// `next` again (environment Ready), or the environment was reset (timeout, crash) and is
    /// Dead. Must be called in state Ready.
    pub async fn invoke(
        &mut self,
        request: InvokeRequest,
        respond: oneshot::Sender<InvokeOutcome>,
    ) -> InvokeEnd {
        if !self.state.is_ready() {
            let doc = error_doc("ServiceException", "environment is not ready");
            let _ = respond.send(InvokeOutcome::FunctionError {
                error_type: "ServiceException".into(),
                body: doc,
            });
            return InvokeEnd {
                reusable: false,
                reset: Some("ServiceException".into()),
            };
        }
        self.transition(Transition::InvokeStart);
        let cold = self.invocations == 0;
        self.invocations += 1;
        let request_id = request.request_id.clone().unwrap_or_else(uuid_v4);
        let t0 = Instant::now();
        let deadline = tokio::time::Instant::from_std(t0 + self.cfg.timeout);
        let deadline_ms = epoch_ms(SystemTime::now() + self.cfg.timeout);
        let trace_id = request.trace_id.clone().unwrap_or_else(new_trace_id);
        let arn = request
            .invoked_function_arn
            .clone()
            .unwrap_or_else(|| self.cfg.qualified_arn());
        let event = json!({ "eventType": "INVOKE", "deadlineMs": deadline_ms, "requestId": request_id,
                            "invokedFunctionArn": arn, "tracing": telemetry::tracing(&trace_id) });
        let event = Bytes::from(event.to_string());
        let (tx, mut rx) = oneshot::channel();
        // The event goes to the runtime first, then to INVOKE extensions (Lambda releases it to
        // both "together"; the runtime's copy is the one on the caller's path).
        self.shared.update(|inner| {
            inner.current = Some(Current {
                request_id: request_id.clone(),
                picked_at: None,
                responder: Some(tx),
                accepts_stream: request.response_stream,
            });
            inner.runtime_delivered += 1;
        });
        let _ = self.shared.runtime_tx.send(RuntimeInvocation {
            request_id: request_id.clone(),
            deadline_ms,
            invoked_function_arn: arn,
            trace_id: trace_id.clone(),
            client_context: request.client_context,
            cognito_identity: request.cognito_identity,
            payload: request.payload,
        });
        self.shared.update(|inner| {
            for slot in inner.extensions.iter_mut().filter(|s| s.invoke) {
                slot.delivered += 1;
                let _ = slot.tx.send(event.clone());
            }
        });
        self.shared.hub.emit_with(Category::Platform, || {
            telemetry::start(&request_id, &self.cfg.version, &trace_id)
        });
        self.logs.push(self.platform_line(format!(
            "START RequestId: {request_id} Version: {}",
            self.cfg.version
        )));

        let mut respond = Some(respond);
        let mut answered = false;
        let mut outcome: Option<Outcome> = None;
        let mut runtime_done_at: Option<Instant> = None;
        // A streamed answer: the runtime's side ends on `stream_done`; the caller's outcome goes
        // to `stream_outcome` (both `None` otherwise, or once over).
        let mut stream_done: Option<oneshot::Receiver<StreamDone>> = None;
        let mut stream_outcome: Option<oneshot::Sender<StreamOutcome>> = None;
        let mut stream_started = SystemTime::now();
        // One timer for the whole invocation (not one registration per loop turn).
        let timeout = tokio::time::sleep_until(deadline);
        tokio::pin!(timeout);
        let reset = loop {
            let step = {
                let runtime = self.runtime.as_ref();
                let externals = &self.extensions;
                let done_at = runtime_done_at;
                // The outcome is known: the answer came, and a stream is over.
                let settled = answered && stream_done.is_none();
                let wait = self.shared.wait_for(|inner| {
                    if let Some(e) = failure(inner, runtime, externals, Some(&request_id)) {
                        return Some(Step::Crashed(e.error_type, e.body));
                    }
                    if settled && done_at.is_none() && inner.runtime_ready() {
                        return Some(Step::RuntimeNext);
                    }
                    let exts = inner
                        .extensions
                        .iter()
                        .filter(|s| s.invoke)
                        .all(|s| s.ready());
                    (done_at.is_some() && exts).then_some(Step::Done)
                });
                tokio::select! {
                    a = &mut rx, if !answered => Step::Answer(a.ok()),
                    d = stream_end(stream_done.as_mut()), if stream_done.is_some() => {
                        Step::StreamDone(d)
                    }
                    s = wait => s,
                    _ = &mut timeout => Step::Timeout,
                }
            };
            match step {
                Step::Answer(Some(RuntimeAnswer::Stream {
                    chunks,
                    done,
                    started,
                    content_type,
                })) => {
                    answered = true;
                    stream_done = Some(done);
                    stream_started = started;
                    let (tx, outcome) = oneshot::channel();
                    stream_outcome = Some(tx);
                    if let Some(r) = respond.take() {
                        let parts = StreamParts {
                            content_type,
                            chunks,
                            outcome,
                        };
                        let _ = r.send(InvokeOutcome::Streamed(ResponseStream::new(parts)));
                    }
                    self.log_timing(&request_id, t0);
                }
                Step::StreamDone(d) => {
                    stream_done = None;
                    let (o, to_caller) = self.stream_outcome(d, stream_started);
                    outcome = Some(o);
                    if let Some(tx) = stream_outcome.take() {
                        let _ = tx.send(to_caller);
                    }
                }
                Step::Answer(a) => {
                    answered = true;
                    let (o, to_caller) = self.answer_outcome(a);
                    outcome = Some(o);
                    if let Some(r) = respond.take() {
                        let _ = r.send(to_caller);
                    }
                    self.log_timing(&request_id, t0);
                }
                Step::RuntimeNext => {
                    runtime_done_at = Some(Instant::now());
                    let o = outcome.as_ref().map(|o| {
                        (
                            o.status,
                            o.error_type.clone(),
                            o.produced_bytes,
                            o.spans.clone(),
                        )
                    });
                    let (status, error_type, produced, spans) =
                        o.unwrap_or((Status::Success, None, None, Vec::new()));
                    let duration = t0.elapsed();
                    self.shared.hub.emit_with(Category::Platform, || {
                        telemetry::runtime_done(RuntimeDone {
                            request_id: &request_id,
                            status,
                            error_type: error_type.as_deref(),
                            duration,
                            produced_bytes: produced,
                            spans,
                            trace_id: &trace_id,
                        })
                    });
                }
                Step::Done => break None,
                Step::Crashed(error_type, body) => {
                    break Some((Status::Failure, error_type, body, ShutdownReason::Failure));
                }
                Step::Timeout => {
                    let msg = format!(
                        "RequestId: {request_id} Error: Task timed out after {:.2} seconds",
                        self.cfg.timeout.as_secs_f64()
                    );
                    self.logs.push(self.platform_line(format!(
                        "{} {request_id} Task timed out after {:.2} seconds",
                        telemetry::rfc3339_ms(SystemTime::now()),
                        self.cfg.timeout.as_secs_f64()
                    )));
                    break Some((
                        Status::Timeout,
                        "Sandbox.Timedout".into(),
                        error_doc("Sandbox.Timedout", &msg),
                        ShutdownReason::Timeout,
                    ));
                }
            }
        };

        let duration = t0.elapsed();
        let (status, error_type) = match &reset {
            Some((status, error_type, body, _)) => {
                if let Some(tx) = stream_outcome.take() {
                    let _ = tx.send(StreamOutcome::Failed {
                        error_type: error_type.clone(),
                        body: body.clone(),
                    });
                }
                if let Some(r) = respond.take() {
                    let _ = r.send(InvokeOutcome::FunctionError {
                        error_type: error_type.clone(),
                        body: body.clone(),
                    });
                }
                if runtime_done_at.is_none() {
                    self.shared.hub.emit_with(Category::Platform, || {
                        telemetry::runtime_done(RuntimeDone {
                            request_id: &request_id,
                            status: *status,
                            error_type: Some(error_type),
                            duration,
                            produced_bytes: None,
                            spans: Vec::new(),
                            trace_id: &trace_id,
                        })
                    });
                }
                (*status, Some(error_type.clone()))
            }
            None => outcome
                .map(|o| (o.status, o.error_type))
                .unwrap_or((Status::Success, None)),
        };
        let pids = self.pids();
        let report = Report {
            request_id: &request_id,
            status,
            error_type: error_type.as_deref(),
            duration,
            memory_size_mb: self.cfg.memory_mb,
            max_memory_used_mb: self.memory.max_memory_used_mb(ProcTable::shared(), &pids),
            init_duration: if cold { self.init_duration } else { None },
            trace_id: &trace_id,
        };
        self.shared
            .hub
            .emit_with(Category::Platform, || telemetry::report(&report));
        self.logs
            .push(self.platform_line(format!("END RequestId: {request_id}")));
        let init = report
            .init_duration
            .map(|d| format!("\tInit Duration: {:.2} ms", telemetry::ms(d)))
            .unwrap_or_default();
        self.logs.push(self.platform_line(format!(
            "REPORT RequestId: {request_id}\tDuration: {:.2} ms\tBilled Duration: {} ms\tMemory Size: {} MB\tMax Memory Used: {} MB{init}",
            telemetry::ms(duration),
            report.billed_duration_ms(),
            report.memory_size_mb,
            report.max_memory_used_mb
        )));
        let next_at = self.shared.update(|inner| {
            inner.current = None;
            inner.last_next_at
        });
        if reset.is_none() {
            tracing::debug!(
                target: "lab::timing",
                request_id,
                next_to_ready_us = next_at.map(|t| t.elapsed().as_micros() as u64),
                "invocation ended"
            );
        }
        match reset {
            None => {
                self.transition(Transition::InvokeEnd);
                InvokeEnd {
                    reusable: true,
                    reset: None,
                }
            }
            Some((_, error_type, _, reason)) => {
                self.transition(Transition::Reset);
                self.stop_processes(reason).await;
                InvokeEnd {
                    reusable: false,
                    reset: Some(error_type),
                }
            }
        }
    }

    /// With `RUST_LOG=lab::timing=debug`: where the invocation's time went up to the answer
    /// (handed over → the runtime's `next` returned it → the runtime answered).
    fn log_timing(&self, request_id: &str, t0: Instant) {
        if !tracing::enabled!(target: "lab::timing", tracing::Level::DEBUG) {
            return;
        }
        let picked = self
            .shared
            .lock()
            .current
            .as_ref()
            .and_then(|c| c.picked_at);
        let us = |d: Duration| d.as_micros() as u64;
        let to_runtime = picked.map(|(at, _)| us(at.duration_since(t0)));
        let answered = us(t0.elapsed());
        tracing::debug!(
            target: "lab::timing",
            request_id,
            to_runtime_us = to_runtime,
            runtime_us = to_runtime.map(|t| answered.saturating_sub(t)),
            answered_us = answered,
            "invocation answered"
        );
    }

    /// Maps the runtime's answer to telemetry and to what the caller gets.
    fn answer_outcome(&self, answer: Option<RuntimeAnswer>) -> (Outcome, InvokeOutcome) {
        let picked = self
            .shared
            .lock()
            .current
            .as_ref()
            .and_then(|c| c.picked_at);
        match answer {
            Some(RuntimeAnswer::Response {
                body,
                started,
                read,
            }) => {
                let mut spans = Vec::new();
                if let Some((_, wall)) = picked {
                    let latency = started.duration_since(wall).unwrap_or_default();
                    spans.push(telemetry::span("responseLatency", wall, latency));
                }
                spans.push(telemetry::span("responseDuration", started, read));
                let o = Outcome {
                    status: Status::Success,
                    error_type: None,
                    produced_bytes: Some(body.len() as u64),
                    spans,
                };
                (o, InvokeOutcome::Success { body })
            }
            Some(RuntimeAnswer::Error(e)) => {
                let body = if e.body.is_empty() {
                    error_doc(&e.error_type, "")
                } else {
                    e.body
                };
                let o = Outcome {
                    status: Status::Error,
                    error_type: Some(e.error_type.clone()),
                    produced_bytes: None,
                    spans: Vec::new(),
                };
                (
                    o,
                    InvokeOutcome::FunctionError {
                        error_type: e.error_type,
                        body,
                    },
                )
            }
            None => {
                let t = "ServiceException";
                let o = Outcome {
                    status: Status::Failure,
                    error_type: Some(t.into()),
                    produced_bytes: None,
                    spans: Vec::new(),
                };
                (
                    o,
                    InvokeOutcome::FunctionError {
                        error_type: t.into(),
                        body: error_doc(t, "the runtime's answer was lost"),
                    },
                )
            }
            Some(RuntimeAnswer::Stream { .. }) => {
                unreachable!("streamed answers are handled by the invoke loop")
            }
            Some(RuntimeAnswer::TooLarge) => {
                let t = protocol::runtime::ERROR_TYPE_RESPONSE_SIZE_TOO_LARGE;
                let msg =
                    "Response payload size exceeded maximum allowed payload size (6291556 bytes).";
                let o = Outcome {
                    status: Status::Error,
                    error_type: Some(t.into()),
                    produced_bytes: None,
                    spans: Vec::new(),
                };
                (
                    o,
                    InvokeOutcome::FunctionError {
                        error_type: t.into(),
                        body: error_doc(t, msg),
                    },
                )
            }
        }
    }

    /// Spins the environment down (SHUTDOWN reason `spindown`); no-op when already Dead.
    pub async fn shutdown(&mut self) {
        if matches!(self.state, State::Init | State::Ready) {
            self.transition(Transition::Shutdown);
            self.stop_processes(ShutdownReason::Spindown).await;
        }
    }

    /// The shutdown sequence (state must be ShuttingDown), with Lambda's budgets: no extension
    /// registered → the runtime is SIGKILLed at once; internal extensions only → 500 ms, all for
    /// the runtime (SIGTERM, then SIGKILL); at least one external extension → `shutdown_budget`
    /// (2 s), of which up to 300 ms (500 ms with an internal extension too) go to the runtime.
    /// Then telemetry is flushed, SHUTDOWN goes to the extensions registered for it with the
    /// rest of the budget as `deadlineMs`, and every process group is SIGKILLed. Ends Dead.
    pub(super) async fn stop_processes(&mut self, reason: ShutdownReason) {
        let t0 = Instant::now();
        let (internal, external) = {
            let inner = self.shared.lock();
            let external = inner
                .extensions
                .iter()
                .filter(|s| self.shared.external_names.contains(&s.name))
                .count();
            (inner.extensions.len() - external, external)
        };
        let (budget, runtime_grace) = match (internal, external) {
            (0, 0) => (Duration::ZERO, Duration::ZERO),
            (_, 0) => (Duration::from_millis(500), Duration::from_millis(500)),
            (0, _) => (self.cfg.shutdown_budget, Duration::from_millis(300)),
            (_, _) => (self.cfg.shutdown_budget, Duration::from_millis(500)),
        };
        if let Some(rt) = &self.runtime {
            rt.stop(runtime_grace.min(budget)).await;
        }
        if !self.extensions.is_empty() {
            let end = t0 + budget;
            let left = end.saturating_duration_since(Instant::now());
            self.shared
                .hub
                .flush(left.min(Duration::from_millis(500)))
                .await;
            let deadline_ms =
                epoch_ms(SystemTime::now() + end.saturating_duration_since(Instant::now()));
            let event = Bytes::from(
                json!({ "eventType": "SHUTDOWN", "deadlineMs": deadline_ms, "shutdownReason": reason.as_str() })
                    .to_string(),
            );
            self.shared.update(|inner| {
                for slot in inner.extensions.iter_mut().filter(|s| s.shutdown) {
                    slot.delivered += 1;
                    slot.shutdown_sent = true;
                    let _ = slot.tx.send(event.clone());
                }
            });
            // Extensions that took SHUTDOWN get until the deadline to exit (as in RAPID, calling
            // `next` again does not count); the others are killed at once.
            let externals = &self.extensions;
            let awaited = |p: &ManagedProcess, inner: &super::shared::Inner| {
                p.exit().is_none()
                    && inner
                        .extensions
                        .iter()
                        .any(|s| s.name == p.name() && s.shutdown_sent)
            };
            let all_done = self
                .shared
                .wait_for(|inner| (!externals.iter().any(|p| awaited(p, inner))).then_some(()));
            let _ = tokio::time::timeout_at(tokio::time::Instant::from_std(end), all_done).await;
            let inner = self.shared.lock();
            for p in externals.iter().filter(|p| awaited(p, &inner)) {
                tracing::warn!(
                    extension = p.name(),
                    version = %self.cfg.version,
                    budget_ms = budget.as_millis() as u64,
                    "extension still running at the SHUTDOWN deadline: killed (SIGKILL)"
                );
            }
        }
        for p in &self.extensions {
            p.stop(Duration::ZERO).await;
        }
        let _ = self.shared.closing.send(true);
        self.server.abort();
        self.logs.close_stream(&self.slots.log_stream);
        self.transition(Transition::Exited);
    }

    /// Where the Runtime/Extensions/Telemetry APIs listen (`AWS_LAMBDA_RUNTIME_API`).
    pub fn runtime_api(&self) -> SocketAddr {
        self.addr
    }

    /// The lifecycle state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Process group ids (= leader pids) of the runtime and every extension.
    pub fn pids(&self) -> Vec<i32> {
        self.runtime
            .iter()
            .chain(&self.extensions)
            .map(|p| p.pid())
            .collect()
    }

    /// `AWS_LAMBDA_LOG_STREAM_NAME` of this environment.
    pub fn log_stream(&self) -> &str {
        &self.slots.log_stream
    }

    /// `(ROLLCALL_PROXY_PORT, ROLLCALL_TELEMETRY_PORT)` given to this environment.
    pub fn extension_ports(&self) -> (u16, u16) {
        (self.slots.proxy_port, self.slots.telemetry_port)
    }

    /// Telemetry delivery counters.
    pub fn delivery_stats(&self) -> Arc<DeliveryStats> {
        self.stats.clone()
    }

    /// How long Init took (once Ready).
    pub fn init_duration(&self) -> Option<Duration> {
        self.init_duration
    }

    /// Invocations started so far.
    pub fn invocations(&self) -> u64 {
        self.invocations
    }
}
