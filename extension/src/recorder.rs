//! The shared, lock-protected [`Aggregate`] and the flusher that drains it to stdout.
//!
//! Recording takes the lock for a few integer updates; building and writing documents happens in
//! the flusher task (a timer, an early wake-up when values pile up, and SHUTDOWN), never on a
//! response's path.

use std::io::Write;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::Notify;
use tracing::warn;

use crate::metrics::{Aggregate, Completion, write_documents};

/// Metrics shared by the proxy, the telemetry listener and the event loop.
#[derive(Debug)]
pub struct Recorder {
    aggregate: Mutex<Aggregate>,
    wake: Notify,
}

impl Recorder {
    /// A recorder around `aggregate`.
    pub fn new(aggregate: Aggregate) -> Arc<Self> {
        Arc::new(Self {
            aggregate: Mutex::new(aggregate),
            wake: Notify::new(),
        })
    }

    /// Locks the aggregate (a poisoned lock is still usable: the data are counters).
    pub fn lock(&self) -> MutexGuard<'_, Aggregate> {
        self.aggregate.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a finished invocation; wakes the flusher if values pile up.
    pub fn completion(&self, version: &str, latency: Duration, error: bool) {
        let full = self.lock().completion(
            version,
            Completion {
                latency_ms: latency.as_secs_f64() * 1000.0,
                error,
            },
        );
        if full {
            self.wake.notify_one();
        }
    }

    /// Records a finished streamed response: `latency` to its last byte, `first_byte` to its
    /// first (none for an empty body); one invocation, one error at most.
    pub fn stream_completion(
        &self,
        version: &str,
        latency: Duration,
        first_byte: Option<Duration>,
        error: bool,
    ) {
        let full = {
            let mut agg = self.lock();
            let full = agg.completion(
                version,
                Completion {
                    latency_ms: latency.as_secs_f64() * 1000.0,
                    error,
                },
            );
            let ttfb_full = first_byte
                .is_some_and(|d| agg.time_to_first_byte(version, d.as_secs_f64() * 1000.0));
            full || ttfb_full
        };
        if full {
            self.wake.notify_one();
        }
    }

    /// Drains the aggregate and writes its documents to `out`.
    pub fn flush_to<W: Write>(&self, out: &mut W) -> std::io::Result<usize> {
        let docs = self.lock().drain(now_ms());
        write_documents(out, &docs)?;
        Ok(docs.len())
    }

    /// Drains the aggregate and writes the documents to stdout from a blocking thread.
    pub async fn flush_stdout(self: &Arc<Self>) {
        let me = self.clone();
        let res =
            tokio::task::spawn_blocking(move || me.flush_to(&mut std::io::stdout().lock())).await;
        match res {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => warn!(error = %e, "writing EMF metrics to stdout failed"),
            Err(e) => warn!(error = %e, "the metrics writer panicked"),
        }
        let dropped = self.lock().dropped_values();
        if dropped > 0 {
            warn!(
                dropped,
                "latency values dropped because flushes fell behind"
            );
        }
    }

    /// Flushes every `interval`, and early when values pile up. Runs until dropped.
    pub async fn run_flusher(self: Arc<Self>, interval: Duration) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = self.wake.notified() => {}
            }
            self.flush_stdout().await;
        }
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
