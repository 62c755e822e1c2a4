//! Helpers: EMF documents shaped as the rollcall extension writes them (built with its
//! constants from `protocol::rollcall`), and alarms.

#![allow(dead_code)]

use cloudwatch::PutMetricAlarm;
use protocol::emf::{Document, Metadata, MetricDefinition, MetricDirective, unit};
use protocol::rollcall::{DEFAULT_NAMESPACE, DIMENSION_SET, dimension, metric, unit_of};
use serde_json::{Map, Value, json};

/// One document as the extension's flush writes it for one version: the counts, and latency
/// values when given.
pub fn extension_doc(
    ts_ms: i64,
    function: &str,
    version: &str,
    invocations: u64,
    errors: u64,
    latency_ms: &[f64],
) -> Document {
    let mut members = Map::new();
    members.insert(dimension::FUNCTION_NAME.into(), function.into());
    members.insert(dimension::VERSION.into(), version.into());
    let mut metrics = Vec::new();
    let mut put = |name: &str, value: Value| {
        members.insert(name.into(), value);
        metrics.push(MetricDefinition {
            name: name.into(),
            unit: unit_of(name).map(str::to_owned),
            storage_resolution: None,
        });
    };
    put(metric::INVOCATIONS, invocations.into());
    put(metric::ERRORS, errors.into());
    put(metric::TIMEOUTS, 0.into());
    put(metric::COLD_STARTS, 0.into());
    if !latency_ms.is_empty() {
        put(metric::LATENCY, json!(latency_ms));
    }
    Document {
        aws: Metadata {
            timestamp: ts_ms,
            cloud_watch_metrics: vec![MetricDirective {
                namespace: DEFAULT_NAMESPACE.into(),
                dimensions: vec![DIMENSION_SET.map(String::from).to_vec()],
                metrics,
            }],
        },
        members,
    }
}

/// A document with one metric `name` (unit Count) holding `value` in namespace `Test`, no
/// dimensions.
pub fn plain_doc(ts_ms: i64, name: &str, value: Value) -> Document {
    let mut members = Map::new();
    members.insert(name.into(), value);
    Document {
        aws: Metadata {
            timestamp: ts_ms,
            cloud_watch_metrics: vec![MetricDirective {
                namespace: "Test".into(),
                dimensions: vec![vec![]],
                metrics: vec![MetricDefinition {
                    name: name.into(),
                    unit: Some(unit::COUNT.into()),
                    storage_resolution: None,
                }],
            }],
        },
        members,
    }
}

/// A single-metric alarm on `Test`/`name` (no dimensions) from JSON fields merged over a base.
pub fn alarm(extra: Value) -> PutMetricAlarm {
    let mut base = json!({
        "AlarmName": "a",
        "Namespace": "Test",
        "MetricName": "M",
        "Statistic": "Maximum",
        "Period": 60,
        "EvaluationPeriods": 1,
        "Threshold": 5.0,
        "ComparisonOperator": "GreaterThanThreshold"
    });
    for (k, v) in extra.as_object().expect("an object") {
        if v.is_null() {
            base.as_object_mut().unwrap().remove(k);
        } else {
            base[k] = v.clone();
        }
    }
    PutMetricAlarm::from_json(&base.to_string()).expect("alarm JSON")
}
