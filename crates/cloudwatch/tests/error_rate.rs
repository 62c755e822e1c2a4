//! The deployment's error-rate alarm — metric math `100 * errors / invocations` on the
//! extension's per-version metrics — over EMF documents shaped as the extension writes them.

mod common;

use cloudwatch::{AlarmState, CloudWatch, PutMetricAlarm, parse_emf_line};
use protocol::rollcall::{DEFAULT_NAMESPACE, dimension, metric};
use serde_json::json;

const P: i64 = 60_000;
const BASE: i64 = 28_333_334 * P;

fn stat(id: &str, name: &str, version: &str) -> serde_json::Value {
    json!({"Id": id, "ReturnData": false, "MetricStat": {
        "Metric": {"Namespace": DEFAULT_NAMESPACE, "MetricName": name, "Dimensions": [
            {"Name": dimension::FUNCTION_NAME, "Value": "hello"},
            {"Name": dimension::VERSION, "Value": version}]},
        "Period": 60, "Stat": "Sum"}})
}

/// What a SAM template's error-rate alarm becomes: 2 of 3 minutes above 5 %.
fn error_rate_alarm(version: &str, treat_missing: &str) -> PutMetricAlarm {
    let json = json!({
        "AlarmName": format!("hello-v{version}-error-rate"),
        "EvaluationPeriods": 3,
        "DatapointsToAlarm": 2,
        "Threshold": 5.0,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": treat_missing,
        "Metrics": [
            stat("errors", metric::ERRORS, version),
            stat("invocations", metric::INVOCATIONS, version),
            {"Id": "rate", "Expression": "100 * errors / invocations", "Label": "error %", "ReturnData": true}
        ]
    });
    PutMetricAlarm::from_json(&json.to_string()).unwrap()
}

/// Feeds each minute's flushes (four per minute, as with a 15 s flush interval) through the
/// extension's stdout lines, then evaluates at the minute's end.
fn run(cw: &mut CloudWatch, minutes: &[(u64, u64)], version: &str, alarm: &str) -> Vec<AlarmState> {
    let mut states = Vec::new();
    for (i, (invocations, errors)) in minutes.iter().enumerate() {
        let start = BASE + i as i64 * P;
        for q in 0..4u64 {
            let (inv, err) = (
                invocations / 4 + u64::from(q < invocations % 4),
                errors / 4 + u64::from(q < errors % 4),
            );
            for (v, inv, err) in [(version, inv, err), ("1", inv, 0)] {
                let doc = common::extension_doc(
                    start + q as i64 * 15_000,
                    "hello",
                    v,
                    inv,
                    err,
                    &[1.5, 2.5],
                );
                let line = serde_json::to_string(&doc).unwrap();
                let parsed = parse_emf_line(&line)
                    .expect("an EMF line")
                    .expect("a document");
                let report = cw.ingest(&parsed);
                assert!(report.skipped.is_empty(), "{report:?}");
            }
        }
        cw.evaluate(start + P);
        states.push(cw.state(alarm).expect("the alarm exists"));
    }
    states
}

use AlarmState::{Alarm, InsufficientData as Insufficient, Ok as Good};

#[test]
fn a_bad_release_fires_after_two_of_three_minutes_over_five_percent() {
    let mut cw = CloudWatch::new(1.0).unwrap();
    cw.put_metric_alarm(&error_rate_alarm("2", "notBreaching"), BASE)
        .unwrap();
    // Error rates: 0 %, 2 %, 10 %, 4 %, 20 %, 0 %, 0 %, 0 %.
    let minutes = [
        (100, 0),
        (100, 2),
        (50, 5),
        (100, 4),
        (40, 8),
        (100, 0),
        (100, 0),
        (100, 0),
    ];
    let states = run(&mut cw, &minutes, "2", "hello-v2-error-rate");
    // Last three minutes at each end: [0 2 10] 1 breaching, [2 10 4] 1, [10 4 20] 2, [4 20 0] 1.
    assert_eq!(states, [Good, Good, Good, Good, Alarm, Good, Good, Good]);
}

#[test]
fn the_transition_names_the_error_rates_that_caused_it() {
    let mut cw = CloudWatch::new(1.0).unwrap();
    cw.put_metric_alarm(&error_rate_alarm("2", "notBreaching"), BASE)
        .unwrap();
    let mut transitions = Vec::new();
    for (i, (inv, err)) in [(100u64, 0u64), (100, 10), (200, 30)].iter().enumerate() {
        let ts = BASE + i as i64 * P + 1;
        cw.ingest(&common::extension_doc(ts, "hello", "2", *inv, *err, &[]));
        transitions.extend(cw.evaluate(BASE + (i as i64 + 1) * P));
    }
    let last = transitions.last().expect("a transition");
    assert_eq!((last.from, last.to), (Good, Alarm));
    let rates: Vec<Option<f64>> = last.datapoints.iter().map(|d| d.value).collect();
    assert_eq!(rates, [None, None, Some(0.0), Some(10.0), Some(15.0)]);
    assert!(last.reason.contains("2 of the last 3"), "{}", last.reason);
}

/// Minutes without invocations divide by zero: the datapoint is dropped (missing), so the
/// treatment of missing data decides; the other version's metrics never count.
#[test]
fn minutes_without_traffic_are_missing_datapoints() {
    let quiet = [(0, 0), (0, 0), (0, 0), (0, 0)];
    for (treatment, want) in [
        ("missing", Insufficient),
        ("notBreaching", Good),
        ("breaching", Alarm),
        ("ignore", Insufficient),
    ] {
        let mut cw = CloudWatch::new(1.0).unwrap();
        cw.put_metric_alarm(&error_rate_alarm("2", treatment), BASE)
            .unwrap();
        let states = run(&mut cw, &quiet, "2", "hello-v2-error-rate");
        assert_eq!(states.last(), Some(&want), "{treatment}: {states:?}");
    }
}

/// A version whose metrics never arrive (the alarm names version 3) stays without data.
#[test]
fn an_alarm_on_a_version_that_never_reports_gets_no_data() {
    let mut cw = CloudWatch::new(1.0).unwrap();
    cw.put_metric_alarm(&error_rate_alarm("3", "missing"), BASE)
        .unwrap();
    let states = run(
        &mut cw,
        &[(100, 50), (100, 50), (100, 50)],
        "2",
        "hello-v3-error-rate",
    );
    assert_eq!(states, [Insufficient; 3]);
}

/// The latency p99 of a version from the extension's `Latency` arrays.
#[test]
fn a_latency_percentile_alarm_on_the_extension_s_values() {
    let mut cw = CloudWatch::new(60.0).unwrap();
    let alarm = json!({
        "AlarmName": "p99", "Namespace": DEFAULT_NAMESPACE, "MetricName": metric::LATENCY,
        "Dimensions": [{"Name": dimension::FUNCTION_NAME, "Value": "hello"}, {"Name": dimension::VERSION, "Value": "2"}],
        "ExtendedStatistic": "p99", "Period": 60, "EvaluationPeriods": 1,
        "Threshold": 100.0, "ComparisonOperator": "GreaterThanThreshold", "Unit": "Milliseconds"
    });
    cw.put_metric_alarm(
        &PutMetricAlarm::from_json(&alarm.to_string()).unwrap(),
        BASE,
    )
    .unwrap();
    // 200 values in two documents of 100 (the extension splits arrays at 100): 1..=197 ms and
    // three of 500 ms. p99: rank 198 -> 500.
    let mut values: Vec<f64> = (1..=197).map(f64::from).collect();
    values.extend([500.0; 3]);
    for chunk in values.chunks(100) {
        cw.ingest(&common::extension_doc(BASE + 10, "hello", "2", 0, 0, chunk));
    }
    let t = cw.evaluate(BASE + 1000);
    assert_eq!(t.len(), 1, "{t:?}");
    assert_eq!(t[0].datapoints.last().unwrap().value, Some(500.0));
    assert_eq!(t[0].to, Alarm);
}
