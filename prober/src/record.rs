//! Recording results without keeping them: workers write each response into one of a few
//! mutex-guarded shards (one per thread, so locks are not contended; the aggregator holds one
//! only to swap the shard with an empty spare), and the aggregator drains the shards every
//! 200 ms.
//!
//! A shard holds HdrHistograms (microseconds, 3 significant figures, auto-resizing) per version
//! and small counters; its time bins are a delta since the last drain. Memory is bounded by the
//! number of versions and the drain interval, never by the number of requests.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use hdrhistogram::Histogram;

use crate::client::FailKind;

/// Width of a timeline bin, seconds.
pub const BIN_SECS: f64 = 0.1;
/// The shard key of responses that named no version: empty, which no version can be (empty
/// values count as absent), so that a server answering the version `untagged` is not mistaken
/// for untagged responses.
pub const UNTAGGED: &str = "";
/// The `errors_by_kind` keys, indexed as by [`fail_index`] (then `5xx`, `4xx` and
/// `function_error`: an Invoke answer with `X-Amz-Function-Error`, the function failed).
pub const ERROR_KINDS: [&str; 9] = [
    "timeout",
    "connect",
    "reset",
    "tls",
    "5xx",
    "4xx",
    "other",
    "interrupted",
    "function_error",
];
/// Index of `5xx` in [`ERROR_KINDS`].
pub const KIND_5XX: usize = 4;
/// Index of `4xx` in [`ERROR_KINDS`].
pub const KIND_4XX: usize = 5;
/// Index of `function_error` in [`ERROR_KINDS`].
pub const KIND_FUNCTION_ERROR: usize = 8;
/// Indexes of [`ERROR_KINDS`] that count in the error rate: transport failures, 5xx and
/// function errors (not 4xx, not requests abandoned at an interrupt).
pub const ERROR_RATE_KINDS: [usize; 7] = [0, 1, 2, 3, 4, 6, 8];

/// Version labels longer than this (bytes) are shortened to a prefix and a hash of the whole.
pub const MAX_LABEL_BYTES: usize = 512;

/// FNV-1a, 64 bits: a stable short hash for labels and file names (not for security).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The label a version is tracked under: itself, or, past [`MAX_LABEL_BYTES`], its first 400
/// bytes, `~` and the hash of the whole (distinct versions stay distinct; memory stays bounded).
pub fn version_label(version: &str) -> std::borrow::Cow<'_, str> {
    if version.len() <= MAX_LABEL_BYTES {
        return version.into();
    }
    let mut end = 400;
    while !version.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}~{:016x}", &version[..end], fnv1a(version.as_bytes())).into()
}

/// The versions tracked one by one, shared by every shard: the first `max` distinct labels
/// seen. Responses of any further version are counted together as "other versions".
#[derive(Debug)]
pub struct VersionTable {
    max: usize,
    labels: RwLock<Vec<String>>,
}

impl VersionTable {
    /// A table tracking at most `max` versions.
    pub fn new(max: usize) -> Self {
        VersionTable {
            max: max.max(1),
            labels: RwLock::new(Vec::new()),
        }
    }

    /// The cap.
    pub fn max(&self) -> usize {
        self.max
    }

    /// True when `label` is tracked, admitting it while there is room.
    pub fn admit(&self, label: &str) -> bool {
        {
            let labels = self.labels.read().unwrap_or_else(|p| p.into_inner());
            if labels.iter().any(|l| l == label) {
                return true;
            }
            if labels.len() >= self.max {
                return false;
            }
        }
        let mut labels = self.labels.write().unwrap_or_else(|p| p.into_inner());
        if labels.iter().any(|l| l == label) {
            return true;
        }
        if labels.len() >= self.max {
            return false;
        }
        labels.push(label.to_owned());
        true
    }
}

/// Slot of untagged responses in a shard's bins.
pub const SLOT_UNTAGGED: u16 = u16::MAX - 1;
/// Slot of failed requests (transport error or 5xx) in a shard's bins.
pub const SLOT_ERROR: u16 = u16::MAX;

/// A new latency histogram: 1 µs to `high_us`, 3 significant figures, growing when needed.
pub fn new_histogram(high_us: u64) -> Histogram<u64> {
    let mut h = Histogram::new_with_bounds(1, high_us.max(2), 3).expect("valid histogram bounds");
    h.auto(true);
    h
}

/// Records `d` in microseconds.
pub fn record_us(h: &mut Histogram<u64>, d: Duration) {
    let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX / 2);
    if h.record(us).is_err() {
        h.saturating_record(us);
    }
}

/// Index of a failure kind in [`ERROR_KINDS`].
pub fn fail_index(kind: FailKind) -> usize {
    match kind {
        FailKind::Timeout => 0,
        FailKind::Connect | FailKind::Refused | FailKind::Dns => 1,
        FailKind::Reset => 2,
        FailKind::Tls | FailKind::NotTls => 3,
        FailKind::Other => 6,
        FailKind::Interrupted => 7,
    }
}

/// What happened to one request.
#[derive(Debug, Clone, Copy)]
pub enum Outcome<'a> {
    /// An HTTP response.
    Response {
        /// Status code.
        status: u16,
        /// Version label, when the response named one.
        version: Option<&'a str>,
        /// `x-rollcall-cold: 1` was present.
        cold: bool,
        /// `X-Amz-Function-Error` was present (Invoke: the function failed).
        function_error: bool,
        /// Time to first byte from the intended send: until the body's first byte, or until
        /// the response's head for an empty body.
        ttfb: Duration,
        /// The body was cut at `--max-body`.
        truncated: bool,
        /// Named no version because `--version-json` needed a body that was cut.
        version_cut: bool,
    },
    /// No response.
    Failed(FailKind),
}

/// One finished request, times relative to the run's origin or to its own send.
#[derive(Debug, Clone, Copy)]
pub struct Sample<'a> {
    /// Actual send time since the origin (bins the timeline).
    pub sent_at: Duration,
    /// Actual send minus intended send.
    pub lag: Duration,
    /// Completion minus intended send (coordinated-omission corrected).
    pub corrected: Duration,
    /// Completion minus actual send.
    pub uncorrected: Duration,
    /// Was the request sent late (lag above the threshold)?
    pub late: bool,
    /// The result.
    pub outcome: Outcome<'a>,
}

/// What one version accumulated in a shard since the last drain.
#[derive(Debug)]
pub struct VersionDelta {
    /// The label.
    pub label: String,
    /// Corrected latency, µs.
    pub corrected: Histogram<u64>,
    /// Uncorrected latency, µs.
    pub uncorrected: Histogram<u64>,
    /// Time to first byte from the intended send, µs.
    pub ttfb: Histogram<u64>,
    /// Responses.
    pub requests: u64,
    /// Of those, bodies cut at `--max-body`.
    pub body_truncated: u64,
    /// Error responses: 5xx, and function errors (Invoke).
    pub errors: u64,
    /// Cold starts.
    pub cold_starts: u64,
    /// Status code counts.
    pub statuses: Vec<(u16, u64)>,
}

impl VersionDelta {
    fn new(label: &str, high_us: u64) -> Self {
        VersionDelta {
            label: label.to_owned(),
            corrected: new_histogram(high_us),
            uncorrected: new_histogram(high_us),
            ttfb: new_histogram(high_us),
            requests: 0,
            body_truncated: 0,
            errors: 0,
            cold_starts: 0,
            statuses: Vec::new(),
        }
    }

    /// Clears the counts, keeping allocations.
    pub fn reset(&mut self) {
        self.corrected.reset();
        self.uncorrected.reset();
        self.ttfb.reset();
        self.requests = 0;
        self.body_truncated = 0;
        self.errors = 0;
        self.cold_starts = 0;
        self.statuses.clear();
    }
}

/// One shard's delta since the last drain.
#[derive(Debug)]
pub struct Shard {
    high_us: u64,
    table: Arc<VersionTable>,
    /// Per tracked version; the untagged responses live under [`UNTAGGED`].
    pub versions: Vec<VersionDelta>,
    /// Responses of versions beyond the [`VersionTable`]'s cap, together.
    pub other: VersionDelta,
    /// Failures by precise cause, [`FailKind::index`] order.
    pub causes: [u64; FailKind::ALL.len()],
    /// Send lag, µs.
    pub lag: Histogram<u64>,
    /// Requests completed (response or failure).
    pub sent: u64,
    /// Of those, with an HTTP response.
    pub responses: u64,
    /// Of those sent, sent late.
    pub late: u64,
    /// Responses whose body was cut at `--max-body`.
    pub body_truncated: u64,
    /// Untagged responses whose version `--version-json` could not read from a cut body.
    pub version_cut: u64,
    /// Failures and error responses by [`ERROR_KINDS`] index.
    pub errors: [u64; ERROR_KINDS.len()],
    /// `((bin, slot), count)`, each key once: slot is a `versions` index, [`SLOT_UNTAGGED`] or
    /// [`SLOT_ERROR`]. Requests arrive roughly in time order, so a key is looked up among the
    /// last few entries first.
    pub bins: Vec<((u32, u16), u32)>,
}

impl Shard {
    /// An empty shard whose histograms start sized for `high_us`, tracking up to
    /// [`crate::config::DEFAULT_MAX_VERSIONS`] versions of its own.
    pub fn new(high_us: u64) -> Self {
        Shard::with_table(
            high_us,
            Arc::new(VersionTable::new(crate::config::DEFAULT_MAX_VERSIONS)),
        )
    }

    /// An empty shard tracking the versions of a shared `table`.
    pub fn with_table(high_us: u64, table: Arc<VersionTable>) -> Self {
        Shard {
            high_us,
            table,
            versions: Vec::new(),
            other: VersionDelta::new("other versions", high_us),
            causes: [0; FailKind::ALL.len()],
            lag: new_histogram(high_us),
            sent: 0,
            responses: 0,
            late: 0,
            body_truncated: 0,
            version_cut: 0,
            errors: [0; ERROR_KINDS.len()],
            bins: Vec::new(),
        }
    }

    /// Adds one sample.
    pub fn record(&mut self, s: &Sample<'_>) {
        self.sent += 1;
        self.late += u64::from(s.late);
        record_us(&mut self.lag, s.lag);
        let bin = (s.sent_at.as_secs_f64() / BIN_SECS) as u32;
        match s.outcome {
            Outcome::Failed(kind) => {
                self.errors[fail_index(kind)] += 1;
                self.causes[kind.index()] += 1;
                self.count_bin(bin, SLOT_ERROR);
            }
            Outcome::Response {
                status,
                version,
                cold,
                function_error,
                ttfb,
                truncated,
                version_cut,
            } => {
                // A failed function's answer is an error like a 5xx (Invoke answers 200).
                let kind = if status >= 500 {
                    Some(KIND_5XX)
                } else if function_error {
                    Some(KIND_FUNCTION_ERROR)
                } else if status >= 400 {
                    Some(KIND_4XX)
                } else {
                    None
                };
                let failed = kind.is_some_and(|k| k != KIND_4XX);
                if let Some(k) = kind {
                    self.errors[k] += 1;
                }
                self.responses += 1;
                self.body_truncated += u64::from(truncated);
                self.version_cut += u64::from(version_cut && version.is_none());
                let label = version.map_or(UNTAGGED.into(), version_label);
                let known = self.versions.iter().position(|v| v.label == label);
                let i = match known {
                    Some(i) => Some(i),
                    None if version.is_none() || self.table.admit(&label) => {
                        self.versions.push(VersionDelta::new(&label, self.high_us));
                        Some(self.versions.len() - 1)
                    }
                    None => None,
                };
                let Some(i) = i else {
                    let o = &mut self.other;
                    o.requests += 1;
                    record_us(&mut o.corrected, s.corrected);
                    record_us(&mut o.uncorrected, s.uncorrected);
                    if failed {
                        o.errors += 1;
                        self.count_bin(bin, SLOT_ERROR);
                    }
                    return;
                };
                let v = &mut self.versions[i];
                v.requests += 1;
                v.cold_starts += u64::from(cold);
                record_us(&mut v.corrected, s.corrected);
                record_us(&mut v.uncorrected, s.uncorrected);
                record_us(&mut v.ttfb, ttfb);
                v.body_truncated += u64::from(truncated);
                match v.statuses.iter_mut().find(|(c, _)| *c == status) {
                    Some((_, n)) => *n += 1,
                    None => v.statuses.push((status, 1)),
                }
                if failed {
                    v.errors += 1;
                    self.count_bin(bin, SLOT_ERROR);
                }
                let slot = if version.is_some() {
                    i as u16
                } else {
                    SLOT_UNTAGGED
                };
                self.count_bin(bin, slot);
            }
        }
    }

    fn count_bin(&mut self, bin: u32, slot: u16) {
        let key = (bin, slot);
        match self.bins.iter_mut().rev().find(|(k, _)| *k == key) {
            Some((_, n)) => *n += 1,
            None => self.bins.push((key, 1)),
        }
    }

    /// The count of `(bin, slot)` in this delta.
    pub fn bin_count(&self, bin: u32, slot: u16) -> u32 {
        self.bins
            .iter()
            .find(|(k, _)| *k == (bin, slot))
            .map_or(0, |(_, n)| *n)
    }

    /// Clears the delta after a drain, keeping allocations.
    pub fn reset(&mut self) {
        for v in &mut self.versions {
            v.reset();
        }
        self.other.reset();
        self.causes = [0; FailKind::ALL.len()];
        self.lag.reset();
        self.sent = 0;
        self.responses = 0;
        self.late = 0;
        self.body_truncated = 0;
        self.version_cut = 0;
        self.errors = [0; ERROR_KINDS.len()];
        self.bins.clear();
    }
}

/// Threads numbered in order of their first sample.
static NEXT_THREAD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static THREAD_SLOT: usize = NEXT_THREAD.fetch_add(1, Ordering::Relaxed);
}

/// The shards workers record into.
#[derive(Debug)]
pub struct Recorder {
    shards: Box<[Mutex<Shard>]>,
    spare: Mutex<Option<Shard>>,
    high_us: u64,
    table: Arc<VersionTable>,
}

impl Recorder {
    /// `n` shards with histograms sized for `high_us`, tracking up to
    /// [`crate::config::DEFAULT_MAX_VERSIONS`] versions.
    pub fn new(n: usize, high_us: u64) -> Self {
        Recorder::with_max_versions(n, high_us, crate::config::DEFAULT_MAX_VERSIONS)
    }

    /// `n` shards with histograms sized for `high_us`, tracking up to `max_versions` versions
    /// one by one (the rest together).
    pub fn with_max_versions(n: usize, high_us: u64, max_versions: usize) -> Self {
        let table = Arc::new(VersionTable::new(max_versions));
        Recorder {
            shards: (0..n.max(1))
                .map(|_| Mutex::new(Shard::with_table(high_us, table.clone())))
                .collect(),
            spare: Mutex::new(None),
            high_us,
            table,
        }
    }

    /// Records a sample into the shard of the calling thread: each runtime thread gets its own
    /// shard (threads are numbered on first use), so their locks are not contended.
    pub fn record(&self, sample: &Sample<'_>) {
        let slot = THREAD_SLOT.with(|slot| *slot);
        let shard = &self.shards[slot % self.shards.len()];
        shard
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .record(sample);
    }

    /// Calls `f` with each shard's delta, then resets it. A shard's lock is held only to swap
    /// it with an empty spare, so that workers never wait for the aggregation.
    pub fn drain(&self, mut f: impl FnMut(&Shard)) {
        let mut spare_slot = self.spare.lock().unwrap_or_else(|p| p.into_inner());
        let mut spare = spare_slot
            .take()
            .unwrap_or_else(|| Shard::with_table(self.high_us, self.table.clone()));
        for shard in self.shards.iter() {
            std::mem::swap(
                &mut *shard.lock().unwrap_or_else(|p| p.into_inner()),
                &mut spare,
            );
            if spare.sent > 0 {
                f(&spare);
                spare.reset();
            }
        }
        *spare_slot = Some(spare);
    }
}

#[cfg(test)]
#[path = "record_tests.rs"]
mod tests;
