//! EMF documents into metrics: every dimension set is a metric, identities are exact, and what
//! cannot be read is reported rather than lost silently.

mod common;

use std::collections::BTreeMap;

use cloudwatch::{MetricId, MetricStore, Statistic, parse_emf_line};
use protocol::emf::Document;
use protocol::rollcall::{DEFAULT_NAMESPACE, dimension, metric};
use serde_json::json;

fn id(name: &str, dims: &[(&str, &str)]) -> MetricId {
    MetricId {
        namespace: DEFAULT_NAMESPACE.into(),
        name: name.into(),
        dimensions: dims
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
    }
}

fn sum(store: &MetricStore, id: &MetricId) -> Option<f64> {
    store
        .samples(id, None, 0, i64::MAX)
        .statistic(Statistic::Sum)
}

#[test]
fn every_dimension_set_produces_its_own_metric() {
    let mut doc = common::extension_doc(1000, "hello", "7", 5, 1, &[]);
    doc.aws.cloud_watch_metrics[0].dimensions = vec![
        vec![dimension::FUNCTION_NAME.into(), dimension::VERSION.into()],
        vec![dimension::FUNCTION_NAME.into()],
        vec![],
    ];
    let mut store = MetricStore::new();
    let report = store.ingest(&doc);
    assert!(report.skipped.is_empty(), "{report:?}");
    assert_eq!(report.metrics, 4 * 3, "4 metrics x 3 dimension sets");
    let both = [
        (dimension::FUNCTION_NAME, "hello"),
        (dimension::VERSION, "7"),
    ];
    assert_eq!(sum(&store, &id(metric::INVOCATIONS, &both)), Some(5.0));
    assert_eq!(sum(&store, &id(metric::INVOCATIONS, &both[..1])), Some(5.0));
    assert_eq!(sum(&store, &id(metric::ERRORS, &[])), Some(1.0));
    assert_eq!(
        sum(&store, &id(metric::ERRORS, &[(dimension::VERSION, "7")])),
        None,
        "a dimension set not written is no metric"
    );
}

#[test]
fn unreadable_members_are_reported_and_the_rest_kept() {
    let mut doc = common::extension_doc(1000, "hello", "7", 5, 1, &[]);
    doc.members.insert(metric::ERRORS.into(), json!("many"));
    doc.members.remove(metric::TIMEOUTS);
    doc.members.insert(
        metric::COLD_STARTS.into(),
        json!({"Values": [1], "Counts": [1, 2]}),
    );
    let mut store = MetricStore::new();
    let report = store.ingest(&doc);
    assert_eq!(report.metrics, 1, "only Invocations: {report:?}");
    let text = report.skipped.join("\n");
    for needle in [
        "\"Errors\": its value is neither",
        "\"Timeouts\": no root member",
        "1 Values and 2 Counts",
    ] {
        assert!(text.contains(needle), "{needle} in {text}");
    }

    let mut doc = common::extension_doc(1000, "hello", "7", 5, 1, &[]);
    doc.members.insert(dimension::VERSION.into(), json!(7));
    let report = MetricStore::new().ingest(&doc);
    assert_eq!(report.metrics, 0);
    assert!(
        report.skipped[0].contains("member \"Version\" is not a string"),
        "{report:?}"
    );
}

#[test]
fn a_document_over_the_emf_limits_is_dropped_whole() {
    let values: Vec<f64> = (0..101).map(f64::from).collect();
    let doc = common::extension_doc(1000, "hello", "7", 5, 1, &values);
    let mut store = MetricStore::new();
    let report = store.ingest(&doc);
    assert_eq!(report.metrics, 0);
    assert!(report.skipped[0].contains("101 values"), "{report:?}");
    assert_eq!(store.metric_ids().count(), 0);
}

#[test]
fn stdout_lines_that_are_not_emf_are_left_alone() {
    assert!(parse_emf_line("START RequestId: 1 Version: 7").is_none());
    assert!(parse_emf_line(r#"{"level":"info","msg":"hi"}"#).is_none());
    let err = parse_emf_line(r#"{"_aws": {"Timestamp": "soon"}}"#)
        .unwrap()
        .unwrap_err();
    assert!(err.contains("not an EMF document"), "{err}");
    let doc = common::extension_doc(1000, "hello", "7", 5, 1, &[2.5]);
    let line = format!("  {}\n", serde_json::to_string(&doc).unwrap());
    let parsed: Document = parse_emf_line(&line).unwrap().unwrap();
    assert_eq!(parsed, doc);
    let json = serde_json::to_string(&doc).unwrap();
    let prefixed = format!("2026-12-04T11:00:00.000Z\tc0ffee\tINFO\t{json}");
    assert_eq!(parse_emf_line(&prefixed).unwrap().unwrap(), doc);
    assert!(
        parse_emf_line(&format!("echo {json}")).is_none(),
        "only a tab-separated prefix"
    );
}

#[test]
fn pruning_forgets_old_samples_only() {
    let mut store = MetricStore::new();
    store.ingest(&common::extension_doc(1000, "hello", "7", 5, 1, &[]));
    store.ingest(&common::extension_doc(2000, "hello", "7", 3, 0, &[]));
    store.prune_before(2000);
    let both = [
        (dimension::FUNCTION_NAME, "hello"),
        (dimension::VERSION, "7"),
    ];
    assert_eq!(sum(&store, &id(metric::INVOCATIONS, &both)), Some(3.0));
    store.prune_before(3000);
    assert_eq!(store.metric_ids().count(), 0);
}
