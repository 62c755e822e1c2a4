//! State shared between the API server's handlers and the environment's driver: who registered,
//! who is waiting in `next`, the invocation in flight and what the runtime answered.
//!
//! Readiness is counted, not flagged: a party is *ready* (waiting for its next event) when it has
//! called `next` more times than it has been handed events. Every change bumps a `watch` channel
//! so the driver can wait for a condition without polling.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot, watch};

use super::delivery::TelemetryHub;

/// Who the environment runs (what the register response tells extensions).
#[derive(Debug, Clone)]
pub struct Identity {
    /// Function name.
    pub function_name: String,
    /// Function version.
    pub version: String,
    /// `_HANDLER`.
    pub handler: String,
    /// Account id.
    pub account_id: String,
}

/// An invocation as handed to the runtime on `/next`.
#[derive(Debug, Clone)]
pub struct RuntimeInvocation {
    /// `Lambda-Runtime-Aws-Request-Id`.
    pub request_id: String,
    /// `Lambda-Runtime-Deadline-Ms`.
    pub deadline_ms: u64,
    /// `Lambda-Runtime-Invoked-Function-Arn`.
    pub invoked_function_arn: String,
    /// `Lambda-Runtime-Trace-Id`.
    pub trace_id: String,
    /// `Lambda-Runtime-Client-Context`.
    pub client_context: Option<String>,
    /// `Lambda-Runtime-Cognito-Identity`.
    pub cognito_identity: Option<String>,
    /// The event.
    pub payload: Bytes,
}

/// An error document posted by the runtime or an extension.
#[derive(Debug, Clone, PartialEq)]
pub struct PostedError {
    /// Normalised error type.
    pub error_type: String,
    /// The body as posted (may be empty).
    pub body: Bytes,
}

/// What the runtime answered for the invocation in flight.
#[derive(Debug)]
pub enum RuntimeAnswer {
    /// `/response`.
    Response {
        /// The response bytes.
        body: Bytes,
        /// When the runtime started posting it.
        started: SystemTime,
        /// How long reading the body took.
        read: Duration,
    },
    /// `/error`.
    Error(PostedError),
    /// `/response` over the 6 MB limit (answered 413).
    TooLarge,
    /// A streamed `/response` to a caller that takes streams: chunks as the runtime posts them,
    /// then how the runtime's side ended.
    Stream {
        /// The body's chunks.
        chunks: mpsc::Receiver<Bytes>,
        /// Sent when the body is over.
        done: oneshot::Receiver<super::stream::StreamDone>,
        /// When the runtime started posting it.
        started: SystemTime,
        /// Its `Content-Type`.
        content_type: Option<String>,
    },
}

/// The invocation in flight.
#[derive(Debug)]
pub struct Current {
    /// Its request id.
    pub request_id: String,
    /// When the runtime received it from `/next`.
    pub picked_at: Option<(Instant, SystemTime)>,
    /// Where the runtime's answer goes (taken by the first answer).
    pub responder: Option<oneshot::Sender<RuntimeAnswer>>,
    /// The caller takes a streamed response as a stream (otherwise it is read whole).
    pub accepts_stream: bool,
}

/// One registered extension.
#[derive(Debug)]
pub struct ExtensionSlot {
    /// `Lambda-Extension-Identifier`.
    pub id: String,
    /// Registered name.
    pub name: String,
    /// Subscribed to INVOKE.
    pub invoke: bool,
    /// Subscribed to SHUTDOWN.
    pub shutdown: bool,
    /// Calls to `/extension/event/next`.
    pub nexts: u64,
    /// Events handed over.
    pub delivered: u64,
    /// Event queue (JSON bodies).
    pub tx: mpsc::UnboundedSender<Bytes>,
    /// Its receiving end, used by the `next` handler.
    pub rx: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Bytes>>>,
    /// `/extension/init/error` or `/exit/error`, once posted.
    pub error: Option<PostedError>,
    /// Subscribed to the Telemetry API.
    pub subscribed: bool,
    /// SHUTDOWN was handed to it: its next call to `next` is a protocol error (it must exit).
    pub shutdown_sent: bool,
}

impl ExtensionSlot {
    /// Waiting in `next` for its next event.
    pub fn ready(&self) -> bool {
        self.nexts > self.delivered
    }
}

/// Mutable state behind the lock.
#[derive(Debug, Default)]
pub struct Inner {
    /// Registration and telemetry subscription are open (Init only).
    pub registration_open: bool,
    /// Registered extensions, in registration order.
    pub extensions: Vec<ExtensionSlot>,
    /// Calls to `/runtime/invocation/next`.
    pub runtime_nexts: u64,
    /// Invocations handed to the runtime.
    pub runtime_delivered: u64,
    /// When the runtime or an extension last called `next` (for the `lab::timing` breakdown).
    pub last_next_at: Option<Instant>,
    /// When an extension last registered (for the `lab::timing` breakdown).
    pub last_register_at: Option<Instant>,
    /// The invocation in flight.
    pub current: Option<Current>,
    /// `/runtime/init/error`, once posted.
    pub init_error: Option<PostedError>,
}

impl Inner {
    /// The runtime waits in `next`.
    pub fn runtime_ready(&self) -> bool {
        self.runtime_nexts > self.runtime_delivered
    }
}

/// Shared by the server and the driver.
#[derive(Debug)]
pub struct Shared {
    /// Who runs here.
    pub identity: Identity,
    /// Names of the launched external extensions (file names).
    pub external_names: Vec<String>,
    inner: Mutex<Inner>,
    changed: watch::Sender<u64>,
    /// The runtime's queue of invocations.
    pub runtime_tx: mpsc::UnboundedSender<RuntimeInvocation>,
    /// Its receiving end, used by the `next` handler.
    pub runtime_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<RuntimeInvocation>>,
    /// Telemetry fan-out.
    pub hub: TelemetryHub,
    /// Set when the environment goes away: pending long polls end.
    pub closing: watch::Sender<bool>,
    /// The bandwidth cap on streamed responses, if any.
    pub stream_bandwidth: Option<super::stream::StreamBandwidth>,
}

impl Shared {
    /// Fresh state with registration open.
    pub fn new(
        identity: Identity,
        external_names: Vec<String>,
        hub: TelemetryHub,
        stream_bandwidth: Option<super::stream::StreamBandwidth>,
    ) -> Self {
        let (runtime_tx, runtime_rx) = mpsc::unbounded_channel();
        Self {
            identity,
            external_names,
            inner: Mutex::new(Inner {
                registration_open: true,
                ..Inner::default()
            }),
            changed: watch::channel(0).0,
            runtime_tx,
            runtime_rx: tokio::sync::Mutex::new(runtime_rx),
            hub,
            closing: watch::channel(false).0,
            stream_bandwidth,
        }
    }

    /// Locks the state for reading; use [`Shared::update`] to change it.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the state and wakes every waiter.
    pub fn update<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        let out = f(&mut self.lock());
        self.bump();
        out
    }

    /// Wakes every waiter (something outside the state changed, e.g. a process exited).
    pub fn bump(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Waits until `f` returns `Some`, re-checking after every change.
    pub async fn wait_for<T>(&self, mut f: impl FnMut(&Inner) -> Option<T>) -> T {
        let mut rx = self.changed.subscribe();
        loop {
            if let Some(v) = f(&self.lock()) {
                return v;
            }
            // The sender lives in `self`, so this only fails if `self` is gone.
            if rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// Resolves when the environment is closing.
    pub async fn closed(&self) {
        let mut rx = self.closing.subscribe();
        let _ = rx.wait_for(|c| *c).await;
    }
}

/// A correction applied to the state.
type Undo<'a> = Box<dyn FnOnce(&mut Inner) + Send + 'a>;

/// Undoes a `next` call's count if its long poll is abandoned (client gone) before an event was
/// handed over, so readiness is not over-counted.
pub struct NextGuard<'a> {
    shared: &'a Shared,
    undo: Option<Undo<'a>>,
}

impl<'a> NextGuard<'a> {
    /// Arms the guard with the correction to apply on drop.
    pub fn new(shared: &'a Shared, undo: impl FnOnce(&mut Inner) + Send + 'a) -> Self {
        Self {
            shared,
            undo: Some(Box::new(undo)),
        }
    }

    /// An event was handed over: keep the count.
    pub fn disarm(mut self) {
        self.undo = None;
    }
}

impl Drop for NextGuard<'_> {
    fn drop(&mut self) {
        if let Some(undo) = self.undo.take() {
            self.shared.update(undo);
        }
    }
}

impl std::fmt::Debug for NextGuard<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NextGuard")
            .field("armed", &self.undo.is_some())
            .finish()
    }
}

/// Normalises an error type the way RAPID does (see `protocol::runtime::normalize_error_type`);
/// a missing header counts as `Runtime.Unknown`.
pub fn normalise_error_type(raw: Option<&str>) -> String {
    protocol::runtime::normalize_error_type(raw.unwrap_or("")).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_types_are_normalised_like_rapid() {
        for (raw, want) in [
            (Some("Runtime.NoSuchHandler"), "Runtime.NoSuchHandler"),
            (Some("Function.MyError"), "Function.MyError"),
            (Some("Function.my_error"), "Function.Unknown"),
            (Some("Function.X"), "Function.Unknown"),
            (Some("unhandled"), "Runtime.Unknown"),
            (Some("Runtime.Bad1"), "Runtime.Unknown"),
            (None, "Runtime.Unknown"),
        ] {
            assert_eq!(normalise_error_type(raw), want, "{raw:?}");
        }
    }
}
