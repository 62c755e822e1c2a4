//! EMF document fixture: the example of "Specification: Embedded metric format",
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>
//! (read 2026-11-26 from the project's stored copy).

mod common;

use common::round_trip;
use protocol::emf::Document;

#[test]
fn the_spec_example_round_trips() {
    let doc: Document = round_trip("emf/document.json");
    assert_eq!(doc.aws.timestamp, 1_574_109_732_004);
    let directive = &doc.aws.cloud_watch_metrics[0];
    assert_eq!(directive.namespace, "lambda-function-metrics");
    assert_eq!(
        directive.dimensions,
        vec![vec!["functionVersion".to_owned()]]
    );
    assert_eq!(directive.metrics[0].unit.as_deref(), Some("Milliseconds"));
    assert_eq!(directive.metrics[0].storage_resolution, Some(60));
    assert_eq!(doc.members["functionVersion"], "$LATEST");
    assert_eq!(doc.members["time"], 100);
}

#[test]
fn limits_table() {
    use protocol::emf::{EmfLimitError, MetricDefinition};
    let base: Document = round_trip("emf/document.json");
    assert_eq!(base.check_limits(), Ok(()));

    let metric = |i: usize| MetricDefinition {
        name: format!("m{i}"),
        unit: None,
        storage_resolution: None,
    };
    // (mutation, expected result)
    type Mutation = fn(&mut Document, &dyn Fn(usize) -> MetricDefinition);
    let cases: [(Mutation, Result<(), &str>); 7] = [
        (
            |d, m| d.aws.cloud_watch_metrics[0].metrics = (0..100).map(m).collect(),
            Ok(()),
        ),
        (
            |d, m| d.aws.cloud_watch_metrics[0].metrics = (0..101).map(m).collect(),
            Err("metrics"),
        ),
        (
            |d, _| d.aws.cloud_watch_metrics[0].dimensions = vec![vec!["k".into(); 30]],
            Ok(()),
        ),
        (
            |d, _| d.aws.cloud_watch_metrics[0].dimensions = vec![vec![], vec!["k".into(); 31]],
            Err("dimensions"),
        ),
        (
            |d, _| {
                d.members
                    .insert("time".into(), serde_json::json!(vec![1.0; 100]));
            },
            Ok(()),
        ),
        (
            |d, _| {
                d.members
                    .insert("time".into(), serde_json::json!(vec![1.0; 101]));
            },
            Err("values"),
        ),
        (
            |d, _| {
                d.members
                    .insert("big".into(), "x".repeat(256 * 1024).into());
            },
            Err("size"),
        ),
    ];
    for (i, (mutate, want)) in cases.into_iter().enumerate() {
        let mut doc = base.clone();
        mutate(&mut doc, &metric);
        let got = doc.check_limits().map_err(|e| match e {
            EmfLimitError::TooManyMetrics { .. } => "metrics",
            EmfLimitError::TooManyDimensions { .. } => "dimensions",
            EmfLimitError::TooManyValues { .. } => "values",
            EmfLimitError::TooLarge { .. } => "size",
        });
        assert_eq!(got, want, "case {i}");
    }
}
