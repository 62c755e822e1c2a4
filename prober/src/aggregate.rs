//! The run's aggregate: whole-run histograms and counters per version, the split timeline, the
//! per-second series behind `timeline.csv`, and the per-second / per-window histograms behind
//! `latency.hlog`, `ttfb.hlog`, `latency.svg` and the windowed latency comparison. Closed intervals are kept
//! compressed (HdrHistogram V2 deflate), so memory grows with the run's duration, not with the
//! number of requests.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer as _, V2DeflateSerializer};
use rollout::Timeline;
use rollout::report::LatencyComparison;

use crate::record::{BIN_SECS, SLOT_ERROR, SLOT_UNTAGGED, Shard, UNTAGGED, new_histogram};

/// Width of the windows used to compare the latency of two versions, seconds.
pub const WINDOW_SECS: u32 = 5;

/// Everything observed of one version (or of the untagged responses).
#[derive(Debug, Clone)]
pub struct VersionAgg {
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
    /// Responses by status code.
    pub statuses: BTreeMap<u16, u64>,
    interval: Histogram<u64>,
    ttfb_interval: Histogram<u64>,
    window: Histogram<u64>,
    ttfb_window: Histogram<u64>,
}

impl VersionAgg {
    /// Empty, histograms sized for `high_us`.
    pub fn new(high_us: u64) -> Self {
        VersionAgg {
            corrected: new_histogram(high_us),
            uncorrected: new_histogram(high_us),
            ttfb: new_histogram(high_us),
            requests: 0,
            body_truncated: 0,
            errors: 0,
            cold_starts: 0,
            statuses: BTreeMap::new(),
            interval: new_histogram(high_us),
            ttfb_interval: new_histogram(high_us),
            window: new_histogram(high_us),
            ttfb_window: new_histogram(high_us),
        }
    }
}

/// Untagged responses and errors in one second (by send time).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SecondRow {
    /// Responses without a version.
    pub untagged: u64,
    /// Transport failures and 5xx responses.
    pub errors: u64,
}

/// One version's corrected latency during one second.
#[derive(Debug, Clone)]
pub struct IntervalRecord {
    /// Second since the origin.
    pub second: u32,
    /// Version label.
    pub version: String,
    /// Responses in the interval.
    pub count: u64,
    /// Median, ms.
    pub p50_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// The histogram, V2 deflate.
    pub encoded: Vec<u8>,
    /// The time to first byte in the same second, V2 deflate.
    pub ttfb_encoded: Vec<u8>,
}

/// Per-version histograms of one closed comparison window.
#[derive(Debug, Clone)]
pub struct WindowRecord {
    /// `(version, V2 deflate histogram)` of the versions that served in the window.
    pub versions: Vec<(String, Vec<u8>)>,
    /// The same for the time to first byte.
    pub ttfb: Vec<(String, Vec<u8>)>,
}

/// What a latency comparison compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compared {
    /// Total latency (to the body's end), corrected.
    Total,
    /// Time to first byte, corrected.
    Ttfb,
}

/// The aggregate of a run.
#[derive(Debug)]
pub struct Aggregate {
    high_us: u64,
    /// Per version label.
    pub versions: BTreeMap<String, VersionAgg>,
    /// Responses without a version.
    pub untagged: VersionAgg,
    /// Responses of versions beyond `--max-versions`, together.
    pub other: VersionAgg,
    /// Transport failures by precise cause, [`crate::client::FailKind::index`] order.
    pub causes: [u64; crate::client::FailKind::ALL.len()],
    /// Send lag, µs.
    pub lag: Histogram<u64>,
    /// Requests completed.
    pub sent: u64,
    /// With a response.
    pub responses: u64,
    /// Sent late.
    pub late: u64,
    /// Responses whose body was cut at `--max-body`.
    pub body_truncated: u64,
    /// Untagged responses whose version `--version-json` could not read from a cut body.
    pub version_cut: u64,
    /// By [`crate::record::ERROR_KINDS`] index.
    pub errors: [u64; crate::record::ERROR_KINDS.len()],
    /// All responses by status code.
    pub statuses: BTreeMap<u16, u64>,
    /// Tagged responses per version per 0.1 s bin.
    pub timeline: Timeline,
    /// Untagged responses and errors per second.
    pub seconds: Vec<SecondRow>,
    /// Closed one-second intervals.
    pub intervals: Vec<IntervalRecord>,
    /// Closed comparison windows.
    pub windows: Vec<WindowRecord>,
    closed_seconds: u32,
}

fn encode(h: &Histogram<u64>) -> Vec<u8> {
    let mut out = Vec::new();
    V2DeflateSerializer::new()
        .serialize(h, &mut out)
        .expect("histogram serializes");
    out
}

/// Decodes a histogram written by this module.
pub fn decode(bytes: &[u8]) -> Histogram<u64> {
    Deserializer::new()
        .deserialize(&mut std::io::Cursor::new(bytes))
        .expect("histogram we encoded decodes")
}

impl Aggregate {
    /// An empty aggregate; histograms sized for `high_us`.
    pub fn new(high_us: u64) -> Self {
        Aggregate {
            high_us,
            versions: BTreeMap::new(),
            untagged: VersionAgg::new(high_us),
            other: VersionAgg::new(high_us),
            causes: [0; crate::client::FailKind::ALL.len()],
            lag: new_histogram(high_us),
            sent: 0,
            responses: 0,
            late: 0,
            body_truncated: 0,
            version_cut: 0,
            errors: [0; crate::record::ERROR_KINDS.len()],
            statuses: BTreeMap::new(),
            timeline: Timeline::new(BIN_SECS),
            seconds: Vec::new(),
            intervals: Vec::new(),
            windows: Vec::new(),
            closed_seconds: 0,
        }
    }

    /// Adds a shard's delta.
    pub fn absorb(&mut self, shard: &Shard) {
        self.sent += shard.sent;
        self.responses += shard.responses;
        self.late += shard.late;
        self.body_truncated += shard.body_truncated;
        self.version_cut += shard.version_cut;
        for (a, b) in self.errors.iter_mut().zip(shard.errors) {
            *a += b;
        }
        for (a, b) in self.causes.iter_mut().zip(shard.causes) {
            *a += b;
        }
        let _ = self.lag.add(&shard.lag);
        for v in shard.versions.iter().filter(|v| v.requests > 0) {
            let agg = if v.label == UNTAGGED {
                &mut self.untagged
            } else {
                let high = self.high_us;
                self.versions
                    .entry(v.label.clone())
                    .or_insert_with(|| VersionAgg::new(high))
            };
            let _ = agg.corrected.add(&v.corrected);
            let _ = agg.uncorrected.add(&v.uncorrected);
            let _ = agg.interval.add(&v.corrected);
            let _ = agg.ttfb.add(&v.ttfb);
            let _ = agg.ttfb_interval.add(&v.ttfb);
            let _ = agg.ttfb_window.add(&v.ttfb);
            agg.requests += v.requests;
            agg.body_truncated += v.body_truncated;
            agg.errors += v.errors;
            agg.cold_starts += v.cold_starts;
            for &(code, n) in &v.statuses {
                *agg.statuses.entry(code).or_insert(0) += n;
                *self.statuses.entry(code).or_insert(0) += n;
            }
        }
        if shard.other.requests > 0 {
            if self.other.requests == 0 {
                tracing::warn!(
                    "more distinct versions than --max-versions: responses of further versions \
                     are counted together as other_versions (raise --max-versions to track them)"
                );
            }
            let (o, d) = (&mut self.other, &shard.other);
            let _ = o.corrected.add(&d.corrected);
            let _ = o.uncorrected.add(&d.uncorrected);
            o.requests += d.requests;
            o.errors += d.errors;
        }
        // Sorted, so that versions enter the timeline in order of first appearance.
        let mut bins = shard.bins.clone();
        bins.sort_unstable();
        for ((bin, slot), n) in bins {
            let second = (f64::from(bin) * BIN_SECS + 1e-9) as usize;
            match slot {
                SLOT_ERROR => self.second_mut(second).errors += u64::from(n),
                SLOT_UNTAGGED => self.second_mut(second).untagged += u64::from(n),
                i => {
                    let label = &shard.versions[usize::from(i)].label;
                    let vi = self.timeline.version_index(label);
                    self.timeline.add((f64::from(bin) + 0.5) * BIN_SECS, vi, n);
                }
            }
        }
    }

    fn second_mut(&mut self, second: usize) -> &mut SecondRow {
        if self.seconds.len() <= second {
            self.seconds.resize(second + 1, SecondRow::default());
        }
        &mut self.seconds[second]
    }

    /// Closes the one-second intervals up to `second` (exclusive): what was absorbed since the
    /// last close is attributed to the last of them (attribution is by drain time, within the
    /// 200 ms drain period). Closes a comparison window every [`WINDOW_SECS`].
    pub fn close_intervals(&mut self, second: u32) {
        while self.closed_seconds < second {
            let sec = self.closed_seconds;
            let last = sec + 1 == second;
            if last {
                for (label, v) in &mut self.versions {
                    if v.interval.is_empty() {
                        continue;
                    }
                    self.intervals.push(IntervalRecord {
                        second: sec,
                        version: label.clone(),
                        count: v.interval.len(),
                        p50_ms: v.interval.value_at_quantile(0.5) as f64 / 1000.0,
                        p99_ms: v.interval.value_at_quantile(0.99) as f64 / 1000.0,
                        encoded: encode(&v.interval),
                        ttfb_encoded: encode(&v.ttfb_interval),
                    });
                    let _ = v.window.add(&v.interval);
                    v.interval.reset();
                    v.ttfb_interval.reset();
                }
            }
            if (sec + 1) % WINDOW_SECS == 0 {
                self.close_window();
            }
            self.closed_seconds += 1;
        }
    }

    fn close_window(&mut self) {
        let mut close = |pick: fn(&mut VersionAgg) -> &mut Histogram<u64>| {
            self.versions
                .iter_mut()
                .filter_map(|(label, v)| {
                    let h = pick(v);
                    let e = (!h.is_empty()).then(|| encode(h));
                    h.reset();
                    Some((label.clone(), e?))
                })
                .collect::<Vec<_>>()
        };
        let versions = close(|v| &mut v.window);
        let ttfb = close(|v| &mut v.ttfb_window);
        if !versions.is_empty() {
            self.windows.push(WindowRecord { versions, ttfb });
        }
    }

    /// Closes everything still open (end of run).
    pub fn finish(&mut self, second: u32) {
        self.close_intervals(second.max(self.closed_seconds + 1));
        self.close_window();
    }

    /// Compares `new`'s corrected latency with `old`'s over the windows in which both served.
    pub fn windowed_comparison(&self, old: &str, new: &str) -> Option<LatencyComparison> {
        self.windowed_comparison_of(Compared::Total, old, new)
    }

    /// Compares `new`'s `what` with `old`'s over the windows in which both served.
    pub fn windowed_comparison_of(
        &self,
        what: Compared,
        old: &str,
        new: &str,
    ) -> Option<LatencyComparison> {
        let mut o = new_histogram(self.high_us);
        let mut n = new_histogram(self.high_us);
        for w in &self.windows {
            let of = match what {
                Compared::Total => &w.versions,
                Compared::Ttfb => &w.ttfb,
            };
            let find = |label: &str| of.iter().find(|(l, _)| l == label).map(|(_, e)| e);
            if let (Some(a), Some(b)) = (find(old), find(new)) {
                let _ = o.add(decode(a));
                let _ = n.add(decode(b));
            }
        }
        rollout::stats::compare_latency(&o, &n)
    }

    /// Transport failures plus 5xx and function errors (not 4xx, not requests abandoned at an
    /// interrupt).
    pub fn error_count(&self) -> u64 {
        crate::record::ERROR_RATE_KINDS
            .iter()
            .map(|&i| self.errors[i])
            .sum()
    }

    /// `(transport errors + 5xx + function errors) / sent`, 0 when nothing was sent.
    pub fn error_rate(&self) -> f64 {
        if self.sent == 0 {
            0.0
        } else {
            self.error_count() as f64 / self.sent as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::client::FailKind;
    use crate::record::{Outcome, Sample};

    fn sample(at_ms: u64, latency_ms: u64, outcome: Outcome<'_>) -> Sample<'_> {
        Sample {
            sent_at: Duration::from_millis(at_ms),
            lag: Duration::ZERO,
            corrected: Duration::from_millis(latency_ms),
            uncorrected: Duration::from_millis(latency_ms),
            late: false,
            outcome,
        }
    }

    fn ok(v: Option<&str>) -> Outcome<'_> {
        Outcome::Response {
            status: 200,
            version: v,
            cold: false,
            function_error: false,
            ttfb: Duration::from_millis(1),
            truncated: false,
            version_cut: false,
        }
    }

    #[test]
    fn absorbs_shards_into_timeline_and_seconds() {
        let mut shard = Shard::new(1_000_000);
        shard.record(&sample(50, 5, ok(Some("1"))));
        shard.record(&sample(1050, 5, ok(Some("2"))));
        shard.record(&sample(1060, 5, ok(None)));
        shard.record(&sample(2500, 5, Outcome::Failed(FailKind::Timeout)));
        let mut agg = Aggregate::new(1_000_000);
        agg.absorb(&shard);
        assert_eq!(agg.timeline.versions, ["1", "2"]);
        assert_eq!(agg.timeline.totals(), [1, 1]);
        assert_eq!(agg.timeline.counts.len(), 11);
        assert_eq!(
            agg.seconds[1],
            SecondRow {
                untagged: 1,
                errors: 0
            }
        );
        assert_eq!(
            agg.seconds[2],
            SecondRow {
                untagged: 0,
                errors: 1
            }
        );
        assert_eq!(agg.untagged.requests, 1);
        assert_eq!(agg.statuses[&200], 3);
        assert_eq!((agg.sent, agg.responses, agg.error_count()), (4, 3, 1));
        assert!((agg.error_rate() - 0.25).abs() < 1e-12);
    }

    #[test]
    fn a_version_named_untagged_is_a_version() {
        let mut shard = Shard::new(1_000_000);
        shard.record(&sample(50, 5, ok(Some("untagged"))));
        shard.record(&sample(60, 5, ok(None)));
        let mut agg = Aggregate::new(1_000_000);
        agg.absorb(&shard);
        assert_eq!(agg.versions["untagged"].requests, 1);
        assert_eq!(agg.untagged.requests, 1);
        assert_eq!(agg.timeline.versions, ["untagged"]);
        assert_eq!(agg.timeline.totals(), [1]);
    }

    #[test]
    fn latency_comparison_uses_only_shared_windows() {
        let mut agg = Aggregate::new(1_000_000);
        // Window 0: only version 1, very slow (must be ignored).
        let mut s = Shard::new(1_000_000);
        for _ in 0..50 {
            s.record(&sample(0, 900, ok(Some("1"))));
        }
        agg.absorb(&s);
        agg.close_intervals(5);
        // Window 1: both, version 2 slower.
        let mut s = Shard::new(1_000_000);
        for _ in 0..50 {
            s.record(&sample(5000, 10, ok(Some("1"))));
            s.record(&sample(5000, 20, ok(Some("2"))));
        }
        agg.absorb(&s);
        agg.finish(10);
        assert_eq!(agg.windows.len(), 2);
        let cmp = agg.windowed_comparison("1", "2").unwrap();
        assert_eq!((cmp.old_count, cmp.new_count), (50, 50));
        assert!(cmp.new_slower, "{cmp:?}");
        // Both versions answer their first byte after 1 ms: no difference there.
        let ttfb = agg
            .windowed_comparison_of(Compared::Ttfb, "1", "2")
            .unwrap();
        assert_eq!((ttfb.old_count, ttfb.new_count), (50, 50));
        assert!(!ttfb.new_slower, "{ttfb:?}");
        assert!(
            agg.intervals
                .iter()
                .any(|i| i.version == "2" && i.count == 50)
        );
    }
}
