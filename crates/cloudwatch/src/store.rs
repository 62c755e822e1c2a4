//! Metrics from EMF documents: samples keyed by namespace, metric name, dimensions and
//! timestamp (EMF specification; LAMBDA-FACTS §9). Every dimension set of a directive produces
//! its own metric, as CloudWatch does.

use std::collections::BTreeMap;

use protocol::emf::Document;
use serde_json::Value;

use crate::stat::Samples;

/// A metric's identity: namespace, name and the exact dimension set (name -> value).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MetricId {
    /// CloudWatch namespace.
    pub namespace: String,
    /// Metric name.
    pub name: String,
    /// Dimensions, by name.
    pub dimensions: BTreeMap<String, String>,
}

/// Samples of one metric at one timestamp, with the unit they were written in.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    unit: Option<String>,
    samples: Samples,
}

/// What [`MetricStore::ingest`] did with a document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// Metrics (metric x dimension set) that received samples.
    pub metrics: usize,
    /// What was skipped and why (CloudWatch would drop the same).
    pub skipped: Vec<String>,
}

/// Every sample ingested, by metric and timestamp (epoch milliseconds).
#[derive(Debug, Clone, Default)]
pub struct MetricStore {
    metrics: BTreeMap<MetricId, BTreeMap<i64, Vec<Entry>>>,
}

/// Parses one stdout line as an EMF document: `None` when the line is not EMF (no JSON object
/// with `_aws`), else the document or why it is not one. A tab-separated prefix, as Lambda's
/// runtimes print (`2026-01-01T00:00:00.000Z\t<request id>\t{...}`), is tolerated (LAMBDA-FACTS
/// §9).
pub fn parse_emf_line(line: &str) -> Option<Result<Document, String>> {
    let line = line.trim();
    let start = line.find('{')?;
    let (prefix, json) = line.split_at(start);
    if !(prefix.is_empty() || prefix.ends_with('\t')) || !json.contains("\"_aws\"") {
        return None;
    }
    Some(
        serde_json::from_str::<Document>(json)
            .map_err(|e| format!("an EMF line that is not an EMF document: {e}")),
    )
}

impl MetricStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the document's samples. A document over an EMF limit is dropped whole (as
    /// CloudWatch drops it); a metric whose member is absent or not numeric, or a dimension set
    /// naming an absent member, is skipped and reported.
    pub fn ingest(&mut self, doc: &Document) -> IngestReport {
        let mut report = IngestReport::default();
        if let Err(e) = doc.check_limits() {
            report.skipped.push(format!("the whole document: {e}"));
            return report;
        }
        for directive in &doc.aws.cloud_watch_metrics {
            for definition in &directive.metrics {
                let samples = match doc.members.get(&definition.name).map(samples_of) {
                    Some(Ok(s)) => s,
                    Some(Err(problem)) => {
                        report
                            .skipped
                            .push(format!("metric {:?}: {problem}", definition.name));
                        continue;
                    }
                    None => {
                        report.skipped.push(format!(
                            "metric {:?}: no root member holds its value",
                            definition.name
                        ));
                        continue;
                    }
                };
                for set in &directive.dimensions {
                    let mut dimensions = BTreeMap::new();
                    let mut complete = true;
                    for key in set {
                        match doc.members.get(key) {
                            Some(Value::String(v)) => {
                                dimensions.insert(key.clone(), v.clone());
                            }
                            _ => {
                                report.skipped.push(format!(
                                    "metric {:?} with dimension set {set:?}: member {key:?} is not a string",
                                    definition.name
                                ));
                                complete = false;
                                break;
                            }
                        }
                    }
                    if !complete {
                        continue;
                    }
                    let id = MetricId {
                        namespace: directive.namespace.clone(),
                        name: definition.name.clone(),
                        dimensions,
                    };
                    self.metrics
                        .entry(id)
                        .or_default()
                        .entry(doc.aws.timestamp)
                        .or_default()
                        .push(Entry {
                            unit: definition.unit.clone(),
                            samples: samples.clone(),
                        });
                    report.metrics += 1;
                }
            }
        }
        report
    }

    /// The samples of `id` with timestamps in `[start_ms, end_ms)`, only those written in `unit`
    /// when one is given.
    pub fn samples(
        &self,
        id: &MetricId,
        unit: Option<&str>,
        start_ms: i64,
        end_ms: i64,
    ) -> Samples {
        let mut out = Samples::new();
        if let Some(series) = self.metrics.get(id) {
            for entries in series.range(start_ms..end_ms).map(|(_, e)| e) {
                for e in entries {
                    if unit.is_none_or(|u| e.unit.as_deref().unwrap_or("None") == u) {
                        out.merge(&e.samples);
                    }
                }
            }
        }
        out
    }

    /// The metrics that have samples.
    pub fn metric_ids(&self) -> impl Iterator<Item = &MetricId> {
        self.metrics.keys()
    }

    /// Forgets samples older than `before_ms` (bounds memory in a long lab run).
    pub fn prune_before(&mut self, before_ms: i64) {
        for series in self.metrics.values_mut() {
            *series = series.split_off(&before_ms);
        }
        self.metrics.retain(|_, s| !s.is_empty());
    }
}

/// A metric member: a number, an array of numbers, or a histogram object
/// `{"Values": [..], "Counts": [..], "Min", "Max", "Count", "Sum"}` (AWS's `awsemfexporter`).
fn samples_of(value: &Value) -> Result<Samples, String> {
    let mut s = Samples::new();
    match value {
        Value::Number(n) => s.push(finite(n.as_f64())?, 1.0),
        Value::Array(items) => {
            for item in items {
                s.push(finite(item.as_f64())?, 1.0);
            }
        }
        Value::Object(map) => {
            let array = |key: &str| -> Result<Vec<f64>, String> {
                match map.get(key) {
                    Some(Value::Array(a)) => a.iter().map(|v| finite(v.as_f64())).collect(),
                    _ => Err(format!(
                        "a histogram object needs a {key:?} array of numbers"
                    )),
                }
            };
            let (values, counts) = (array("Values")?, array("Counts")?);
            if values.len() != counts.len() {
                return Err(format!(
                    "a histogram has {} Values and {} Counts; give one count per value",
                    values.len(),
                    counts.len()
                ));
            }
            for (v, c) in values.into_iter().zip(counts) {
                if c < 0.0 {
                    return Err(format!("a histogram count is negative ({c})"));
                }
                s.push(v, c);
            }
            let given = |key: &str| map.get(key).and_then(Value::as_f64);
            if let Some(sum) = given("Sum") {
                s.sum = sum;
            }
            if let Some(min) = given("Min") {
                s.min = min;
            }
            if let Some(max) = given("Max") {
                s.max = max;
            }
        }
        _ => {
            return Err(
                "its value is neither a number, an array of numbers nor a histogram".into(),
            );
        }
    }
    if s.count <= 0.0 {
        return Err("it has no values".into());
    }
    Ok(s)
}

fn finite(v: Option<f64>) -> Result<f64, String> {
    v.filter(|v| v.is_finite())
        .ok_or_else(|| "a value that is not a finite number".to_owned())
}
