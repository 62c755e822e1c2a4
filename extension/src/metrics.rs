//! Per-version metrics aggregated in memory and drained into CloudWatch EMF documents
//! (DESIGN.md, "Metrics"; LAMBDA-FACTS §9).
//!
//! Recording is a few integer updates under a short lock; documents are built only when the
//! flusher drains the aggregate, never on a response's path. Value arrays (latency, time to
//! first byte, init duration) are split into documents of at most [`MAX_VALUES_PER_METRIC`] values.

use std::collections::{BTreeMap, VecDeque};
use std::io::{self, Write};

use protocol::emf::{
    Document, MAX_DIMENSION_VALUE_LEN, MAX_VALUES_PER_METRIC, Metadata, MetricDefinition,
    MetricDirective, unit,
};
use protocol::rollcall::DIMENSION_SET;
use serde_json::{Map, Value};

/// Dimension holding the function name.
pub const DIMENSION_FUNCTION: &str = protocol::rollcall::dimension::FUNCTION_NAME;
/// Dimension holding the function version.
pub const DIMENSION_VERSION: &str = protocol::rollcall::dimension::VERSION;

/// Metric names (DESIGN.md), defined in `protocol` for the extension's readers.
pub use protocol::rollcall::metric as name;

/// Most latency values kept per version between two flushes; past it the aggregate asks for an
/// early flush and, until then, counts the values it drops.
pub const MAX_PENDING_VALUES: usize = 10_000;

/// How many recent timed-out request ids are remembered to count each timeout once.
const TIMEOUT_MEMORY: usize = 16;

/// The outcome of one invocation as the proxy saw it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Completion {
    /// Handler latency in milliseconds.
    pub latency_ms: f64,
    /// `/error` post, or an HTTP response with a 5xx status.
    pub error: bool,
}

#[derive(Debug, Default, Clone, PartialEq)]
struct VersionStats {
    invocations: u64,
    errors: u64,
    timeouts: u64,
    cold_starts: u64,
    latency_ms: Vec<f64>,
    first_byte_ms: Vec<f64>,
    init_duration_ms: Vec<f64>,
    max_memory_mb: Option<u64>,
    dropped_values: u64,
}

impl VersionStats {
    fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Aggregated metrics of one function, keyed by version.
#[derive(Debug)]
pub struct Aggregate {
    function_name: String,
    namespace: String,
    versions: BTreeMap<String, VersionStats>,
    timed_out: VecDeque<String>,
    last_request: String,
    dropped_total: u64,
}

impl Aggregate {
    /// An empty aggregate for `function_name`, writing to `namespace`.
    pub fn new(function_name: impl Into<String>, namespace: impl Into<String>) -> Self {
        let mut function_name: String = function_name.into();
        truncate(&mut function_name, MAX_DIMENSION_VALUE_LEN);
        Self {
            function_name,
            namespace: namespace.into(),
            versions: BTreeMap::new(),
            timed_out: VecDeque::new(),
            last_request: String::new(),
            dropped_total: 0,
        }
    }

    fn stats(&mut self, version: &str) -> &mut VersionStats {
        if !self.versions.contains_key(version) {
            self.versions
                .insert(version.to_owned(), VersionStats::default());
        }
        self.versions.get_mut(version).expect("inserted above")
    }

    /// An invocation (`request_id`); `cold` for the environment's first. The id is remembered:
    /// a SHUTDOWN with reason `timeout` ends the last invocation.
    pub fn invocation(&mut self, version: &str, cold: bool, request_id: &str) {
        let s = self.stats(version);
        s.invocations += 1;
        s.cold_starts += u64::from(cold);
        self.last_request.clear();
        self.last_request.push_str(request_id);
    }

    /// The request id of the last invocation counted, if any.
    pub fn last_request(&self) -> Option<&str> {
        Some(self.last_request.as_str()).filter(|id| !id.is_empty())
    }

    /// A response or error the proxy forwarded. Returns true when the pending values reached
    /// [`MAX_PENDING_VALUES`] (the caller should wake the flusher).
    pub fn completion(&mut self, version: &str, c: Completion) -> bool {
        let s = self.stats(version);
        s.errors += u64::from(c.error);
        if s.latency_ms.len() < MAX_PENDING_VALUES {
            s.latency_ms.push(round_ms(c.latency_ms));
            s.latency_ms.len() == MAX_PENDING_VALUES
        } else {
            s.dropped_values += 1;
            self.dropped_total += 1;
            true
        }
    }

    /// A streamed response's time to first byte (event handed to the runtime -> first byte
    /// forwarded), kept like latency values. Returns true when the caller should wake the
    /// flusher (see [`Self::completion`]).
    pub fn time_to_first_byte(&mut self, version: &str, ms: f64) -> bool {
        let s = self.stats(version);
        if s.first_byte_ms.len() < MAX_PENDING_VALUES {
            s.first_byte_ms.push(round_ms(ms));
            s.first_byte_ms.len() == MAX_PENDING_VALUES
        } else {
            s.dropped_values += 1;
            self.dropped_total += 1;
            true
        }
    }

    /// Sets the function name (the `FunctionName` dimension), e.g. from the register response.
    pub fn set_function_name(&mut self, function_name: &str) {
        let mut name = function_name.to_owned();
        truncate(&mut name, MAX_DIMENSION_VALUE_LEN);
        self.function_name = name;
    }

    /// A timed-out invocation; each request id counts once (telemetry and SHUTDOWN may both
    /// report it). `None` when the request id is unknown.
    pub fn timeout(&mut self, version: &str, request_id: Option<&str>) {
        if let Some(id) = request_id {
            if self.timed_out.iter().any(|t| t == id) {
                return;
            }
            if self.timed_out.len() == TIMEOUT_MEMORY {
                self.timed_out.pop_front();
            }
            self.timed_out.push_back(id.to_owned());
        }
        self.stats(version).timeouts += 1;
    }

    /// True if `request_id` was already counted as a timeout.
    pub fn is_timed_out(&self, request_id: &str) -> bool {
        self.timed_out.iter().any(|t| t == request_id)
    }

    /// The init phase duration.
    pub fn init_duration(&mut self, version: &str, ms: f64) {
        let s = self.stats(version);
        if s.init_duration_ms.len() < MAX_PENDING_VALUES {
            s.init_duration_ms.push(round_ms(ms));
        }
    }

    /// Peak memory from a `platform.report`; the flush reports the maximum.
    pub fn max_memory(&mut self, version: &str, mb: u64) {
        let s = self.stats(version);
        s.max_memory_mb = Some(s.max_memory_mb.map_or(mb, |m| m.max(mb)));
    }

    /// Values dropped since start because the flusher fell behind.
    pub fn dropped_values(&self) -> u64 {
        self.dropped_total
    }

    /// Empties the aggregate into EMF documents stamped `timestamp_ms`: per version one
    /// document with the counts and up to 100 values of each array, then documents with the
    /// remaining values. Versions without activity produce nothing.
    pub fn drain(&mut self, timestamp_ms: i64) -> Vec<Document> {
        let mut docs = Vec::new();
        for (version, stats) in std::mem::take(&mut self.versions) {
            if stats.is_empty() {
                continue;
            }
            let mut latency = stats.latency_ms.chunks(MAX_VALUES_PER_METRIC);
            let mut first_byte = stats.first_byte_ms.chunks(MAX_VALUES_PER_METRIC);
            let mut init = stats.init_duration_ms.chunks(MAX_VALUES_PER_METRIC);
            let mut first = DocBuilder::new(self, &version, timestamp_ms);
            first.count(name::INVOCATIONS, stats.invocations);
            first.count(name::ERRORS, stats.errors);
            first.count(name::TIMEOUTS, stats.timeouts);
            first.count(name::COLD_STARTS, stats.cold_starts);
            if let Some(mb) = stats.max_memory_mb {
                first.metric(name::MAX_MEMORY_USED, unit::MEGABYTES, Value::from(mb));
            }
            first.values(name::LATENCY, latency.next());
            first.values(name::TIME_TO_FIRST_BYTE, first_byte.next());
            first.values(name::INIT_DURATION, init.next());
            docs.push(first.build());
            loop {
                let (l, f, i) = (latency.next(), first_byte.next(), init.next());
                if l.is_none() && f.is_none() && i.is_none() {
                    break;
                }
                let mut more = DocBuilder::new(self, &version, timestamp_ms);
                more.values(name::LATENCY, l);
                more.values(name::TIME_TO_FIRST_BYTE, f);
                more.values(name::INIT_DURATION, i);
                docs.push(more.build());
            }
        }
        docs
    }
}

struct DocBuilder {
    namespace: String,
    members: Map<String, Value>,
    metrics: Vec<MetricDefinition>,
    timestamp_ms: i64,
}

impl DocBuilder {
    fn new(agg: &Aggregate, version: &str, timestamp_ms: i64) -> Self {
        let mut version = version.to_owned();
        truncate(&mut version, MAX_DIMENSION_VALUE_LEN);
        let mut members = Map::new();
        members.insert(DIMENSION_FUNCTION.into(), agg.function_name.clone().into());
        members.insert(DIMENSION_VERSION.into(), version.into());
        Self {
            namespace: agg.namespace.clone(),
            members,
            metrics: Vec::new(),
            timestamp_ms,
        }
    }

    fn metric(&mut self, name: &str, unit: &str, value: Value) {
        self.members.insert(name.to_owned(), value);
        self.metrics.push(MetricDefinition {
            name: name.to_owned(),
            unit: Some(unit.to_owned()),
            storage_resolution: None,
        });
    }

    fn count(&mut self, name: &str, n: u64) {
        self.metric(name, unit::COUNT, Value::from(n));
    }

    fn values(&mut self, name: &str, values: Option<&[f64]>) {
        if let Some(v) = values.filter(|v| !v.is_empty()) {
            self.metric(name, unit::MILLISECONDS, Value::from(v.to_vec()));
        }
    }

    fn build(self) -> Document {
        Document {
            aws: Metadata {
                timestamp: self.timestamp_ms,
                cloud_watch_metrics: vec![MetricDirective {
                    namespace: self.namespace,
                    dimensions: vec![DIMENSION_SET.map(String::from).to_vec()],
                    metrics: self.metrics,
                }],
            },
            members: self.members,
        }
    }
}

/// Milliseconds rounded to microseconds (shorter JSON, no false precision).
fn round_ms(ms: f64) -> f64 {
    if ms.is_finite() {
        (ms.max(0.0) * 1000.0).round() / 1000.0
    } else {
        0.0
    }
}

fn truncate(s: &mut String, max_chars: usize) {
    if let Some((i, _)) = s.char_indices().nth(max_chars) {
        s.truncate(i);
    }
}

/// Writes documents as EMF log lines, one JSON object per line (EMF: "a single valid JSON
/// object"), with one `write` per line so lines from concurrent writers do not interleave.
pub fn write_documents<W: Write>(out: &mut W, docs: &[Document]) -> io::Result<()> {
    for doc in docs {
        let mut line = serde_json::to_vec(doc).map_err(io::Error::other)?;
        line.push(b'\n');
        out.write_all(&line)?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(doc: &Document, name: &str) -> Option<u64> {
        doc.members.get(name).and_then(Value::as_u64)
    }

    #[test]
    fn an_empty_aggregate_writes_nothing() {
        let mut agg = Aggregate::new("f", "Rollcall");
        assert!(agg.drain(1).is_empty());
    }

    #[test]
    fn counts_and_values_per_version() {
        let mut agg = Aggregate::new("hello", "Rollcall");
        agg.invocation("7", true, "a");
        agg.invocation("7", false, "b");
        agg.invocation("8", true, "c");
        agg.completion(
            "7",
            Completion {
                latency_ms: 1.23456,
                error: false,
            },
        );
        agg.completion(
            "7",
            Completion {
                latency_ms: 2.0,
                error: true,
            },
        );
        agg.timeout("8", Some("req-1"));
        agg.timeout("8", Some("req-1"));
        agg.init_duration("8", 45.5);
        agg.max_memory("8", 30);
        agg.max_memory("8", 25);
        let docs = agg.drain(1_700_000_000_000);
        assert_eq!(docs.len(), 2);
        for d in &docs {
            d.check_limits().unwrap();
            assert_eq!(d.aws.timestamp, 1_700_000_000_000);
            let dir = &d.aws.cloud_watch_metrics[0];
            assert_eq!(dir.namespace, "Rollcall");
            assert_eq!(dir.dimensions, vec![vec!["FunctionName", "Version"]]);
            assert_eq!(d.members["FunctionName"], "hello");
            // Every metric named in the directive is on the root.
            for m in &dir.metrics {
                assert!(d.members.contains_key(&m.name), "{}", m.name);
            }
        }
        let v7 = &docs[0];
        assert_eq!(v7.members["Version"], "7");
        assert_eq!(count(v7, name::INVOCATIONS), Some(2));
        assert_eq!(count(v7, name::ERRORS), Some(1));
        assert_eq!(count(v7, name::COLD_STARTS), Some(1));
        assert_eq!(count(v7, name::TIMEOUTS), Some(0));
        assert_eq!(v7.members[name::LATENCY], serde_json::json!([1.235, 2.0]));
        assert!(!v7.members.contains_key(name::MAX_MEMORY_USED));
        let v8 = &docs[1];
        assert_eq!(
            count(v8, name::TIMEOUTS),
            Some(1),
            "one timeout per request id"
        );
        assert_eq!(count(v8, name::MAX_MEMORY_USED), Some(30));
        assert_eq!(v8.members[name::INIT_DURATION], serde_json::json!([45.5]));
        assert!(!v8.members.contains_key(name::LATENCY));
        // Drained: the next flush is empty.
        assert!(agg.drain(2).is_empty());
    }

    #[test]
    fn long_value_arrays_are_split_into_documents_within_the_limits() {
        let mut agg = Aggregate::new("f", "Rollcall");
        for i in 0..250 {
            agg.invocation("1", i == 0, "r");
            agg.completion(
                "1",
                Completion {
                    latency_ms: f64::from(i),
                    error: false,
                },
            );
        }
        let docs = agg.drain(5);
        assert_eq!(docs.len(), 3);
        let mut latencies = Vec::new();
        for d in &docs {
            d.check_limits().unwrap();
            latencies.extend(
                d.members[name::LATENCY]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap()),
            );
        }
        assert_eq!(latencies, (0..250).map(f64::from).collect::<Vec<_>>());
        // Counts appear once, in the first document only.
        assert_eq!(count(&docs[0], name::INVOCATIONS), Some(250));
        assert!(
            docs[1..]
                .iter()
                .all(|d| !d.members.contains_key(name::INVOCATIONS))
        );
    }

    #[test]
    fn pending_values_are_bounded_and_drops_are_counted() {
        let mut agg = Aggregate::new("f", "Rollcall");
        let c = Completion {
            latency_ms: 1.0,
            error: false,
        };
        let mut asked = 0;
        for _ in 0..MAX_PENDING_VALUES + 5 {
            asked += usize::from(agg.completion("1", c));
        }
        assert_eq!(asked, 6, "asks for a flush at the limit and at every drop");
        assert_eq!(agg.dropped_values(), 5);
        let docs = agg.drain(1);
        assert_eq!(docs.len(), MAX_PENDING_VALUES / MAX_VALUES_PER_METRIC);
    }

    #[test]
    fn time_to_first_byte_is_a_distribution_per_version_split_like_latency() {
        let mut agg = Aggregate::new("f", "Rollcall");
        for i in 0..150 {
            agg.time_to_first_byte("2", f64::from(i) + 0.0004);
        }
        agg.time_to_first_byte("3", 7.5);
        let docs = agg.drain(1);
        assert_eq!(docs.len(), 3, "two documents for version 2, one for 3");
        let mut values = Vec::new();
        for d in &docs[..2] {
            d.check_limits().unwrap();
            let def = d.aws.cloud_watch_metrics[0]
                .metrics
                .iter()
                .find(|m| m.name == name::TIME_TO_FIRST_BYTE)
                .unwrap();
            assert_eq!(def.unit.as_deref(), Some(unit::MILLISECONDS));
            values.extend(
                d.members[name::TIME_TO_FIRST_BYTE]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap()),
            );
        }
        assert_eq!(values, (0..150).map(f64::from).collect::<Vec<_>>());
        assert_eq!(docs[2].members["Version"], "3");
        assert_eq!(
            docs[2].members[name::TIME_TO_FIRST_BYTE],
            serde_json::json!([7.5])
        );
    }

    #[test]
    fn odd_latencies_are_kept_as_valid_json_numbers() {
        let mut agg = Aggregate::new("f", "Rollcall");
        for l in [f64::NAN, -1.0, f64::INFINITY] {
            agg.completion(
                "1",
                Completion {
                    latency_ms: l,
                    error: false,
                },
            );
        }
        let docs = agg.drain(1);
        assert_eq!(
            docs[0].members[name::LATENCY],
            serde_json::json!([0.0, 0.0, 0.0])
        );
    }

    #[test]
    fn documents_are_written_one_per_line_and_parse() {
        let mut agg = Aggregate::new("f", "Rollcall");
        for i in 0..150 {
            agg.completion(
                "$LATEST",
                Completion {
                    latency_ms: f64::from(i),
                    error: false,
                },
            );
        }
        let docs = agg.drain(1);
        let mut out = Vec::new();
        write_documents(&mut out, &docs).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        for line in lines {
            let d: Document = serde_json::from_str(line).unwrap();
            assert_eq!(d.members["Version"], "$LATEST");
        }
    }

    #[test]
    fn long_dimension_values_are_truncated() {
        let mut agg = Aggregate::new("f".repeat(2000), "Rollcall");
        agg.invocation(&"v".repeat(2000), false, "r");
        let docs = agg.drain(1);
        docs[0].check_limits().unwrap();
        assert_eq!(
            docs[0].members["FunctionName"].as_str().unwrap().len(),
            MAX_DIMENSION_VALUE_LEN
        );
        assert_eq!(
            docs[0].members["Version"].as_str().unwrap().len(),
            MAX_DIMENSION_VALUE_LEN
        );
    }
}
